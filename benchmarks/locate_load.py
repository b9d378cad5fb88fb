"""The ``/api/locate`` load generator of :mod:`benchmarks.bench_web`: an open-loop schedule
(latency from the scheduled send time, so queueing counts), ``wrk`` for saturation, and the
p99 quiet vs while ``gridmap batch locate`` runs (issue #18)."""

from __future__ import annotations

import http.client
import os
import random
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def pct(values: list[float], q: float) -> float:
    """The ``q``-th percentile by nearest rank."""
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def open_loop(port: int, bbox: tuple[float, float, float, float], rate: float, seconds: float,
              workers: int = 8) -> dict[str, Any]:
    """Fixed-rate schedule; latency counted from the scheduled time (no coordinated omission).

    With ``workers=1`` and a high rate this degenerates to back-to-back requests; latencies
    are then measured from each send (the schedule is ignored).
    """
    x0, y0, x1, y1 = bbox
    n = int(rate * seconds)
    rnd = random.Random(7)
    points = [(rnd.uniform(x0, x1), rnd.uniform(y0, y1)) for _ in range(n)]
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()
    idx = [0]
    start = time.perf_counter() + 0.2

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while True:
            with lock:
                i = idx[0]
                idx[0] += 1
            if i >= n:
                break
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            if workers == 1:
                due = time.perf_counter()
            lon, la = points[i]
            try:
                conn.request("GET", f"/api/locate?lon={lon:.6f}&lat={la:.6f}")
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
            except OSError:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                ok = False
            done = time.perf_counter()
            with lock:
                if ok:
                    lat.append((done - due) * 1000)
                else:
                    errors[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return {"requests": n, "errors": errors[0], "achieved_rps": len(lat) / elapsed,
            "p50_ms": pct(lat, 50), "p90_ms": pct(lat, 90), "p99_ms": pct(lat, 99),
            "max_ms": max(lat)}


WRK_LUA = """
math.randomseed(11)
request = function()
  local lon = %f + math.random() * %f
  local lat = %f + math.random() * %f
  return wrk.format("GET", string.format("/api/locate?lon=%%.6f&lat=%%.6f", lon, lat))
end
"""


def run_wrk(port: int, bbox: tuple[float, float, float, float], seconds: int, tmp: Path
            ) -> str:
    if not shutil.which("wrk"):
        return "wrk not installed"
    x0, y0, x1, y1 = bbox
    script = tmp / "locate.lua"
    script.write_text(WRK_LUA % (x0, x1 - x0, y0, y1 - y0))
    out = subprocess.run(
        ["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{port}"], capture_output=True, text=True, timeout=seconds + 30)
    return out.stdout


def report_locate(port: int, bbox: tuple[float, float, float, float], args: Any,
                  tmp: Path) -> None:
    print(f"\n== /api/locate open loop: {args.rate:.0f} req/s for {args.seconds:.0f} s "
          f"(after a 3 s warm-up; load average before: {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs) ==")
    open_loop(port, bbox, args.rate, 3.0)  # warm-up: pools, caches, first imports
    seq = open_loop(port, bbox, 1000.0, 0.3, workers=1)  # one at a time: the service time
    print(f"  sequential (1 connection, 300 requests): p50 {seq['p50_ms']:.1f} ms, "
          f"p99 {seq['p99_ms']:.1f} ms (service time without queueing)")
    res = open_loop(port, bbox, args.rate, args.seconds)
    ok_p99 = res["p99_ms"] <= 20 and res["errors"] == 0
    print(f"  {res['requests']} requests, {res['errors']} errors, achieved "
          f"{res['achieved_rps']:.0f} req/s")
    print(f"  latency p50 {res['p50_ms']:.1f} ms, p90 {res['p90_ms']:.1f} ms, "
          f"p99 {res['p99_ms']:.1f} ms, max {res['max_ms']:.1f} ms "
          f"[target p99 ≤ 20 ms: {'OK' if ok_p99 else 'MISSED'}]")
    wrk_secs = max(5, int(args.seconds // 2))
    print(f"\n== /api/locate saturation: wrk -t2 -c8 -d{wrk_secs}s (closed loop) ==")
    print(run_wrk(port, bbox, wrk_secs, tmp))


def report_locate_under_load(port: int, bbox: tuple[float, float, float, float], args: Any,
                             tmp: Path, url: str) -> None:
    """/api/locate p99 at ``rate`` req/s, quiet and while ``gridmap batch locate`` (a
    LocalCluster with one worker process, COPY of the results per partition) runs: same run,
    same server (issue #18: p99 ≤ 5 ms at 200 req/s during a bulk import or batch job)."""
    rnd = random.Random(3)
    x0, y0, x1, y1 = bbox
    csv = tmp / "batch_points.csv"
    with open(csv, "w") as fh:
        fh.write("lon,lat,reported_at\n")
        for _ in range(args.batch_points):
            fh.write(f"{rnd.uniform(x0, x1):.6f},{rnd.uniform(y0, y1):.6f},"
                     "2026-06-01T08:00:00+00:00\n")
    secs = min(args.seconds, 15.0)
    open_loop(port, bbox, args.rate, 3.0)
    quiet = open_loop(port, bbox, args.rate, secs)
    env = dict(os.environ, DATABASE_URL=url, GRIDMAP_LANG="en")
    job = subprocess.Popen([str(REPO / ".venv/bin/gridmap"), "batch", "locate", str(csv),
                            "--workers", "1", "--chunk-rows", "50000"], cwd=REPO, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(6.0)  # the file is read and the cluster started: partitions are running
    busy = open_loop(port, bbox, args.rate, secs)
    running = job.poll() is None
    out = job.communicate(timeout=900)[0].decode(errors="replace").strip().splitlines()
    print(f"\n== /api/locate at {args.rate:.0f} req/s for {secs:.0f} s, quiet vs during "
          f"`gridmap batch locate` of {args.batch_points} points (1 Dask worker) ==")
    for label, r in (("quiet", quiet), ("during batch job", busy)):
        print(f"  {label:17s}: p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
              f"errors {r['errors']}, achieved {r['achieved_rps']:.0f} req/s")
    ok = busy["p99_ms"] <= 5 and busy["errors"] == 0
    print(f"  ratio p99 busy/quiet {busy['p99_ms'] / max(quiet['p99_ms'], 1e-9):.2f}x; job still "
          f"running at the end of the window: {running} [target p99 ≤ 5 ms under load: "
          f"{'OK' if ok else 'MISSED'}]")
    print(f"  job: {out[-1] if out else '?'}")
