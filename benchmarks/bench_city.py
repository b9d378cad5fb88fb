"""A whole synthetic city: build time, incident import, auto-partition, rollup queries.

One command (not in CI), on a throwaway PostGIS cluster::

    .venv/bin/python benchmarks/bench_city.py --preset district            # one district
    .venv/bin/python benchmarks/bench_city.py --preset shanghai --years 1  # the issue's size

Stages (each printed with seconds and the process's peak memory):

1. ``build``: the city without incidents (divisions, buildings, roads, facilities), then
   ``grids`` (auto-partition + activation of every community) and ``network``.
2. ``import``: ``years × incidents_per_year`` incidents through the one write path
   (location at all five levels, case numbers, events, partitions, rollups); rows/s.
3. ``queries``: dashboard (counts by state and street for 30 days), heat map (H3 cells of
   30 days) and indicator (closure rate per grid for a month) — each from the rollups and
   by scanning the cases, same windows, same run; p50/p95 and the ratio.
4. ``transition``: one transition with the rollup triggers vs the triggers disabled.
5. ``JOBS``: further timed jobs (name, function(url) → dict of figures). Batch work
   (gridmap.batch, Dask) appends its single-process / 1-worker / 2-worker runs here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import throwaway_database  # noqa: E402
from gridmap import city  # noqa: E402
from gridmap.city import incidents as city_incidents  # noqa: E402
from gridmap.db import make_engine  # noqa: E402
from gridmap.incidents import rollups, workflow  # noqa: E402

JOBS: list[tuple[str, Callable[[str], dict[str, Any]]]] = []
"""Extra timed jobs: (name, function of the database URL returning figures to print)."""

from benchmarks.bench_batch import CITY_JOBS  # noqa: E402  (Dask batch jobs, #18)

JOBS.extend(CITY_JOBS)


def peak_mb() -> float:
    """Peak resident memory of this process (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stage(name: str, t0: float, **figures: Any) -> None:
    extra = "  ".join(f"{k}={v}" for k, v in figures.items())
    print(f"{name:<28} {time.perf_counter() - t0:8.1f} s  peak {peak_mb():7.0f} MB  {extra}",
          flush=True)


def build(url: str, params: city.CityParams, seed: int) -> city.CityReport:
    engine = make_engine(url, poolclass=sa.pool.NullPool)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        report = city.generate(conn, replace(params, incidents_per_year=0), seed)
    stage("build (without incidents)", t0, communities=report.communities,
          buildings=report.buildings, grids=report.grids, edges=report.network_edges)
    for k, v in report.seconds.items():
        print(f"  {k:<26} {v:8.1f} s")
    engine.dispose()
    return report


def import_incidents(url: str, params: city.CityParams, seed: int) -> int:
    engine = make_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        anchors = np.array(conn.execute(sa.text(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) c FROM building "
            "ORDER BY id) b")).all(), dtype=float)
    n = params.years * params.incidents_per_year
    t0 = time.perf_counter()
    with engine.begin() as conn:
        city_incidents.write_incidents(conn, params, anchors, seed)
    secs = time.perf_counter() - t0
    stage("import incidents", t0, n=n, rows_per_s=int(n / max(secs, 1e-9)))
    engine.dispose()
    return n


def _timed(fn: Callable[[], Any], k: int) -> tuple[float, float]:
    times = []
    for _ in range(k):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(round(0.95 * len(times))) - 1)]


_SCAN_DASH = ("SELECT street_id, state, count(*) FROM incident WHERE reported_at >= :a AND "
              "reported_at < :b GROUP BY 1, 2")
_SCAN_HEAT = ("SELECT round(ST_X(geom)::numeric, 4), round(ST_Y(geom)::numeric, 4), count(*) "
              "FROM incident WHERE reported_at >= :a AND reported_at < :b GROUP BY 1, 2")
_SCAN_IND = ("SELECT grid_id, count(*) FILTER (WHERE state IN ('closed', 'evaluated'))::float "
             "/ count(*) FROM incident WHERE reported_at >= :a AND reported_at < :b GROUP BY 1")


def queries(url: str, params: city.CityParams, k: int, seed: int) -> None:
    """Rollups vs scanning the cases for random 30-day windows of the generated years."""
    engine = make_engine(url, poolclass=sa.pool.NullPool)
    rng = np.random.default_rng(seed)
    first = dt.date(params.end_year - params.years + 1, 1, 1)
    span = (dt.date(params.end_year, 12, 31) - first).days - 30
    starts = [first + dt.timedelta(days=int(d)) for d in rng.integers(0, max(span, 1), k)]
    it = iter(starts * 3)
    with engine.connect() as conn:
        def window() -> tuple[dt.date, dt.date]:
            a = next(it)
            return a, a + dt.timedelta(days=29)

        def ts(a: dt.date, b: dt.date) -> dict[str, str]:
            return {"a": f"{a} 00:00+08", "b": f"{b + dt.timedelta(days=1)} 00:00+08"}

        cases = {
            "dashboard": (lambda: rollups.day_counts(conn, *window(), by=("street_id", "state")),
                          lambda: conn.execute(sa.text(_SCAN_DASH), ts(*window())).all()),
            "heat": (lambda: rollups.heat_cells(conn, *window()),
                     lambda: conn.execute(sa.text(_SCAN_HEAT), ts(*window())).all()),
            "indicator": (lambda: rollups.day_counts(conn, *window(), by=("grid_id", "state")),
                          lambda: conn.execute(sa.text(_SCAN_IND), ts(*window())).all()),
        }
        for name, (fast, scan) in cases.items():
            it = iter(starts * 2)
            p50r, p95r = _timed(fast, k)
            it = iter(starts * 2)
            p50s, p95s = _timed(scan, k)
            print(f"  {name:<10} rollup p50 {p50r:7.1f} ms p95 {p95r:7.1f} ms | scan p50 "
                  f"{p50s:8.1f} ms p95 {p95s:8.1f} ms | ratio p95 {p95s / max(p95r, 1e-6):6.1f}x",
                  flush=True)
    engine.dispose()


def transitions(url: str, k: int = 50) -> None:
    """One 信息收集 → 立案 transition with and without the rollup triggers."""
    engine = make_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(sa.text(
            "SELECT id FROM incident WHERE state = 'reported' ORDER BY id DESC LIMIT :k"),
            {"k": 2 * k})]
        conn.commit()
        out = {}
        trigger = "ALTER TABLE incident {} TRIGGER incident_rollup_update"
        for label, part, off in (("with rollups", ids[:k], False),
                                 ("triggers off", ids[k:], True)):
            with conn.begin():
                if off:
                    conn.execute(sa.text(trigger.format("DISABLE")))
                t = time.perf_counter()
                for i in part:
                    workflow.transition(conn, i, "filed", actor="bench")
                out[label] = (time.perf_counter() - t) * 1000 / max(len(part), 1)
                if off:
                    conn.execute(sa.text(trigger.format("ENABLE")))
        print(f"  transition  {out['with rollups']:.2f} ms with rollups vs "
              f"{out['triggers off']:.2f} ms without (n={len(ids) // 2})", flush=True)
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="district", choices=sorted(city.PRESETS))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--years", type=int, default=None)
    ap.add_argument("--incidents-per-year", type=int, default=None)
    ap.add_argument("--queries", type=int, default=20, help="windows per query kind")
    ap.add_argument("--keep", action="store_true", help="keep the cluster directory")
    args = ap.parse_args()
    params = city.resolve(args.preset, args.years, args.incidents_per_year)
    print(f"preset {args.preset}: {params.years} year(s) × {params.incidents_per_year:,} "
          f"incidents", flush=True)
    with throwaway_database("gridmap-city-", port_from=56600, keep=args.keep) as (_, url):
        build(url, params, args.seed)
        import_incidents(url, params, args.seed)
        print("queries over the imported cases (30-day windows):", flush=True)
        queries(url, params, args.queries, args.seed)
        transitions(url)
        for name, job in JOBS:
            t0 = time.perf_counter()
            figures = job(url)
            stage(name, t0, **figures)
    print(f"peak memory (this process) {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
