"""Grid redraw benchmark: ``.venv/bin/python benchmarks/bench_grids.py [--communities 285]``.

Runs on its own throwaway PostGIS cluster (benchmarks.common.throwaway_database, fast mode).

1. Edit preview: a synthetic community of 5,000 buildings in 100 street blocks,
   auto-partitioned into ~50 grids and activated; in a draft, one building on a grid
   boundary moves to the neighbouring grid; we time move + validate + impact
   (target ≤ 300 ms for validate + impact). Baseline in the same run: one plain
   ``ST_Union`` of the community's grids in PostGIS (the least any gap check costs).
2. District: 285 synthetic communities (the size of Putuo district, ~1,800 households
   each) auto-partitioned (target ≤ 60 s), with the balance achieved (households per grid
   min / median / max). Baseline: tessellation alone (building the unit cells).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.common import throwaway_database  # noqa: E402
from gridmap import grids  # noqa: E402
from gridmap.db import make_engine  # noqa: E402
from tests.fixtures.grids import border_building, make_community  # noqa: E402


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


def bench_edit(conn: sa.Connection) -> dict[str, float]:
    cid = make_community(conn, code="310107900001", blocks=(10, 10), block_m=150.0,
                         buildings=(10, 5), households=(4, 4))
    t0 = time.perf_counter()
    grids.rebuild_cells(conn, cid)
    cells_ms = _ms(t0)
    t0 = time.perf_counter()
    vid = grids.auto_partition(conn, cid, seed=0)
    part_ms = _ms(t0)
    grids.activate(conn, vid, effective=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                   actor="bench")
    n_grids = len(grids.version_grids(conn, vid))
    draft = grids.create_draft(conn, cid, actor="bench")
    bid, _, dst = border_building(conn, draft)
    base = []
    for _ in range(3):
        t0 = time.perf_counter()
        conn.execute(sa.text("SELECT ST_Area(ST_Union(geom)) FROM grid_geometry"
                             " WHERE version_id = :v"), {"v": draft}).scalar()
        base.append(_ms(t0))
    t0 = time.perf_counter()
    grids.move_units(conn, draft, [("building", bid)], dst, actor="bench")
    move_ms = _ms(t0)
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        problems = grids.validate(conn, draft)
        imp = grids.impact(conn, draft)
        runs.append(_ms(t0))
    assert not [p for p in problems if "gap" in p.reason or "overlap" in p.reason]
    assert len(imp["moves"]) == 1
    return {"grids": n_grids, "cells_ms": cells_ms, "partition_ms": part_ms,
            "move_ms": move_ms, "validate_impact_ms": min(runs), "baseline_union_ms": min(base)}


def bench_district(conn: sa.Connection, n: int) -> dict[str, float]:
    cids = []
    for i in range(n):
        street, comm = 100 + i // 20, 1 + i % 20
        cids.append(make_community(
            conn, code=f"310107{street:03d}{comm:03d}",
            origin=(121.30 + (i % 20) * 0.01, 31.20 + (i // 20) * 0.006),
            blocks=(4, 3), block_m=140.0, buildings=(3, 2), households=(15, 35), seed=i))
    t0 = time.perf_counter()
    for cid in cids:
        grids.rebuild_cells(conn, cid)
    cells_s = (time.perf_counter() - t0)
    t0 = time.perf_counter()
    vids = [grids.auto_partition(conn, cid, seed=0) for cid in cids]
    part_s = (time.perf_counter() - t0)
    sizes = [int(h) for h in conn.execute(sa.text(
        "SELECT sum(c.households) FROM grid_member m JOIN grid_version v ON v.id = m.version_id"
        " JOIN grid_cell c ON c.community_id = v.community_id AND c.unit_type = m.unit_type"
        " AND c.unit_id = m.unit_id WHERE m.version_id = ANY(:v) GROUP BY m.version_id,"
        " m.grid_id"), {"v": vids}).scalars()]
    return {"communities": n, "grids": len(sizes), "cells_s": cells_s,
            "partition_total_s": cells_s + part_s, "partition_only_s": part_s,
            "hh_min": min(sizes), "hh_median": statistics.median(sizes), "hh_max": max(sizes),
            "in_range": sum(300 <= s <= 500 for s in sizes) / len(sizes)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--communities", type=int, default=285)
    args = ap.parse_args()
    with throwaway_database("gridmap-bench-grids-") as (_, url):
        eng = make_engine(url)
        with eng.begin() as conn:
            e = bench_edit(conn)
        print(f"edit preview: {e['grids']} grids, 5000 buildings")
        print(f"  unit cells (tessellation)  {e['cells_ms']:8.1f} ms")
        print(f"  auto-partition             {e['partition_ms']:8.1f} ms")
        print(f"  move one building          {e['move_ms']:8.1f} ms")
        print(f"  validate + impact          {e['validate_impact_ms']:8.1f} ms  (target ≤ 300)")
        print(f"  baseline ST_Union of grids {e['baseline_union_ms']:8.1f} ms"
              f"  ratio {e['validate_impact_ms'] / e['baseline_union_ms']:.1f}x")
        with eng.begin() as conn:
            d = bench_district(conn, args.communities)
        print(f"district: {d['communities']} communities, {d['grids']} grids")
        print(f"  baseline tessellation      {d['cells_s']:8.2f} s")
        print(f"  auto-partition incl. cells {d['partition_total_s']:8.2f} s  (target ≤ 60)"
              f"  ratio {d['partition_total_s'] / d['cells_s']:.1f}x")
        print(f"  households per grid: min {d['hh_min']} median {d['hh_median']:.0f}"
              f" max {d['hh_max']}; {100 * d['in_range']:.1f}% of grids in 300–500")
        eng.dispose()


if __name__ == "__main__":
    main()
