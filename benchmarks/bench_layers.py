"""Benchmark: a POI export through ``gridmap import facilities`` vs a bare facility write.

Run::

    .venv/bin/python benchmarks/bench_layers.py             # 200,000 POIs
    .venv/bin/python benchmarks/bench_layers.py --n 20000  # quicker

In one throwaway PostGIS cluster, N Amap-shaped POIs (GB18030 CSV: POI编号, 名称, 类型,
类型编码, 经纬度 in GCJ-02, over 10 × 10 km of Haidian) are written twice, each into a fresh
clone of the same template that already holds N/10 facilities (so de-duplication has work):

- **baseline**: the same rows, already typed and in WGS84, inserted with the one
  ``INSERT … SELECT FROM unnest(…)`` statement the OSM import uses (no reading, matching,
  conversion or de-duplication);
- **import**: ``import_facilities`` (read_table with encoding detection, column mapping,
  GCJ-02 → WGS84, type matching through the catalogue's amap_types and name hints,
  de-duplication within 30 m, provenance per row).

It prints both times, their ratio, and the time of a second (idempotent) run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import throwaway_database  # noqa: E402
from gridmap import crs as gcrs  # noqa: E402
from gridmap.db import make_engine  # noqa: E402
from gridmap.imports.layers.facilities import FacilityImportParams, import_facilities  # noqa: E402

TYPES = [("科教文化服务;学校;幼儿园", "141204", "幼儿园", "kindergarten"),
         ("购物服务;便民商店/便利店;便民商店/便利店", "060200", "便利店", "convenience_store"),
         ("医疗保健服务;医药保健销售店;药房", "090601", "大药房", "pharmacy"),
         ("医疗保健服务;综合医院;卫生院", "090102", "社区卫生服务站", "community_health_station"),
         ("公共设施;公共厕所;公共厕所", "200300", "公厕", "public_toilet"),
         ("餐饮服务;中餐厅;中餐厅", "050100", "饭店", None)]


def synthetic(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """N POIs: the export frame and their WGS84 lon/lat."""
    rng = np.random.default_rng(seed)
    lon = 116.25 + rng.random(n) * 0.12
    lat = 39.93 + rng.random(n) * 0.09
    kind = rng.integers(0, len(TYPES), n)
    glon, glat = gcrs.wgs84_to_gcj02(lon, lat)
    frame = pd.DataFrame({
        "POI编号": [f"B0{seed}{i:08d}" for i in range(n)],
        "名称": [f"{TYPES[k][2]}{i}号" for i, k in enumerate(kind)],
        "类型": [TYPES[k][0] for k in kind], "类型编码": [TYPES[k][1] for k in kind],
        "经纬度": [f"{a:.6f},{b:.6f}" for a, b in zip(glon, glat, strict=True)],
    })
    return frame, np.column_stack([lon, lat]), kind


def bare_insert(url: str, xy: np.ndarray, kind: np.ndarray, source: str) -> float:
    codes = [TYPES[k][3] for k in kind]
    keep = [i for i, c in enumerate(codes) if c]
    wkb = shapely.to_wkb(shapely.set_srid(shapely.points(xy[keep]), 4326), include_srid=True)
    eng = make_engine(url, poolclass=sa.pool.NullPool)
    t = time.perf_counter()
    with eng.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO facility (type_code, name, source, geom, location) "
            "SELECT t, 'x', :s, ST_GeomFromEWKB(w), ST_GeomFromEWKB(w) "
            "FROM unnest(CAST(:t AS text[]), CAST(:w AS bytea[])) AS u(t, w)"),
            {"t": [codes[i] for i in keep], "w": list(wkb), "s": source})
    took = time.perf_counter() - t
    eng.dispose()
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200_000)
    args = ap.parse_args()
    with throwaway_database("gridmap-bench-layers-", "bench_tpl",
                            port_from=56632) as (cluster, tpl):
        _old, old_xy, old_kind = synthetic(args.n // 10, 1)
        bare_insert(tpl, old_xy, old_kind, "stored")
        frame, xy, kind = synthetic(args.n, 2)
        path = cluster.data_dir.parent / "poi.csv"
        frame.to_csv(path, index=False, encoding="gb18030")
        print(f"{args.n:,} POIs, GB18030 CSV {path.stat().st_size / 1e6:.1f} MB; "
              f"{len(old_kind):,} facilities stored before")
        base_url = cluster.ensure_database("b_base", template="bench_tpl")
        base = bare_insert(base_url, xy, kind, "poi:bench")
        print(f"baseline (bare INSERT … unnest of typed WGS84 rows): {base:.2f} s")
        url = cluster.ensure_database("b_import", template="bench_tpl")
        eng = make_engine(url, poolclass=sa.pool.NullPool)
        params = FacilityImportParams(source="bench", licence="synthetic", coords="gcj02")
        t = time.perf_counter()
        with eng.begin() as conn:
            rep = import_facilities(conn, path, params=params)
        took = time.perf_counter() - t
        dups = sum(v for k, v in rep.counts.items() if k.startswith("duplicate:"))
        print(f"import_facilities: {took:.2f} s — inserted {rep.inserted:,}, duplicates "
              f"{dups:,}, unmatched {sum(rep.unmatched.values()):,}")
        t = time.perf_counter()
        with eng.begin() as conn:
            again = import_facilities(conn, path, params=params)
        rerun = time.perf_counter() - t
        eng.dispose()
        assert again.inserted == 0
        print(f"second run (adds nothing): {rerun:.2f} s")
        print(f"\nsummary: import {args.n / took:,.0f} rows/s; import / baseline = "
              f"{took / base:.1f}x the time")


if __name__ == "__main__":
    main()
