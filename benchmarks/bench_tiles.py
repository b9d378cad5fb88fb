"""Basemap tile benchmark (issue #16): cold and warm tiles, library and HTTP.

One command::

    .venv/bin/python benchmarks/bench_tiles.py [--tiles 120]

In a throwaway PostGIS cluster: the synthetic district of ``bench_web`` (about 7 km ×
6.7 km, ~7,500 buildings) plus a street lattice every 0.0008° (68–89 m) cut at every crossing (~15,000
``osm_line`` segments of mixed classes, all named) and one estate per grid cell. Then for
``--tiles`` random tiles at zoom 14, 16 and 18 inside the district:

- **cold**: ``basemap.cache.cached_tile`` with an empty cache (draws and stores the tile);
- **warm**: the same call again (served from ``basemap_tile``);
- **http warm**: ``GET /api/tiles/base/z/x/y.pbf`` through the Flask app (login, gzip,
  ETag) with the cache filled;
- **baseline** (same run): the existing single-layer ``/api/tiles/buildings`` query
  (``gridmap.mapdata.tile``) for the same tiles, uncached.

Target: warm tile p95 ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_web import COMM_H, COMMUNITIES, LAT0, LON0, STREET_W, STREETS, seed  # noqa: E402
from benchmarks.common import throwaway_database  # noqa: E402
from gridmap import mapdata  # noqa: E402
from gridmap.accounts import users  # noqa: E402
from gridmap.basemap import cache  # noqa: E402
from gridmap.db import make_engine  # noqa: E402

STEP = 0.0008  # 0.0008° ≈ 68 m (lon) × 89 m (lat)
_ROADS_SQL = """
INSERT INTO osm_line (id, osm_id, highway, name, geom)
SELECT row_number() OVER (), 'b' || row_number() OVER (),
       CASE WHEN k % 10 = 0 THEN 'primary' WHEN k % 5 = 0 THEN 'tertiary'
            WHEN k % 2 = 0 THEN 'residential' ELSE 'service' END,
       CASE WHEN vertical THEN '纵' ELSE '横' END || k || '路',
       CASE WHEN vertical
            THEN ST_MakeLine(ST_SetSRID(ST_MakePoint(:x0 + k * :s, :y0 + m * :s), 4326),
                             ST_SetSRID(ST_MakePoint(:x0 + k * :s, :y0 + (m + 1) * :s), 4326))
            ELSE ST_MakeLine(ST_SetSRID(ST_MakePoint(:x0 + m * :s, :y0 + k * :s), 4326),
                             ST_SetSRID(ST_MakePoint(:x0 + (m + 1) * :s, :y0 + k * :s), 4326)) END
FROM (SELECT true AS vertical, k, m FROM generate_series(0, :nx) k, generate_series(0, :ny - 1) m
      UNION ALL
      SELECT false, k, m FROM generate_series(0, :ny) k, generate_series(0, :nx - 1) m) x
"""
_ESTATES_SQL = """
INSERT INTO estate (code, community_id, name, synthetic, geom)
SELECT 'BE' || g.id, g.community_id, g.name || '小区', true, ST_Multi(ST_Buffer(gg.geom, -0.0003))
FROM grid g JOIN grid_geometry gg ON gg.grid_id = g.id
"""


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return (int((lon + 180) / 360 * n),
            int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def timed(fn, keys):  # type: ignore[no-untyped-def]
    out = []
    for key in keys:
        t0 = time.perf_counter()
        fn(*key)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def line(name: str, ms: list[float]) -> str:
    return (f"  {name:<22} p50 {statistics.median(ms):7.1f} ms   p95 {pct(ms, 0.95):7.1f} ms"
            f"   max {max(ms):7.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiles", type=int, default=120)
    args = ap.parse_args()
    rnd = random.Random(16)
    x1, y1 = LON0 + STREET_W * STREETS, LAT0 + COMM_H * COMMUNITIES
    with throwaway_database("gridmap-bench-tiles-") as (_cluster, url):
        engine = make_engine(url, poolclass=sa.pool.NullPool)
        with engine.begin() as conn:
            seed(conn)
            conn.execute(sa.text(_ROADS_SQL), {"x0": LON0, "y0": LAT0, "s": STEP,
                                               "nx": int((x1 - LON0) / STEP),
                                               "ny": int((y1 - LAT0) / STEP)})
            conn.execute(sa.text(_ESTATES_SQL))
            users.add(conn, "bench", "bench-password-1", "planner")
            conn.execute(sa.text("ANALYZE"))
            counts = conn.execute(sa.text(
                "SELECT (SELECT count(*) FROM osm_line), (SELECT count(*) FROM building),"
                " (SELECT count(*) FROM estate)")).one()
        print(f"district: {counts[0]:,} road segments, {counts[1]:,} buildings, "
              f"{counts[2]:,} estates")
        for z in (14, 16, 18):
            keys = list({(z, *tile_of(rnd.uniform(LON0, x1), rnd.uniform(LAT0, y1), z))
                         for _ in range(args.tiles)})
            with engine.begin() as conn:
                cache.clear(conn)
                sizes = [len(cache.cached_tile(conn, *k).data) for k in keys[:20]]
                cache.clear(conn)
                cold = timed(lambda *k: cache.cached_tile(conn, *k), keys)
                warm = timed(lambda *k: cache.cached_tile(conn, *k), keys)
                base = timed(lambda *k: mapdata.tile(conn, "buildings", *k), keys)
            http = http_warm(url, keys)
            print(f"zoom {z}: {len(keys)} tiles, {statistics.mean(sizes) / 1024:.1f} KiB mean")
            for name, ms in (("cold (draw + store)", cold), ("warm (cache)", warm),
                             ("http warm (gzip)", http), ("baseline buildings", base)):
                print(line(name, ms))
            print(f"  warm/baseline p95 ratio {pct(warm, .95) / pct(base, .95):.2f}; "
                  f"cold/baseline {pct(cold, .95) / pct(base, .95):.2f}")
        engine.dispose()


def http_warm(url: str, keys: list[tuple[int, int, int]]) -> list[float]:
    from web import create_app

    app = create_app({"database_url": url, "TESTING": True, "SECRET_KEY": "bench",
                      "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    r = client.post("/login", data={"username": "bench", "password": "bench-password-1"})
    assert r.status_code == 302, r.status_code
    paths = [f"/api/tiles/base/{z}/{x}/{y}.pbf" for z, x, y in keys]
    headers = {"Accept-Encoding": "gzip"}
    for p in paths:
        assert client.get(p, headers=headers).status_code == 200
    out = timed(lambda p: client.get(p, headers=headers), [(p,) for p in paths])
    app.extensions["gridmap.engine"].dispose()
    return out


if __name__ == "__main__":
    main()
