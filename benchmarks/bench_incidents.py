"""Benchmark: bulk import + geolocation of synthetic incidents into all five levels.

Run::

    .venv/bin/python benchmarks/bench_incidents.py            # 1,000,000 incidents
    .venv/bin/python benchmarks/bench_incidents.py --n 100000 # quick run

It starts its own throwaway PostGIS cluster in a temporary directory (never the developer's
database), builds a synthetic district scaled up to ≥ 4,000 grids and ≥ 50,000 buildings
(district → streets → communities → estates → buildings, grids with an active version),
writes N spatially clustered incidents as CSV, then times, from the same CSV:

- **ours**: ``gridmap.incidents.import_incidents`` — validation of every row, vectorised
  STRtree assignment to street/community/estate/building/grid version, near-boundary flags,
  duplicate flags, case numbers, binary COPY into ``incident`` (chunks located and encoded
  while the previous chunk is ingested) + one intake event per row in ``incident_event``, and
  every index and constraint of both tables rebuilt in the same transaction;
- **ours-sql** (the alternative the brief asks to measure): COPY into a staging table, then one
  ``INSERT … SELECT`` with ``LATERAL`` GiST lookups per level;
- **baseline (a)**: geopandas ``sjoin`` per level + ``to_postgis``;
- **baseline (b)**: COPY the points, then a naive ``UPDATE … FROM … ST_Contains`` per level;

and single-point lookup latency (``locate_point``, one SQL statement) p50/p99.

The cluster runs with fsync off like the test clusters; ``--durable`` turns fsync, synchronous
commit and full-page writes back on (all methods are measured on the same cluster either way).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import throwaway_database  # noqa: E402
from gridmap import incidents  # noqa: E402
from gridmap.db import make_engine, raw_psycopg  # noqa: E402
from gridmap.db.cluster import LocalCluster  # noqa: E402
from gridmap.incidents import locate

LON0, LAT0 = 121.30, 31.10
CELL = 0.0016  # grid cell side in degrees (~150 m × 180 m)
GRIDS_PER_COMMUNITY = 4  # 4 × 4 grids per community
COMMUNITIES_PER_STREET = 4  # 4 × 4 communities per street
STREETS = 4  # 4 × 4 streets → 16 × 16 × 16 = 4,096 grids
BUILDINGS_PER_GRID = 4  # 4 × 4 = 16 buildings per grid → 65,536 buildings
VERTS = 10  # each edge segmented so a grid ring has ~40 vertices


def _boxes(x0: np.ndarray, y0: np.ndarray, dx: float, dy: float, seg: float | None
           ) -> np.ndarray:
    polys = shapely.box(x0, y0, x0 + dx, y0 + dy)
    if seg:
        polys = shapely.segmentize(polys, seg)
    return np.array([shapely.MultiPolygon([p]) for p in polys], dtype=object)


def _copy_geoms(conn: sa.Connection, table: str, cols: list[str], df: pd.DataFrame) -> None:
    buf = io.StringIO()
    df.to_csv(buf, index=False, header=False, na_rep="\\N")
    with raw_psycopg(conn).cursor() as cur:
        with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN WITH (FORMAT csv, "  # noqa: S608
                      "NULL '\\N')") as cp:
            cp.write(buf.getvalue())


def _hex(geoms: np.ndarray) -> np.ndarray:
    return shapely.to_wkb(shapely.set_srid(geoms, 4326), hex=True, include_srid=True)


def build_district(conn: sa.Connection) -> dict[str, int]:
    """Streets, communities, estates, buildings and grids on nested lattices (all COPY)."""
    g = GRIDS_PER_COMMUNITY
    c = COMMUNITIES_PER_STREET
    s = STREETS
    side_cells = g * c * s  # 64 grid cells per side
    seg = CELL / VERTS
    conn.execute(sa.text(
        "INSERT INTO district (id, code, name, synthetic, geom) VALUES (1, '319998', '基准区', "
        "true, ST_Multi(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)))"),
        {"x0": LON0, "y0": LAT0, "x1": LON0 + side_cells * CELL, "y1": LAT0 + side_cells * CELL})
    # streets
    si, sj = np.meshgrid(np.arange(s), np.arange(s), indexing="ij")
    sw = g * c * CELL
    sgeom = _boxes(LON0 + sj.ravel() * sw, LAT0 + si.ravel() * sw, sw, sw, seg)
    sid = np.arange(1, s * s + 1)
    _copy_geoms(conn, "street", ["id", "code", "name", "district_id", "synthetic", "geom"],
                pd.DataFrame({"id": sid, "code": [f"319998{k:03d}" for k in sid],
                              "name": [f"街道{k}" for k in sid], "d": 1, "syn": True,
                              "geom": _hex(sgeom)}))
    # communities
    n_side = s * c
    ci, cj = np.meshgrid(np.arange(n_side), np.arange(n_side), indexing="ij")
    cw = g * CELL
    cgeom = _boxes(LON0 + cj.ravel() * cw, LAT0 + ci.ravel() * cw, cw, cw, seg)
    cid = np.arange(1, n_side * n_side + 1)
    cstreet = (ci.ravel() // c) * s + (cj.ravel() // c) + 1
    _copy_geoms(conn, "community", ["id", "code", "name", "street_id", "synthetic", "geom"],
                pd.DataFrame({"id": cid,
                              "code": [f"319998{st:03d}{k:03d}" for st, k in zip(cstreet, cid,
                                                                                  strict=True)],
                              "name": [f"社区{k}" for k in cid], "street": cstreet, "syn": True,
                              "geom": _hex(cgeom)}))
    # grids: one active version per community
    gi2, gj2 = np.meshgrid(np.arange(side_cells), np.arange(side_cells), indexing="ij")
    gi, gj = gi2.ravel(), gj2.ravel()
    ggeom = _boxes(LON0 + gj * CELL, LAT0 + gi * CELL, CELL, CELL, seg)
    gid = np.arange(1, len(gi) + 1)
    gcomm = (gi // g) * n_side + (gj // g) + 1
    gseq = (gi % g) * g + (gj % g) + 1
    _copy_geoms(conn, "grid_version", ["id", "community_id", "generation", "status",
                                       "valid_from"],
                pd.DataFrame({"id": cid, "c": cid, "gen": 1, "st": "active",
                              "vf": "2020-01-01 00:00:00+00"}))
    _copy_geoms(conn, "grid", ["id", "community_id", "grid_seq", "grid_code", "synthetic"],
                pd.DataFrame({"id": gid, "c": gcomm, "seq": gseq,
                              "code": [f"G{k:08d}" for k in gid], "syn": True}))
    _copy_geoms(conn, "grid_geometry", ["version_id", "grid_id", "geom"],
                pd.DataFrame({"v": gcomm, "g": gid, "geom": _hex(ggeom)}))
    # estates: the left and right halves of each grid cell (inset 5 %)
    ex = np.concatenate([LON0 + gj * CELL, LON0 + gj * CELL + CELL / 2])
    ey = np.concatenate([LAT0 + gi * CELL, LAT0 + gi * CELL])
    egeom = _boxes(ex + CELL * 0.025, ey + CELL * 0.05, CELL * 0.45, CELL * 0.9, None)
    eid = np.arange(1, len(ex) + 1)
    _copy_geoms(conn, "estate", ["id", "code", "name", "community_id", "synthetic", "geom"],
                pd.DataFrame({"id": eid, "code": [f"E{k}" for k in eid],
                              "name": [f"小区{k}" for k in eid],
                              "c": np.concatenate([gcomm, gcomm]), "syn": True,
                              "geom": _hex(egeom)}))
    # buildings: b × b small footprints per grid cell
    b = BUILDINGS_PER_GRID
    bi2, bj2 = np.meshgrid(np.arange(side_cells * b), np.arange(side_cells * b), indexing="ij")
    bi, bj = bi2.ravel(), bj2.ravel()
    bw = CELL / b
    bgeom = _boxes(LON0 + bj * bw + bw * 0.2, LAT0 + bi * bw + bw * 0.2, bw * 0.6, bw * 0.6,
                   None)
    bcomm = (bi // (b * g)) * n_side + (bj // (b * g)) + 1
    bid = np.arange(1, len(bi) + 1)
    _copy_geoms(conn, "building", ["id", "code", "community_id", "synthetic", "geom"],
                pd.DataFrame({"id": bid, "code": [f"B{k}" for k in bid], "c": bcomm,
                              "syn": True, "geom": _hex(bgeom)}))
    for t in ("street", "community", "grid_version", "grid", "estate", "building"):
        conn.execute(sa.text(f"SELECT setval('{t}_id_seq', (SELECT max(id) FROM {t}))"))  # noqa: S608
    conn.execute(sa.text("ANALYZE"))
    return {"streets": len(sid), "communities": len(cid), "grids": len(gid),
            "estates": len(eid), "buildings": len(bid)}


def write_csv(path: Path, n: int, seed: int = 0) -> None:
    """N spatially clustered incidents (Gaussian clusters of varied size + 20 % background)."""
    rng = np.random.default_rng(seed)
    side = GRIDS_PER_COMMUNITY * COMMUNITIES_PER_STREET * STREETS * CELL
    k = 400
    centres = rng.uniform(0.05, 0.95, (k, 2)) * side
    weights = rng.pareto(1.5, k) + 0.1
    n_bg = n // 5
    pick = rng.choice(k, size=n - n_bg, p=weights / weights.sum())
    spread = rng.uniform(0.0005, 0.004, k)[pick]
    xy = centres[pick] + rng.normal(0, 1, (n - n_bg, 2)) * spread[:, None]
    xy = np.vstack([xy, rng.uniform(0, side, (n_bg, 2))])
    xy = np.clip(xy, 1e-6, side - 1e-6)
    perm = rng.permutation(n)
    xy = xy[perm]
    t0 = np.datetime64("2025-01-01T00:00:00")
    secs = rng.integers(0, 330 * 86400, n)
    codes = np.array(["E0102", "E0104", "E0501", "E0201", "E0602", "E0101", "E0103", "E0604"])
    cat = codes[rng.integers(0, len(codes), n)]
    src = np.array(incidents.SOURCES)[rng.integers(0, 6, n)]
    df = pd.DataFrame({
        "service_request_id": np.char.add("BENCH-", np.arange(n).astype(str)),
        "service_code": cat,
        "long": np.round(LON0 + xy[:, 0], 7),
        "lat": np.round(LAT0 + xy[:, 1], 7),
        "requested_datetime": np.datetime_as_string(t0 + secs.astype("timedelta64[s]")),
        "source": src,
        "description": "benchmark",
    })
    df["requested_datetime"] = df["requested_datetime"] + "Z"
    df.to_csv(path, index=False)


def fresh_db(cluster: LocalCluster, template: str, name: str) -> str:
    return cluster.ensure_database(name, template=template)


def time_ours(url: str, csv_path: Path) -> tuple[float, dict[str, object]]:
    eng = make_engine(url, poolclass=sa.pool.NullPool)
    t = time.perf_counter()
    frame = incidents.read_incident_file(csv_path)
    timings: dict[str, float] = {"read_csv": time.perf_counter() - t}
    with eng.begin() as conn:
        rep = incidents.import_incidents(conn, frame, actor="bench", source_file=csv_path.name,
                                         timings=timings)
    dt_ = time.perf_counter() - t
    rep["stages_s"] = {k: round(v, 1) for k, v in timings.items()}
    eng.dispose()
    return dt_, rep


_LATERAL_SQL = """
INSERT INTO bench_assigned (ext, lon, lat, geom, street_id, community_id, estate_id,
                            building_id, grid_id, grid_version_id)
SELECT s.ext, s.lon, s.lat, s.geom, st.id, cm.id, es.id, bd.id, gr.grid_id, gr.version_id
FROM (SELECT ext, lon, lat, reported_at,
             ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS geom FROM bench_stage) s
LEFT JOIN LATERAL (SELECT id FROM street x WHERE ST_Intersects(x.geom, s.geom)
                   ORDER BY id LIMIT 1) st ON true
LEFT JOIN LATERAL (SELECT id FROM community x WHERE ST_Intersects(x.geom, s.geom)
                   ORDER BY id LIMIT 1) cm ON true
LEFT JOIN LATERAL (SELECT id FROM estate x WHERE ST_Intersects(x.geom, s.geom)
                   ORDER BY id LIMIT 1) es ON true
LEFT JOIN LATERAL (SELECT id FROM building x WHERE ST_Intersects(x.geom, s.geom)
                   ORDER BY id LIMIT 1) bd ON true
LEFT JOIN LATERAL (SELECT gg.grid_id, gg.version_id FROM grid_geometry gg
                   JOIN grid_version gv ON gv.id = gg.version_id
                   WHERE ST_Intersects(gg.geom, s.geom) AND gv.valid_from <= s.reported_at
                     AND (gv.valid_to IS NULL OR s.reported_at < gv.valid_to)
                   ORDER BY gg.grid_id LIMIT 1) gr ON true
"""


def _copy_csv_stage(conn: sa.Connection, csv_path: Path) -> None:
    conn.execute(sa.text("CREATE TABLE bench_stage (ext text, code text, lon float8, "
                         "lat float8, reported_at timestamptz, source text, description text)"))
    with raw_psycopg(conn).cursor() as cur, open(csv_path, "rb") as fh:
        with cur.copy("COPY bench_stage FROM STDIN WITH (FORMAT csv, HEADER true)") as cp:
            while chunk := fh.read(1 << 20):
                cp.write(chunk)


def time_ours_sql(url: str, csv_path: Path) -> float:
    eng = make_engine(url, poolclass=sa.pool.NullPool)
    t = time.perf_counter()
    with eng.begin() as conn:
        _copy_csv_stage(conn, csv_path)
        conn.execute(sa.text(
            "CREATE TABLE bench_assigned (ext text, lon float8, lat float8, "
            "geom geometry(Point, 4326), street_id int, community_id int, estate_id int, "
            "building_id int, grid_id int, grid_version_id int)"))
        conn.execute(sa.text(_LATERAL_SQL))
    dt_ = time.perf_counter() - t
    eng.dispose()
    return dt_


def time_geopandas(url: str, csv_path: Path) -> float:
    import geopandas as gpd

    eng = make_engine(url, poolclass=sa.pool.NullPool)
    t = time.perf_counter()
    df = pd.read_csv(csv_path)
    pts = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["long"], df["lat"]), crs=4326)
    with eng.connect() as conn:
        for level, sql in (
            ("street", "SELECT id, geom FROM street"),
            ("community", "SELECT id, geom FROM community"),
            ("estate", "SELECT id, geom FROM estate"),
            ("building", "SELECT id, geom FROM building"),
            ("grid", "SELECT gg.grid_id AS id, gg.geom FROM grid_geometry gg JOIN grid_version "
                     "gv ON gv.id = gg.version_id WHERE gv.status = 'active'"),
        ):
            polys = gpd.read_postgis(sql, conn, geom_col="geom")
            j = gpd.sjoin(pts[["geometry"]], polys, how="left", predicate="within")
            j = j[~j.index.duplicated(keep="first")]
            pts[f"{level}_id"] = j["id"]
    pts = pts.rename_geometry("geom")
    pts.to_postgis("bench_gpd", eng, if_exists="replace", index=False)
    dt_ = time.perf_counter() - t
    eng.dispose()
    return dt_


def time_naive_update(url: str, csv_path: Path) -> float:
    eng = make_engine(url, poolclass=sa.pool.NullPool)
    t = time.perf_counter()
    with eng.begin() as conn:
        _copy_csv_stage(conn, csv_path)
        conn.execute(sa.text(
            "CREATE TABLE bench_naive AS SELECT ext, code, reported_at, "
            "ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS geom, NULL::int AS street_id, "
            "NULL::int AS community_id, NULL::int AS estate_id, NULL::int AS building_id, "
            "NULL::int AS grid_id FROM bench_stage"))
        for col, table in (("street_id", "street"), ("community_id", "community"),
                           ("estate_id", "estate"), ("building_id", "building")):
            conn.execute(sa.text(f"UPDATE bench_naive p SET {col} = x.id FROM {table} x "  # noqa: S608
                                 "WHERE ST_Contains(x.geom, p.geom)"))
        conn.execute(sa.text("UPDATE bench_naive p SET grid_id = gg.grid_id FROM grid_geometry gg "
                             "WHERE ST_Contains(gg.geom, p.geom)"))
    dt_ = time.perf_counter() - t
    eng.dispose()
    return dt_


def lookup_latency(url: str, k: int = 1000) -> tuple[float, float, float, float]:
    """p50/p99 of locate_point: client round trip, and server-side execution time."""
    eng = make_engine(url, poolclass=sa.pool.NullPool)
    rng = np.random.default_rng(5)
    side = GRIDS_PER_COMMUNITY * COMMUNITIES_PER_STREET * STREETS * CELL
    xs = LON0 + rng.uniform(0, side, k)
    ys = LAT0 + rng.uniform(0, side, k)
    times = []
    server = []
    with eng.connect() as conn:
        for x, y in zip(xs[:50], ys[:50], strict=True):  # warm-up
            locate.locate_point(conn, float(x), float(y))
        for x, y in zip(xs, ys, strict=True):
            t = time.perf_counter()
            locate.locate_point(conn, float(x), float(y))
            times.append((time.perf_counter() - t) * 1000)
        sql = str(locate._LOCATE_SQL.text)
        for x, y in zip(xs[:300], ys[:300], strict=True):
            plan = conn.execute(sa.text("EXPLAIN (ANALYZE, FORMAT JSON) " + sql),
                                {"lon": float(x), "lat": float(y), "at": "2025-06-01Z"}
                                ).scalar_one()
            server.append(float(plan[0]["Execution Time"]))
    eng.dispose()
    a, s = np.array(times), np.array(server)
    return (float(np.percentile(a, 50)), float(np.percentile(a, 99)),
            float(np.percentile(s, 50)), float(np.percentile(s, 99)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--skip", default="", help="comma list of: sql,gpd,naive")
    ap.add_argument("--durable", action="store_true",
                    help="fsync, synchronous_commit and full_page_writes on")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    t = time.perf_counter()
    with throwaway_database("gridmap-bench-incidents-", "bench_tpl",
                            durable=args.durable) as (cluster, tpl):
        tmp = cluster.data_dir.parent
        eng = make_engine(tpl, poolclass=sa.pool.NullPool)
        with eng.begin() as conn:
            sizes = build_district(conn)
        eng.dispose()
        print(f"district: {sizes} built in {time.perf_counter() - t:.1f} s")
        csv_path = tmp / "incidents.csv"
        t = time.perf_counter()
        write_csv(csv_path, args.n)
        print(f"incidents CSV: {args.n:,} rows, {csv_path.stat().st_size / 1e6:.0f} MB "
              f"written in {time.perf_counter() - t:.1f} s")
        results: dict[str, float] = {}
        ours, rep = time_ours(fresh_db(cluster, "bench_tpl", "b_ours"), csv_path)
        results["ours"] = ours
        print(f"ours (validate + STRtree assign + duplicates + COPY + events + indexes): "
              f"{ours:.1f} s "
              f"— {rep}")
        if "sql" not in skip:
            results["ours_sql"] = time_ours_sql(fresh_db(cluster, "bench_tpl", "b_sql"), csv_path)
            print(f"ours-sql (COPY staging + INSERT…SELECT LATERAL, assignment only): "
                  f"{results['ours_sql']:.1f} s")
        if "gpd" not in skip:
            results["gpd"] = time_geopandas(fresh_db(cluster, "bench_tpl", "b_gpd"), csv_path)
            print(f"baseline (a) geopandas sjoin per level + to_postgis: {results['gpd']:.1f} s")
        if "naive" not in skip:
            results["naive"] = time_naive_update(fresh_db(cluster, "bench_tpl", "b_naive"),
                                                 csv_path)
            print(f"baseline (b) COPY + UPDATE…FROM…ST_Contains per level: "
                  f"{results['naive']:.1f} s")
        p50, p99, s50, s99 = lookup_latency(fresh_db(cluster, "bench_tpl", "b_ours2"))
        print(f"single-point locate_point: client round trip p50 {p50:.2f} ms, p99 {p99:.2f} ms;"
              f" server execution p50 {s50:.2f} ms, p99 {s99:.2f} ms")
        print("\nsummary (same run, same CSV):")
        for k, v in results.items():
            print(f"  {k:>9}: {v:7.1f} s   ({args.n / v:,.0f} rows/s)")
        if "gpd" in results:
            print(f"  ours vs (a) geopandas: {results['gpd'] / ours:.2f}x faster")
        if "naive" in results:
            print(f"  ours vs (b) naive UPDATE: {results['naive'] / ours:.2f}x faster")
        if "ours_sql" in results:
            print(f"  ours vs ours-sql LATERAL: {results['ours_sql'] / ours:.2f}x")


if __name__ == "__main__":
    main()
