"""Section 3 of :mod:`benchmarks.bench_cases`: one request of each kind (list, list by a road,
case page, transition, heat) in-process through the Flask test client — server CPU time,
statements and pooled connections per request, with the scope cache off as the same-run
baseline."""

from __future__ import annotations

import os
import re
import statistics
import time
from typing import Any

import sqlalchemy as sa


def _request_kinds(url: str, password: str, road: str) -> tuple[Any, dict[str, Any]]:
    """A Flask test client logged in as the bench supervisor and one request of each kind."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("GRIDMAP_SECRET_KEY", "bench-" + "x" * 40)
    from web import create_app

    app = create_app()
    c, b = app.test_client(), "https://localhost"
    tok = re.search(r'name="csrf-token" content="([^"]+)"',  # type: ignore[union-attr]
                    c.get("/login", base_url=b).text).group(1)
    c.post("/login", data={"username": "bench_sup", "password": password, "csrf_token": tok},
           base_url=b, headers={"Referer": b + "/login"})
    tok = re.search(r'name="csrf-token" content="([^"]+)"',  # type: ignore[union-attr]
                    c.get("/cases", base_url=b).text).group(1)
    with app.extensions["gridmap.engine"].connect() as conn:
        own = int(conn.execute(sa.text(
            "SELECT id FROM incident WHERE state = 'handling' ORDER BY id LIMIT 1")).scalar_one())
    st = {"v": (c.get(f"/api/cases/{own}", base_url=b).json or {})["case"]["lock_version"], "p": False}

    def transition() -> Any:
        r = c.post(f"/api/cases/{own}/act", base_url=b, json={
            "to": "handling" if st["p"] else "parked", "version": st["v"], "note": "bench"},
            headers={"X-CSRFToken": tok, "Referer": b + "/cases"})
        st["v"], st["p"] = (r.json or {})["case"]["lock_version"], not st["p"]
        return r

    return app, {
        "list": lambda: c.get("/api/cases?status=handling&community_id=17", base_url=b),
        "list q=road": lambda: c.get(f"/api/cases?q={road}", base_url=b),
        "case": lambda: c.get(f"/api/cases/{own + 40}", base_url=b),
        "transition": transition,
        "heat": lambda: c.get("/api/aggregates/heat?bbox=121.0,31.0,121.2,31.1&zoom=14"
                              "&window=30d", base_url=b)}


def measure_requests(url: str, runs: int, password: str, road: str) -> None:
    """One request of each kind in-process: CPU time of the process (the server's own work,
    less sensitive to other sessions than wall time), statements and pooled connections.
    Baseline in the same run: the scope cache off (:data:`web.access.SCOPE_TTL_S` = 0)."""
    import web.access

    app, kinds = _request_kinds(url, password, road)
    counts = {"sql": 0, "conn": 0}
    eng = app.extensions["gridmap.engine"]
    sa.event.listen(eng, "before_cursor_execute",
                    lambda *a: counts.__setitem__("sql", counts["sql"] + 1))
    sa.event.listen(eng.pool, "checkout",
                    lambda *a: counts.__setitem__("conn", counts["conn"] + 1))
    print(f"\n3. one request of each kind in-process (Flask test client), {runs} each: median "
          "CPU ms / wall ms, statements, pooled connections; baseline = scope cache off")
    ttl = web.access.SCOPE_TTL_S
    for kind, fn in kinds.items():
        line = f"   {kind:12s}"
        for label, value in (("baseline", 0.0), ("now", ttl)):
            web.access.SCOPE_TTL_S = value
            app.extensions.get("gridmap.scope_cache", {}).clear()
            fn()
            cpu, wall = [], []
            for _ in range(runs):
                counts.update(sql=0, conn=0)
                t, c0 = time.perf_counter(), time.process_time()
                assert fn().status_code == 200, kind
                cpu.append((time.process_time() - c0) * 1000)
                wall.append((time.perf_counter() - t) * 1000)
            line += (f"  {label} {statistics.median(cpu):5.1f} / {statistics.median(wall):5.1f} "
                     f"ms, {counts['sql']:2d} sql, {counts['conn']} conn")
        print(line)
    web.access.SCOPE_TTL_S = ttl
