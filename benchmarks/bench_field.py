"""Phone page benchmark (issue #14): first load of ``/field`` on a throttled "Slow 4G" link.

One command::

    .venv/bin/python benchmarks/bench_field.py [--runs 5] [--workers 2]

What it does, all on loopback in a throwaway directory:

1. starts its own PostGIS cluster, migrates it, loads the catalogues and the hand-made
   street of the tests (units, staff, grid workers, routing rules) plus 500 cases, so the
   category list has common ones;
2. starts gunicorn (the production server, 2 workers × 4 threads) on a free port;
3. headless Chromium (Debian's /usr/bin/chromium through Playwright, every non-local request
   aborted) with a phone context (390×844, touch, zh-CN, a fixed geolocation) logs in as the
   grid worker, then, with a cold cache and the link throttled through CDP
   ``Network.emulateNetworkConditions`` to Chrome DevTools' **Slow 4G** preset (latency
   150 ms × 3.75 = 562.5 ms, download 1.6 Mbit/s × 0.9, upload 750 kbit/s × 0.9), opens
   ``/field`` and waits until the form is usable (the ``field-ready`` mark: the form with its
   categories and the phone's position) and the map is drawn (``field-map``: Leaflet loaded,
   marker placed), then for the network to go idle (basemap tiles). Reported: first
   contentful paint, ready, map, bytes transferred (resource timing transfer sizes, all
   requests until idle), requests;
4. **baseline in the same run**: the same page and link, unthrottled, so the ratio shows
   what the link costs.

Targets: ready ≤ 1.5 s and ≤ 500 kB on Slow 4G (median and best of the runs reported; the
map arrives after the form, its time is reported too).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402

from benchmarks.bench_web import CHROMIUM, CHROMIUM_ARGS, wait_http  # noqa: E402
from benchmarks.common import throwaway_database  # noqa: E402
from gridmap.db.engine import free_port, make_engine  # noqa: E402
from tests.fixtures.dispatch_world import POINTS, build_dispatch_world, case  # noqa: E402
from tests.fixtures.org_world import PASSWORD  # noqa: E402

SLOW_4G = {"offline": False, "latency": 150 * 3.75,
           "downloadThroughput": 1.6 * 1000 * 1000 / 8 * 0.9,
           "uploadThroughput": 750 * 1000 / 8 * 0.9}
"""Chrome DevTools' "Slow 4G" preset (NetworkConditions.ts: latency in ms, bytes/s)."""
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "locale": "zh-CN", "permissions": ["geolocation"],
         "geolocation": {"latitude": POINTS["E1"][1], "longitude": POINTS["E1"][0],
                         "accuracy": 12}}
PERF = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const fcp = performance.getEntriesByType('paint').find(p => p.name === 'first-contentful-paint');
  const res = performance.getEntriesByType('resource');
  const ready = performance.getEntriesByName('field-ready')[0];
  const map = performance.getEntriesByName('field-map')[0];
  return {fcp: fcp ? fcp.startTime : null, ready: ready ? ready.startTime : null,
          map: map ? map.startTime : null,
          dcl: nav.domContentLoadedEventEnd, requests: res.length + 1,
          bytes: nav.transferSize + res.reduce((a, r) => a + r.transferSize, 0),
          resources: res.map(r => [r.name.replace(location.origin, ''), r.transferSize,
                                   Math.round(r.responseEnd)])};
}"""


def seed(url: str, cases: int) -> None:
    """The test street, its staff and rules, and ``cases`` reported cases."""
    eng = make_engine(url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        build_dispatch_world(conn)
        cats = ("E0102", "E0101", "E0102", "E0103")
        for n in range(cases):
            case(conn, grid=("E1", "E2", "W1", "W2")[n % 4], category=cats[n % len(cats)])
        conn.execute(sa.text("ANALYZE"))
    eng.dispose()


def one_load(browser: Any, base: str, throttle: dict[str, Any] | None) -> dict[str, Any]:
    """Log in, then open /field with a cold cache (throttled if asked); the timings."""
    ctx = browser.new_context(**PHONE, service_workers="block")
    page = ctx.new_page()
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base) else r.abort())
    page.goto(f"{base}/login")
    page.fill('input[name="username"]', "ow_gw_e")
    page.fill('input[name="password"]', PASSWORD)
    with page.expect_navigation():
        page.click('button[type="submit"]')
    page.goto("about:blank")
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.clearBrowserCache")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    if throttle:
        cdp.send("Network.emulateNetworkConditions", throttle)
    t0 = time.perf_counter()
    page.goto(f"{base}/field", wait_until="commit")
    page.wait_for_selector("body[data-ready='1'][data-map='1']", timeout=60_000)
    page.wait_for_load_state("networkidle")
    perf: dict[str, Any] = page.evaluate(PERF)
    perf["wall"] = (time.perf_counter() - t0) * 1000
    if throttle:
        shots = REPO / "test-output" / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "field_bench_slow4g.png"))
    ctx.close()
    return perf


def measure(base: str, runs: int) -> dict[str, list[dict[str, Any]]]:
    from playwright.sync_api import sync_playwright

    out: dict[str, list[dict[str, Any]]] = {"slow4g": [], "unthrottled": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        one_load(browser, base, None)  # warm the server (imports, pools), not measured
        for _ in range(runs):
            out["unthrottled"].append(one_load(browser, base, None))
            out["slow4g"].append(one_load(browser, base, SLOW_4G))
        browser.close()
    return out


def report(res: dict[str, list[dict[str, Any]]]) -> None:
    print("\n== /field first load, phone 390×844, cold cache ==")
    med: dict[str, float] = {}
    for name, runs in res.items():
        ready = [r["ready"] for r in runs]
        med[name] = statistics.median(ready)
        kb = max(r["bytes"] for r in runs) / 1000
        print(f"{name:12s} ready median {med[name]:7.0f} ms  best {min(ready):7.0f} ms  "
              f"FCP median {statistics.median(r['fcp'] or 0 for r in runs):6.0f} ms  "
              f"map median {statistics.median(r['map'] or 0 for r in runs):6.0f} ms  "
              f"{kb:6.1f} kB  {runs[0]['requests']} requests")
    slow = res["slow4g"]
    kb = max(r["bytes"] for r in slow) / 1000
    ok = med["slow4g"] <= 1500 and kb <= 500
    print(f"ratio slow4g / unthrottled (median ready): {med['slow4g'] / med['unthrottled']:.1f}×")
    print(f"target ready ≤ 1500 ms and ≤ 500 kB on Slow 4G: {'OK' if ok else 'MISSED'} "
          f"(median {med['slow4g']:.0f} ms, {kb:.1f} kB)")
    print("\nresources of the first Slow 4G run (path, bytes, done at ms):")
    for name, size, end in slow[0]["resources"]:
        print(f"  {size:8d}  {end:6d}  {name[:90]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cases", type=int, default=500)
    args = ap.parse_args()
    with throwaway_database("gridmap-bench-field-", port_from=56700) as (cluster, url):
        seed(url, args.cases)
        port = free_port(55600)
        env = dict(os.environ, DATABASE_URL=url, GRIDMAP_SECRET_KEY="bench-" + "x" * 40,
                   GRIDMAP_DATA_DIR=str(cluster.data_dir.parent / "data"))
        server = subprocess.Popen(
            [str(REPO / ".venv/bin/gunicorn"), "-w", str(args.workers), "--threads", "4",
             "-b", f"127.0.0.1:{port}", "--log-level", "warning", "web:create_app()"],
            cwd=REPO, env=env)
        try:
            wait_http(port)
            report(measure(f"http://127.0.0.1:{port}", args.runs))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(15)


if __name__ == "__main__":
    main()
