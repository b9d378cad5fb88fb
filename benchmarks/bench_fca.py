"""2SFCA benchmark: every capacity type (kindergarten, nursery, nursing home, elderly day
care) on the sample district, against a per-facility Dijkstra loop measured in the same run.

Run: ``.venv/bin/python benchmarks/bench_fca.py [--extra 40] [--repeat 5]`` (starts its own
throwaway PostGIS cluster and loads the sample district, about one to two minutes).

The sample district has few capacity facilities (OSM Chelsea holds no capacities), so every
facility of those types gets a seeded capacity and ``--extra`` synthetic facilities per type
are added at seeded network nodes (then ``coverage refresh`` snaps them).

- gridmap: :func:`gridmap.access.fca.compute` for all types — demand and supply read from
  PostGIS, one batched, capped multi-source scipy Dijkstra per type, numpy bincounts
  (cold: graph loaded; warm: graph cached, as in the web app);
- baseline: the textbook loop — for each facility a single-source Dijkstra, then per
  facility and per building in Python (step 1 sums, step 2 sums). Its result is checked
  equal to gridmap's.

Also times the profile and the check-up (with candidate sites) of the sample street.
Prints absolute times and the ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import throwaway_database  # noqa: E402
from gridmap.access import coverage  # noqa: E402
from gridmap.access.distances import node_distances, point_distances  # noqa: E402
from gridmap.access.fca import FCA_TYPES, FcaParams, compute, load_demand, load_supply  # noqa: E402
from gridmap.access.graph import clear_cache, load_graph  # noqa: E402
from gridmap.db import make_engine  # noqa: E402
from gridmap.demo.sample import load_sample  # noqa: E402
from gridmap.profiles import checkup, profile  # noqa: E402

_EXTRA_SQL = sa.text("""
INSERT INTO facility (type_code, name, capacity, synthetic, source, geom, location)
SELECT :t, 'bench ' || :t || ' ' || n.id, 40 + (n.id * 37) % 200, true, 'bench', n.geom, n.geom
FROM (SELECT id, geom FROM network_node ORDER BY md5(id::text || :t) LIMIT :k) n
""")


def prepare(conn: sa.Connection, extra: int) -> None:
    """Sample district, capacities on every capacity facility, extra facilities, refresh."""
    load_sample(conn)
    for t in FCA_TYPES:
        conn.execute(_EXTRA_SQL, {"t": t, "k": extra})
    conn.execute(sa.text("UPDATE facility SET capacity = 40 + (id * 37) % 200 "
                         "WHERE type_code = ANY(:t) AND capacity IS NULL"), {"t": list(FCA_TYPES)})
    coverage.refresh(conn)


def baseline(conn: sa.Connection, params: FcaParams) -> dict[str, np.ndarray]:
    """Per facility a single-source Dijkstra; then per facility × building Python loops."""
    graph = load_graph(conn)
    dem = load_demand(conn, graph, params)
    types = coverage.facility_types(conn)
    out: dict[str, np.ndarray] = {}
    for code, group in FCA_TYPES.items():
        d0 = float(types[code].radius_m or 1000.0)
        pop = dem.groups[group]
        sup = load_supply(conn, graph, code, True)
        dists = []
        for j in range(len(sup.ids)):
            one = sup.sources.take([j])
            dists.append(point_distances(graph, node_distances(graph, one, d0), dem.snaps, one))
        ratio = []
        for j, d in enumerate(dists):
            reach = sum(pop[i] for i in range(len(pop)) if d[i] <= d0)
            ratio.append(sup.capacity[j] / reach if reach > 0 else 0.0)
        acc = np.zeros(len(pop))
        for i in range(len(pop)):
            acc[i] = sum(ratio[j] for j, d in enumerate(dists) if d[i] <= d0)
        out[code] = acc
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--extra", type=int, default=40, help="synthetic facilities per type")
    ap.add_argument("--repeat", type=int, default=5, help="warm runs (best is reported)")
    args = ap.parse_args(argv)
    params = FcaParams()
    with throwaway_database("gridmap-bench-fca-", port_from=56600) as (_, url):
        eng = make_engine(url)
        with eng.begin() as conn:
            t = time.perf_counter()
            prepare(conn, args.extra)
            print(f"sample district loaded, {args.extra} extra facilities per type, coverage "
                  f"refreshed: {time.perf_counter() - t:.1f} s")
        with eng.connect() as conn:
            n_fac = conn.execute(sa.text(
                "SELECT count(*) FROM facility WHERE type_code = ANY(:t) AND capacity > 0"),
                {"t": list(FCA_TYPES)}).scalar_one()
            clear_cache()
            t = time.perf_counter()
            run = compute(conn, params=params)
            cold = time.perf_counter() - t
            warm = min(_timed(lambda: compute(conn, params=params)) for _ in range(args.repeat))
            t = time.perf_counter()
            base = baseline(conn, params)
            t_base = time.perf_counter() - t
            street = conn.execute(sa.text("SELECT code FROM street ORDER BY code LIMIT 1")
                                  ).scalar_one()
            t = time.perf_counter()
            prof = profile(conn, street)
            t_prof = time.perf_counter() - t
            t = time.perf_counter()
            check = checkup(conn, street)
            t_check = time.perf_counter() - t
        n_dem = len(run.demand.ids)
        for res in run.results:
            assert np.allclose(res.access, base[res.type_code]), res.type_code
        print(f"2SFCA, {len(run.results)} capacity types, {n_fac} facilities with capacity, "
              f"{n_dem} buildings (demand points):")
        print(f"  gridmap (batched capped Dijkstra + numpy): cold {cold:.3f} s, warm best of "
              f"{args.repeat} {warm:.3f} s  (target <= 1 s)")
        print(f"  baseline (per-facility Dijkstra + Python loops): {t_base:.2f} s "
              f"(same results: yes)")
        print(f"  ratio baseline / gridmap warm: {t_base / warm:.1f}x; cold: {t_base / cold:.1f}x")
        print(f"street profile ({len(prof['communities'])} communities, "
              f"{prof['people']['residents']} residents, {prof['cases']['totals']['cases']} cases"
              f"): {t_prof:.2f} s; 体检报告 with candidate sites for "
              f"{len(check['sites'])} types: {t_check:.2f} s")
    return 0


def _timed(fn: object) -> float:
    t = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t


if __name__ == "__main__":
    raise SystemExit(main())
