"""Benchmark: a 12345 hotline export through the mapped import vs the existing Open311 path.

Run::

    .venv/bin/python benchmarks/bench_tables.py             # 1,000,000 rows
    .venv/bin/python benchmarks/bench_tables.py --n 200000  # quicker

In one throwaway PostGIS cluster with the synthetic district of ``bench_incidents.py``, the
same N incidents are written twice:

- **baseline**: the Open311 CSV (UTF-8, English headers, catalogue codes, UTC ISO times)
  through ``read_incident_file`` + ``incidents.import_incidents`` (the path before #15);
- **mapped**: a 12345-shaped export of the same rows (GB18030, Chinese headers 工单编号/
  受理时间/诉求类型/经度/纬度/处理状态 …, category *texts*, local times ``YYYY/MM/DD HH:MM:SS``)
  through ``read_table`` (encoding detection) + the built-in ``hotline-12345`` profile +
  category resolution + ``import_cases``;

each into a fresh clone of the same template, and prints both times and their ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_incidents import build_district, fresh_db, time_ours, write_csv  # noqa: E402
from benchmarks.common import throwaway_database  # noqa: E402
from gridmap.db import make_engine  # noqa: E402
from gridmap.imports import cases  # noqa: E402
from gridmap.imports.profiles import load_profile  # noqa: E402

_TEXT = {"E0102": "暴露垃圾", "E0104": "道路不洁", "E0501": "占道经营", "E0201": "小广告",
         "E0602": "楼道堆物", "E0101": "违章搭建", "E0103": "垃圾堆放", "E0604": "噪声扰民"}


def write_hotline(open311: Path, path: Path) -> None:
    """The Open311 rows as a 12345 export: GB18030, Chinese headers, texts, local times."""
    df = pd.read_csv(open311, dtype=str, keep_default_na=False)
    local = pd.to_datetime(df["requested_datetime"], utc=True).dt.tz_convert("Asia/Shanghai")
    out = pd.DataFrame({
        "工单编号": df["service_request_id"],
        "受理时间": local.dt.strftime("%Y/%m/%d %H:%M:%S"),
        "诉求类型": df["service_code"].map(_TEXT),
        "诉求内容": "市民反映" + df["service_code"].map(_TEXT) + "，请尽快处理",
        "经度": df["long"], "纬度": df["lat"],
        "所属区": "测试区", "处理状态": "待处理", "承办单位": "测试居委会",
    })
    out.to_csv(path, index=False, encoding="gb18030")


def time_mapped(url: str, path: Path) -> tuple[float, dict[str, object]]:
    eng = make_engine(url, poolclass=sa.pool.NullPool)
    t = time.perf_counter()
    prof = load_profile("hotline-12345")
    table = cases.read_cases(path, prof)
    timings: dict[str, float] = {"read_table": time.perf_counter() - t}
    with eng.begin() as conn:
        res = cases.import_cases(conn, table, cases.CaseOptions(profile=prof), actor="bench",
                                 timings=timings)
    took = time.perf_counter() - t
    rep = dict(res.report)
    rep["stages_s"] = {k: round(v, 1) for k, v in timings.items()}
    eng.dispose()
    return took, rep


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    args = ap.parse_args()
    with throwaway_database("gridmap-bench-tables-", "bench_tpl",
                            port_from=56532) as (cluster, tpl):
        tmp = cluster.data_dir.parent
        eng = make_engine(tpl, poolclass=sa.pool.NullPool)
        with eng.begin() as conn:
            build_district(conn)
        eng.dispose()
        open311, hotline = tmp / "open311.csv", tmp / "12345.csv"
        write_csv(open311, args.n)
        write_hotline(open311, hotline)
        print(f"{args.n:,} rows: Open311 CSV {open311.stat().st_size / 1e6:.0f} MB, "
              f"12345 GB18030 CSV {hotline.stat().st_size / 1e6:.0f} MB")
        base, rep_b = time_ours(fresh_db(cluster, "bench_tpl", "b_base"), open311)
        print(f"baseline (Open311 CSV, existing path): {base:.1f} s — {rep_b}")
        mapped, rep_m = time_mapped(fresh_db(cluster, "bench_tpl", "b_mapped"), hotline)
        print(f"mapped (GB18030 12345 export, hotline-12345 profile): {mapped:.1f} s — {rep_m}")
        assert rep_m["inserted"] == rep_b["inserted"] == args.n
        print(f"\nsummary: baseline {args.n / base:,.0f} rows/s, mapped {args.n / mapped:,.0f} "
              f"rows/s; mapped / baseline = {mapped / base:.2f}x the time")


if __name__ == "__main__":
    main()
