"""Basemap tile benchmark (issue #16): cold and warm tiles, library and HTTP.

One command::

    .venv/bin/python benchmarks/bench_tiles.py [--tiles 120] [--page-incidents 100000]

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

Then (``--page-incidents``, default 100,000; 0 skips it) the **first map paint** of the
supervisor page: N incidents synthesised (``gridmap.demo.synth``), gunicorn (2 workers ×
4 threads), headless Chromium with a cold browser cache, ``--page-runs`` loads each way,
interleaved: **baseline** with the basemap's requests blocked (the page as it was without
it) and **with basemap**; time of the ``sup-ready`` mark (heat drawn) and when the last
basemap tile arrived.

Targets: warm tile p95 ≤ 50 ms; first map paint ≤ 0.8 s with 100k incidents, unchanged by
the basemap (ratio with/baseline ≈ 1).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_web import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    COMM_H,
    COMMUNITIES,
    LAT0,
    LON0,
    PASSWORD,
    REPO,
    STREET_W,
    STREETS,
    seed,
    wait_http,
)
from benchmarks.common import throwaway_database  # noqa: E402
from gridmap import mapdata  # noqa: E402
from gridmap.accounts import users  # noqa: E402
from gridmap.basemap import cache  # noqa: E402
from gridmap.db import free_port, make_engine  # noqa: E402
from gridmap.demo import synth  # noqa: E402

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
_LANDCOVER_SQL = [
    """INSERT INTO landcover (osm_id, kind, name, geom)
    SELECT 'bl' || g.id, CASE WHEN g.id % 3 = 0 THEN 'water' WHEN g.id % 3 = 1 THEN 'park'
                              ELSE 'grass' END, g.name || '绿地',
           ST_Multi(ST_Buffer(ST_PointOnSurface(gg.geom), 0.0012, 8))
    FROM grid g JOIN grid_geometry gg ON gg.grid_id = g.id WHERE g.id % 2 = 0""",
    """INSERT INTO waterway (osm_id, kind, name, geom)
    SELECT 'bw' || k, CASE WHEN k = 0 THEN 'river' ELSE 'stream' END, '河' || k,
           ST_MakeLine(ST_SetSRID(ST_MakePoint(:x0, :y0 + (k + 0.5) * :h), 4326),
                       ST_SetSRID(ST_MakePoint(:x1, :y0 + (k + 0.3) * :h), 4326))
    FROM generate_series(0, 2) k""",
]
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
    ap.add_argument("--page-incidents", type=int, default=100_000,
                    help="incidents for the first-paint part (0: skip it)")
    ap.add_argument("--page-runs", type=int, default=3, help="page loads per mode")
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
            for stmt in _LANDCOVER_SQL:
                conn.execute(sa.text(stmt), {"x0": LON0, "x1": x1, "y0": LAT0,
                                             "h": (y1 - LAT0) / 3})
            users.add(conn, "bench", "bench-password-1", "planner")
            conn.execute(sa.text("ANALYZE"))
            counts = conn.execute(sa.text(
                "SELECT (SELECT count(*) FROM osm_line), (SELECT count(*) FROM building),"
                " (SELECT count(*) FROM estate), (SELECT count(*) FROM landcover)")).one()
        print(f"district: {counts[0]:,} road segments, {counts[1]:,} buildings, "
              f"{counts[2]:,} estates, {counts[3]:,} water/green areas, 3 rivers")
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
        if args.page_incidents:
            page_paint(url, args.page_incidents, args.page_runs)


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


# --------------------------------------------------------------------------------------
# first map paint of the supervisor page with N incidents: with and without the basemap
# --------------------------------------------------------------------------------------

_PAINT_JS = """() => {
  const ready = performance.getEntriesByName('sup-ready')[0];
  const nav = performance.getEntriesByType('navigation')[0];
  const tiles = performance.getEntriesByType('resource').filter(r => r.name.includes('/api/tiles/base/'));
  return {ready: ready ? ready.startTime : null, load: nav.loadEventEnd,
          base_done: tiles.length ? Math.max(...tiles.map(r => r.responseEnd)) : null,
          base_tiles: tiles.length};
}"""


def page_paint(url: str, incidents: int, runs: int) -> None:
    """Synthesise ``incidents`` into the district, serve it with gunicorn and open
    ``/supervisor`` in headless Chromium (cold browser cache) ``runs`` times with the
    basemap's requests blocked (baseline: the page as before the basemap) and as shipped."""
    engine = make_engine(url, poolclass=sa.pool.NullPool)
    end = datetime.now(UTC)
    t = time.perf_counter()
    with engine.begin() as conn:
        n = synth.synthesise(conn, incidents, seed=1, start=end - timedelta(days=60), end=end)
        users.add(conn, "bench_sup", PASSWORD, "supervisor",
                  streets=[f"110199{s:03d}" for s in range(1, STREETS + 1)])
        conn.execute(sa.text("ANALYZE"))
    engine.dispose()
    print(f"\n{n:,} incidents synthesised in {time.perf_counter() - t:.0f} s")
    port = free_port(56700)
    env = dict(os.environ, DATABASE_URL=url, GRIDMAP_SECRET_KEY="bench-" + "x" * 40)
    server = subprocess.Popen(
        [str(REPO / ".venv/bin/gunicorn"), "-w", "2", "--threads", "4", "-b",
         f"127.0.0.1:{port}", "--log-level", "warning", "web:create_app()"], cwd=REPO, env=env)
    try:
        for _ in range(4):
            wait_http(port)
        results = _paint_runs(f"http://127.0.0.1:{port}", runs)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(15)
    _report_paint(results)


def _paint_runs(base: str, runs: int) -> dict[str, list[dict[str, Any]]]:
    from playwright.sync_api import sync_playwright

    out: dict[str, list[dict[str, Any]]] = {"baseline (no basemap)": [], "with basemap": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for i in range(runs * 2):
            mode = list(out)[i % 2]  # interleaved: load drifts hit both alike
            ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
            page = ctx.new_page()
            blocked = mode.startswith("baseline")
            page.route("**/*", lambda r, b=blocked: r.abort() if (
                not r.request.url.startswith(base) or (b and "/api/tiles/base/" in r.request.url)
            ) else r.continue_())
            page.goto(f"{base}/login")
            page.fill('input[name="username"]', "bench_sup")
            page.fill('input[name="password"]', PASSWORD)
            with page.expect_navigation():
                page.click('button[type="submit"]')
            cdp = ctx.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.clearBrowserCache")
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
            page.goto(f"{base}/supervisor", wait_until="commit")
            page.wait_for_selector("body[data-sup-ready='1']", timeout=30_000)
            if not blocked:
                page.wait_for_selector(".leaflet-gmBase-pane canvas", state="attached")
            page.wait_for_load_state("networkidle")
            out[mode].append(page.evaluate(_PAINT_JS))
            ctx.close()
        browser.close()
    return out


def _report_paint(results: dict[str, list[dict[str, Any]]]) -> None:
    print("== supervisor page, first map paint (heat drawn, 'sup-ready'), cold browser cache ==")
    med: dict[str, float] = {}
    for mode, rows in results.items():
        ready = [r["ready"] for r in rows if r["ready"] is not None]
        med[mode] = statistics.median(ready)
        extra = ""
        if mode == "with basemap" and rows[0]["base_tiles"]:
            done = [r["base_done"] for r in rows if r["base_done"] is not None]
            extra = (f"; basemap tiles done median {statistics.median(done):.0f} ms "
                     f"({rows[0]['base_tiles']} tiles)")
        print(f"  {mode:<22} median {med[mode]:6.0f} ms  best {min(ready):6.0f} ms  "
              f"runs {', '.join(f'{x:.0f}' for x in ready)}{extra}")
    b, w = med["baseline (no basemap)"], med["with basemap"]
    print(f"  with/baseline ratio {w / b:.2f}  [target: first paint ≤ 800 ms with the basemap: "
          f"{'OK' if w <= 800 else 'MISSED'}]")


if __name__ == "__main__":
    main()
