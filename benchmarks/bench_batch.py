"""Batch jobs on Dask vs the same work in one process, on the sample district.

Run: ``.venv/bin/python benchmarks/bench_batch.py [--points 200000] [--chunk 25000]``
(starts its own throwaway PostGIS cluster). Prints, measured in the same run:

- locate: ``assign_points`` of N random points in one process (baseline) vs
  ``gridmap batch locate`` with a LocalCluster of 1 and of 2 workers (file read, job table,
  COPY of the results per partition included; cluster start-up timed separately);
- coverage: ``coverage.refresh`` distances+store (baseline) vs ``gridmap batch coverage``
  per street with 1 and 2 workers.

On one 2-core machine Dask adds overhead (task start-up, per-partition polygon loading);
the point of the job table is that the same command spreads over several machines.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import throwaway_database  # noqa: E402
from gridmap.access import coverage  # noqa: E402
from gridmap.batch import plan  # noqa: E402
from gridmap.batch.runner import ClusterParams  # noqa: E402
from gridmap.db import make_engine  # noqa: E402
from gridmap.demo import sample  # noqa: E402
from gridmap.incidents.locate import assign_points  # noqa: E402


def _points(engine: Any, path: Path, n: int) -> pd.DataFrame:
    with engine.connect() as conn:
        x0, y0, x1, y1 = conn.execute(sa.text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) AS e FROM community) q")).one()
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"lon": rng.uniform(x0, x1, n), "lat": rng.uniform(y0, y1, n),
                          "reported_at": pd.Timestamp("2026-06-01T00:00:00Z")
                          + pd.to_timedelta(rng.integers(0, 86400 * 90, n), unit="s")})
    frame.to_csv(path, index=False)
    return frame


def _with_cluster(workers: int, fn: Any) -> tuple[float, float, Any]:
    from distributed import Client, LocalCluster

    t = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        t_start = time.perf_counter() - t
        t = time.perf_counter()
        out = fn(ClusterParams(client=client))
        return t_start, time.perf_counter() - t, out


def city_locate(url: str, n: int = 200_000) -> dict[str, Any]:
    """bench_city job: N points over the city, one process vs batch with 1 and 2 workers."""
    engine = make_engine(url)
    path = Path("/tmp") / f"bench_city_points_{n}.csv"
    frame = _points(engine, path, n)
    t = time.perf_counter()
    with engine.connect() as conn:
        assign_points(conn, frame["lon"], frame["lat"],
                      pd.to_datetime(frame["reported_at"], utc=True).to_numpy())
    out: dict[str, Any] = {"points": n, "one_process_s": round(time.perf_counter() - t, 2)}
    for w in (1, 2):
        start, run, _job = _with_cluster(w, lambda c: plan.start_file_job(
            engine, "locate", path, c, chunk_rows=max(n // 8, 1)))
        out[f"dask_{w}w_s"] = round(run, 2)
        out[f"dask_{w}w_cluster_start_s"] = round(start, 1)
    path.unlink(missing_ok=True)
    engine.dispose()
    return out


def city_coverage(url: str) -> dict[str, Any]:
    """bench_city job: building_coverage of every street, one process (all buildings as one
    partition, no Dask) vs batch per street with 1 and 2 workers."""
    from gridmap.access import network
    from gridmap.batch.coverage import street_coverage, street_partitions

    engine = make_engine(url)
    with engine.begin() as conn:
        if conn.execute(sa.text("SELECT count(*) FROM network_edge")).scalar_one() == 0:
            network.build_network(conn)
        ids = [i for _k, part in street_partitions(conn) for i in part]
        t = time.perf_counter()
        street_coverage(conn, ids, 60.0)
        out: dict[str, Any] = {"buildings": len(ids),
                               "one_process_s": round(time.perf_counter() - t, 2)}
    for w in (1, 2):
        start, run, job = _with_cluster(w, lambda c: plan.start_db_job(engine, "coverage", c))
        out[f"dask_{w}w_s"] = round(run, 2)
        out["partitions"] = sum(job["counts"].values())
    engine.dispose()
    return out


CITY_JOBS = [("batch locate (Dask)", city_locate), ("batch coverage (Dask)", city_coverage)]
"""Appended to ``benchmarks/bench_city.py``'s ``JOBS``."""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--points", type=int, default=200_000)
    ap.add_argument("--chunk", type=int, default=25_000)
    args = ap.parse_args(argv)
    with throwaway_database("gridmap-bench-batch-", port_from=56900) as (_, url):
        engine = make_engine(url)
        with engine.begin() as conn:
            sample.load_sample(conn, params=sample.SampleParams(incidents=0))
        path = Path(url.rsplit("/", 1)[0].split("@")[0].replace(":", "_")[-8:] + ".csv")
        path = Path("/tmp") / f"bench_batch_{path.name}"
        frame = _points(engine, path, args.points)
        t = time.perf_counter()
        with engine.connect() as conn:
            assign_points(conn, frame["lon"], frame["lat"],
                          pd.to_datetime(frame["reported_at"], utc=True).to_numpy())
        base = time.perf_counter() - t
        print(f"locate {args.points} points, one process (assign_points, no writes): {base:.2f} s")
        for w in (1, 2):
            start, run, job = _with_cluster(w, lambda c: plan.start_file_job(
                engine, "locate", path, c, chunk_rows=args.chunk))
            print(f"  batch locate, {w} worker(s): {run:.2f} s (+ cluster start {start:.1f} s),"
                  f" {job['rows']} rows in {sum(job['counts'].values())} partitions; "
                  f"ratio to one process {run / base:.2f}x")
        t = time.perf_counter()
        with engine.begin() as conn:
            rep = coverage.refresh(conn, force_service_areas=True)
        base = rep["timings"]["distances_s"] + rep["timings"]["store_s"]
        print(f"coverage refresh, one process: {time.perf_counter() - t:.2f} s {rep['timings']};"
              f" its building_coverage part (distances + store, the baseline): {base:.2f} s")
        for w in (1, 2):
            start, run, job = _with_cluster(w, lambda c: plan.start_db_job(
                engine, "coverage", c))
            print(f"  batch coverage per street, {w} worker(s): {run:.2f} s (+ cluster start "
                  f"{start:.1f} s), {sum(job['counts'].values())} partitions; ratio to one "
                  f"process {run / base:.2f}x")
        path.unlink(missing_ok=True)
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
