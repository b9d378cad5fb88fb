"""Boundary import benchmark: ``.venv/bin/python benchmarks/bench_ingest.py [--rows 100000]``.

Runs on its own throwaway PostGIS cluster (benchmarks.common.throwaway_database, fast mode).

A synthetic GeoPackage of ``--rows`` building footprints (with households) inside 100
communities of one street is imported with ``gridmap.imports.boundaries.import_boundaries``: read,
repair/validate, COPY into a temp table, match by geometry, link each building to
its community (point on surface) and insert. Then the same file is imported again: every row
is unchanged, nothing is written.

Baseline, measured in the same run: ``GeoDataFrame.to_postgis(if_exists="append")`` of the
same rows (the usual geopandas recipe; no validation, no linking, no upsert) into a plain table.

Prints absolute times and ratios.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.common import throwaway_database  # noqa: E402
from gridmap.db import make_engine  # noqa: E402
from gridmap.imports import boundaries  # noqa: E402

X0, Y0, SIDE = 121.38, 31.22, 0.04  # street 310107005, ~4 km across


def synthetic_buildings(rows: int, seed: int = 7) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    x = X0 + 0.0005 + rng.random(rows) * (SIDE - 0.001)
    y = Y0 + 0.0005 + rng.random(rows) * (SIDE - 0.001)
    w = 0.0001 + rng.random(rows) * 0.0002
    return gpd.GeoDataFrame(
        {"code": [f"B{i:07d}" for i in range(rows)],
         "households": rng.integers(0, 120, rows), "levels": rng.integers(1, 30, rows)},
        geometry=shapely.box(x, y, x + w, y + w), crs=4326)


def communities() -> gpd.GeoDataFrame:
    step = SIDE / 10
    cells = [shapely.box(X0 + i * step, Y0 + j * step, X0 + (i + 1) * step, Y0 + (j + 1) * step)
             for j in range(10) for i in range(10)]
    return gpd.GeoDataFrame({"code": [f"310107005{k + 1:03d}" for k in range(100)],
                             "name": [f"社区{k + 1}" for k in range(100)]},
                            geometry=cells, crs=4326)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()

    with throwaway_database("gridmap-bench-ingest-") as (cluster, url):
        tmp = cluster.data_dir.parent
        engine = make_engine(url)
        with engine.begin() as conn:
            boundaries.import_boundaries(
                conn, gpd.GeoDataFrame({"code": ["310107"], "name": ["普陀区"]},
                                       geometry=[shapely.box(121.3, 31.1, 121.5, 31.3)],
                                       crs=4326), level="district")
            boundaries.import_boundaries(
                conn, gpd.GeoDataFrame({"code": ["310107005"], "name": ["曹杨新村街道"]},
                                       geometry=[shapely.box(X0, Y0, X0 + SIDE, Y0 + SIDE)],
                                       crs=4326), level="street")
            # synthetic community codes are not all in the catalogue
            boundaries.import_boundaries(conn, communities(), level="community",
                                     params=boundaries.IngestParams(synthetic=True))

        gdf = synthetic_buildings(args.rows)
        path = tmp / "buildings.gpkg"
        gdf.to_file(path, layer="building")
        print(f"{args.rows:,} buildings, file {path.stat().st_size / 1e6:.1f} MB")

        stages: dict[str, float] = {}

        def record(stage: str, done: int, total: int | None) -> None:
            stages.setdefault(stage, time.perf_counter())

        t0 = time.perf_counter()
        with engine.begin() as conn:
            first = boundaries.import_boundaries(conn, path, level="building",
                                             max_bytes=10**10, progress=record)
        t_first = time.perf_counter() - t0
        assert first.inserted == args.rows, first.summary_lines()
        marks = sorted(stages.items(), key=lambda kv: kv[1]) + [("end", t0 + t_first)]
        stage_line = "stages of the first import: " + ", ".join(
            f"{a} {b_t - a_t:.2f} s" for (a, a_t), (_, b_t) in zip(marks, marks[1:],
                                                                     strict=False))

        t0 = time.perf_counter()
        with engine.begin() as conn:
            again = boundaries.import_boundaries(conn, path, level="building", max_bytes=10**10)
        t_again = time.perf_counter() - t0
        assert again.unchanged == args.rows and again.inserted == 0

        t0 = time.perf_counter()
        baseline = gpd.read_file(path)
        baseline.to_postgis("baseline_building", engine, if_exists="append", index=False)
        t_base = time.perf_counter() - t0
        with engine.connect() as conn:
            n = conn.execute(sa.text("SELECT count(*) FROM baseline_building")).scalar_one()
        assert n == args.rows

        print(stage_line)
        print(f"gridmap import (validate + link + insert): {t_first:7.2f} s"
              f"  {args.rows / t_first:10,.0f} rows/s  unlinked {first.unlinked}")
        print(f"gridmap re-import (all unchanged):         {t_again:7.2f} s"
              f"  {args.rows / t_again:10,.0f} rows/s")
        print(f"baseline GeoDataFrame.to_postgis (append):  {t_base:7.2f} s"
              f"  {args.rows / t_base:10,.0f} rows/s")
        print(f"ratio import / baseline: {t_first / t_base:.2f}×;"
              f" re-import / baseline: {t_again / t_base:.2f}×")
        engine.dispose()


if __name__ == "__main__":
    main()
