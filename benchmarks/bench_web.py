"""Web performance benchmark (issue #6): supervisor page and /api/locate through gunicorn.

One command::

    .venv/bin/python benchmarks/bench_web.py [--incidents 100000] [--seconds 20] [--rate 200]

What it does, all on loopback in a throwaway directory:

1. starts its own PostGIS cluster (``LocalCluster(tmp, fast=True)``), migrates it and
   loads the catalogues;
2. builds a small synthetic district (4 streets × 3 communities × 16 grids = 192 grids,
   ~7,500 buildings, about 7 km × 6.7 km) and writes N incidents with
   ``gridmap.demo.synth.synthesise`` (spatially clustered, with transition histories);
3. starts gunicorn (2 workers, 4 threads each) on a free loopback port;
4. **page**: headless Chromium (Playwright, Debian's /usr/bin/chromium, every non-local
   request aborted) logs in as a supervisor of the whole district and opens
   ``/supervisor`` with a cold cache: first contentful paint, time until the heat layer is
   drawn (``data-sup-ready``, our "first meaningful paint") and bytes transferred
   (sum of the resource timing transfer sizes);
5. **heat payload baseline**: the aggregated ``/api/aggregates/heat`` response for the
   district view vs a naive GeoJSON of every incident point (size and time, same run);
6. **locate**: an open-loop load generator (fixed schedule of ``rate`` requests/s for
   ``seconds`` s, random points in the district, latency measured from the scheduled send
   time so queueing counts) → p50/p90/p99/max; then ``wrk`` (closed loop, 2 threads,
   8 connections, random points from a Lua script) for the saturation throughput.

Targets: first meaningful paint ≤ 1.5 s, ≤ 2 MB; locate p99 ≤ 20 ms at 200 req/s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.common import throwaway_database  # noqa: E402
from benchmarks.locate_load import report_locate, report_locate_under_load  # noqa: E402
from gridmap.accounts import users  # noqa: E402
from gridmap.db import free_port, make_engine  # noqa: E402
from gridmap.demo import synth  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
PASSWORD = "bench-password-123"
LON0, LAT0, STREET_W, COMM_H = 116.38, 39.89, 0.02, 0.02
STREETS, COMMUNITIES, GRIDS = 4, 3, 4

_SEED_SQL = [
    """
    INSERT INTO district (code, name, synthetic, geom)
    VALUES ('110199', '基准区', true, ST_Multi(ST_MakeEnvelope(
        :x0, :y0, :x0 + :sw * :ns, :y0 + :ch * :nc, 4326)))
    """,
    """
    INSERT INTO street (code, district_id, name, synthetic, geom)
    SELECT '110199' || lpad(s::text, 3, '0'), (SELECT id FROM district WHERE code = '110199'),
           '基准街道' || s, true,
           ST_Multi(ST_MakeEnvelope(:x0 + :sw * (s - 1), :y0, :x0 + :sw * s, :y0 + :ch * :nc, 4326))
    FROM generate_series(1, :ns) s
    """,
    """
    INSERT INTO community (code, street_id, name, synthetic, geom)
    SELECT st.code || lpad(c::text, 3, '0'), st.id, st.name || '社区' || c, true,
           ST_Multi(ST_MakeEnvelope(ST_XMin(st.geom), :y0 + :ch * (c - 1),
                                    ST_XMax(st.geom), :y0 + :ch * c, 4326))
    FROM street st CROSS JOIN generate_series(1, :nc) c
    """,
    """
    INSERT INTO grid_version (community_id, generation, status, valid_from, activated_at)
    SELECT id, 1, 'active', '2000-01-01', now() FROM community
    """,
    """
    INSERT INTO grid (community_id, grid_seq, grid_code, name, synthetic)
    SELECT cm.id, (i * :ng + j + 1), cm.code || lpad((i * :ng + j + 1)::text, 3, '0'),
           cm.name || '网格' || (i * :ng + j + 1), true
    FROM community cm CROSS JOIN generate_series(0, :ng - 1) i
    CROSS JOIN generate_series(0, :ng - 1) j
    """,
    """
    INSERT INTO grid_geometry (version_id, grid_id, geom)
    SELECT gv.id, g.id, ST_Multi(ST_MakeEnvelope(
        ST_XMin(cm.geom) + (ST_XMax(cm.geom) - ST_XMin(cm.geom)) / :ng * ((g.grid_seq - 1) % :ng),
        ST_YMin(cm.geom) + (ST_YMax(cm.geom) - ST_YMin(cm.geom)) / :ng * ((g.grid_seq - 1) / :ng),
        ST_XMin(cm.geom) + (ST_XMax(cm.geom) - ST_XMin(cm.geom)) / :ng * ((g.grid_seq - 1) % :ng + 1),
        ST_YMin(cm.geom) + (ST_YMax(cm.geom) - ST_YMin(cm.geom)) / :ng * ((g.grid_seq - 1) / :ng + 1),
        4326))
    FROM grid g JOIN community cm ON cm.id = g.community_id
    JOIN grid_version gv ON gv.community_id = cm.id AND gv.status = 'active'
    """,
    """
    INSERT INTO building (code, community_id, residential, levels, households, residents,
                          population_source, synthetic, geom)
    SELECT 'BB' || i || '_' || j, cm.id, true, 6, 40, 100, 'estimated', true,
           ST_Multi(ST_MakeEnvelope(:x0 + i * 0.0008 + 0.0002, :y0 + j * 0.0008 + 0.0002,
                                    :x0 + i * 0.0008 + 0.0006, :y0 + j * 0.0008 + 0.0005, 4326))
    FROM generate_series(0, (:sw * :ns / 0.0008)::int - 1) i
    CROSS JOIN generate_series(0, (:ch * :nc / 0.0008)::int - 1) j
    JOIN community cm ON ST_Contains(cm.geom,
         ST_SetSRID(ST_MakePoint(:x0 + i * 0.0008 + 0.0004, :y0 + j * 0.0008 + 0.0004), 4326))
    """,
    "ANALYZE",
]


def seed(conn: sa.engine.Connection) -> tuple[float, float, float, float]:
    """The synthetic district; returns its bbox."""
    params = {"x0": LON0, "y0": LAT0, "sw": STREET_W, "ch": COMM_H, "ns": STREETS,
              "nc": COMMUNITIES, "ng": GRIDS}
    for stmt in _SEED_SQL:
        conn.execute(sa.text(stmt), params)
    return (LON0, LAT0, LON0 + STREET_W * STREETS, LAT0 + COMM_H * COMMUNITIES)


def wait_http(port: int, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/login")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not come up")


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


# --------------------------------------------------------------------------------------
# page
# --------------------------------------------------------------------------------------


def measure_page(base: str, runs: int = 3) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    out: list[dict[str, Any]] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(runs):
            ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
            page = ctx.new_page()
            blocked: list[str] = []

            def route(r: Any, blocked: list[str] = blocked) -> None:
                if r.request.url.startswith(base):
                    r.continue_()
                else:
                    blocked.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.goto(f"{base}/login")
            page.fill('input[name="username"]', "bench_sup")
            page.fill('input[name="password"]', PASSWORD)
            with page.expect_navigation():
                page.click('button[type="submit"]')
            # cold cache for the measured navigation
            cdp = ctx.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.clearBrowserCache")
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
            t0 = time.perf_counter()
            page.goto(f"{base}/supervisor", wait_until="commit")
            page.wait_for_selector("body[data-sup-ready='1']", timeout=30_000)
            wall = time.perf_counter() - t0
            perf = page.evaluate("""() => {
                const nav = performance.getEntriesByType('navigation')[0];
                const paint = performance.getEntriesByType('paint');
                const fcp = paint.find(p => p.name === 'first-contentful-paint');
                const res = performance.getEntriesByType('resource');
                const ready = performance.getEntriesByName('sup-ready')[0];
                const bytes = nav.transferSize + res.reduce((a, r) => a + r.transferSize, 0);
                return {fcp: fcp ? fcp.startTime : null, dcl: nav.domContentLoadedEventEnd,
                        load: nav.loadEventEnd, bytes: bytes, requests: res.length + 1,
                        ready: ready ? ready.startTime : null};
            }""")
            perf["wall_ready_s"] = wall
            if not out:
                shots = REPO / "test-output" / "screenshots"
                shots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shots / "supervisor_bench_100k.png"))
            perf["count_text"] = page.text_content("#sup-count")
            perf["blocked"] = len(blocked)
            out.append(perf)
            ctx.close()
        browser.close()
    best = min(out, key=lambda p: p["ready"] or 1e9)
    return {"runs": out, "best": best, "first": out[0]}


# --------------------------------------------------------------------------------------
# heat payload vs raw GeoJSON baseline
# --------------------------------------------------------------------------------------


def measure_heat(base: str, cookie: str, bbox: tuple[float, float, float, float],
                 engine: sa.engine.Engine) -> dict[str, Any]:
    x0, y0, x1, y1 = bbox
    path = (f"/api/aggregates/heat?bbox={x0},{y0},{x1},{y1}&zoom=13&window=all")
    times, size, body = [], 0, {}
    for _ in range(5):
        c = http.client.HTTPConnection("127.0.0.1", int(base.rsplit(":", 1)[1]), timeout=60)
        t = time.perf_counter()
        c.request("GET", path, headers={"Cookie": cookie, "Accept-Encoding": "identity"})
        data = c.getresponse().read()
        times.append(time.perf_counter() - t)
        size, body = len(data), json.loads(data)
    raw_times, raw_size = [], 0
    q = sa.text("""
        SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg(
            json_build_object('type', 'Feature', 'id', id,
                              'geometry', ST_AsGeoJSON(geom, 6)::json,
                              'properties', json_build_object('category', category_code,
                                  'state', state, 'reported_at', reported_at))))::text
        FROM incident""")
    for _ in range(3):
        t = time.perf_counter()
        with engine.connect() as conn:
            raw = conn.execute(q).scalar_one()
        raw_times.append(time.perf_counter() - t)
        raw_size = len(raw.encode())
    return {
        "mode": body.get("mode"), "cells": len(body.get("cells") or []),
        "total": body.get("total"), "bytes": size, "median_s": statistics.median(times),
        "cold_s": times[0],
        "raw_bytes": raw_size, "raw_median_s": statistics.median(raw_times),
    }


# --------------------------------------------------------------------------------------
# locate load
# --------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--incidents", type=int, default=100_000)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    ap.add_argument("--keep", action="store_true", help="keep the temp directory")
    ap.add_argument("--only", default="page,heat,locate,locate-load",
                    help="comma-separated parts to run: page, heat, locate, locate-load "
                    "(locate while a `gridmap batch locate` job runs)")
    ap.add_argument("--batch-points", type=int, default=500_000,
                    help="points of the concurrent batch job (locate-load)")
    args = ap.parse_args()

    t = time.perf_counter()
    with throwaway_database("gridmap-bench-web-", "bench", port_from=55500,
                            keep=args.keep) as (cluster, url):
        run(args, cluster.data_dir.parent, url, t)


def run(args: argparse.Namespace, tmp: Path, url: str, t: float) -> None:
    """Seed the district, start gunicorn and measure the parts chosen with ``--only``."""
    gunicorn: subprocess.Popen[bytes] | None = None
    try:
        engine = make_engine(url)
        with engine.begin() as conn:
            bbox = seed(conn)
            users.add(conn, "bench_sup", PASSWORD, "supervisor",
                      streets=[f"110199{s:03d}" for s in range(1, STREETS + 1)])
        print(f"setup: cluster + schema + district {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        end = datetime.now(UTC)
        with engine.begin() as conn:
            n = synth.synthesise(conn, args.incidents, seed=1, start=end - timedelta(days=60),
                                 end=end)
            conn.execute(sa.text("ANALYZE incident"))
            conn.execute(sa.text("ANALYZE incident_event"))
        print(f"incidents: {n} synthesised in {time.perf_counter() - t:.1f} s")

        port = free_port(55500)
        env = dict(os.environ, DATABASE_URL=url, GRIDMAP_SECRET_KEY="bench-" + "x" * 40)
        gunicorn = subprocess.Popen(
            [str(REPO / ".venv/bin/gunicorn"), "-w", str(args.workers), "--threads", "4",
             "-b", f"127.0.0.1:{port}", "--log-level", "warning", "web:create_app()"],
            cwd=REPO, env=env)
        wait_http(port)
        base = f"http://127.0.0.1:{port}"
        for _ in range(2 * args.workers):  # a production server is warm: pools, imports
            wait_http(port)
        print(f"gunicorn: {args.workers} workers × 4 threads on {base}")

        parts = set(args.only.split(","))
        if "page" in parts:
            report_page(measure_page(base))
        if "heat" in parts:
            report_heat(measure_heat(base, login_cookie(port), bbox, engine))
        if "locate" in parts:
            report_locate(port, bbox, args, tmp)
        if "locate-load" in parts:
            report_locate_under_load(port, bbox, args, tmp, url)
    finally:
        if gunicorn is not None:
            gunicorn.send_signal(signal.SIGTERM)
            try:
                gunicorn.wait(15)
            except subprocess.TimeoutExpired:
                gunicorn.kill()


def report_page(page: dict[str, Any]) -> None:
    b = page["best"]
    print("\n== supervisor page (headless Chromium, cold cache, best of "
          f"{len(page['runs'])}) ==")
    for i, r in enumerate(page["runs"]):
        label = "cold server cache" if i == 0 else "aggregates cached"
        print(f"  run {i + 1} ({label}): FCP {r['fcp']:.0f} ms, heat drawn {r['ready'] or float('nan'):.0f} ms,"
              f" load {r['load']:.0f} ms, {r['bytes'] / 1e6:.2f} MB in {r['requests']}"
              f" requests, blocked non-local {r['blocked']}, shows '{r['count_text']}'")
    ok_paint = (b["ready"] or 1e9) <= 1500
    ok_bytes = b["bytes"] <= 2_000_000
    first = page["first"]["ready"] or float("nan")
    print(f"  first meaningful paint (heat drawn): cold {first:.0f} ms, best {b['ready']:.0f} ms "
          f"[target ≤ 1500 ms: {'OK' if ok_paint else 'MISSED'} (best), "
          f"{'OK' if first <= 1500 else 'MISSED'} (cold)]")
    print(f"  transferred: {b['bytes'] / 1e6:.2f} MB [target ≤ 2 MB: "
          f"{'OK' if ok_bytes else 'MISSED'}]")


def report_heat(heat: dict[str, Any]) -> None:
    print("\n== heat payload: aggregated vs raw GeoJSON of all incidents (baseline) ==")
    print(f"  aggregated: mode={heat['mode']}, {heat['cells']} cells for {heat['total']} "
          f"incidents, {heat['bytes'] / 1e3:.1f} kB, first (computed) {heat['cold_s'] * 1000:.0f} ms,"
          f" median of 5 {heat['median_s'] * 1000:.0f} ms (HTTP end to end; repeats hit the 15 s "
          f"aggregate cache)")
    print(f"  raw GeoJSON (SQL json_agg only, no HTTP): {heat['raw_bytes'] / 1e6:.2f} MB, "
          f"median {heat['raw_median_s'] * 1000:.0f} ms")
    print(f"  ratio: {heat['raw_bytes'] / max(heat['bytes'], 1):.0f}× smaller, "
          f"{heat['raw_median_s'] / max(heat['cold_s'], 1e-9):.1f}× faster uncached")


def login_cookie(port: int) -> str:
    """Log in through the form (with its CSRF token) and return the session cookie."""
    import re

    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/login")
    r = c.getresponse()
    html = r.read().decode()
    cookie = (r.getheader("Set-Cookie") or "").split(";")[0]
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    from urllib.parse import urlencode

    body = urlencode({"username": "bench_sup", "password": PASSWORD, "csrf_token": token})
    c.request("POST", "/login", body=body, headers={
        "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    r.read()
    return (r.getheader("Set-Cookie") or cookie).split(";")[0]



if __name__ == "__main__":
    main()

