"""Benchmark: the 督办 scan (lights, reminders, escalations) over N open cases.

Run::

    .venv/bin/python benchmarks/bench_supervision.py               # 100,000 open cases
    .venv/bin/python benchmarks/bench_supervision.py --open 20000  # quick run

A throwaway PostGIS cluster (fsync off, like the tests) gets a synthetic org tree (one
district unit, ``--streets`` street centres serving their streets, 12 条 units per street,
a fifth of them with a webhook), N open dispatched cases spread over the units with
acceptance and handling deadlines such that about a third is unlit, a third yellow and a
third red at the scan instant, and ``--closed`` closed cases. Timed, each in its own
transaction:

- **cold scan**: the first scan lights everything (every lit case changes light, is
  reminded, red cases are escalated: the worst case);
- **steady scan**: one minute later (nothing changes; no reminder is due);
- **reminder scan**: one reminder interval later (every lit case reminded again);
- **baseline**: the same steps written as a per-case loop (one SELECT of the lit set, then
  per case an upsert, a notification, an event and, for red cases, an escalation) on a
  sample of ``--sample`` lit cases, extrapolated to the lit count of the cold scan.

Target (issue #13): the scan over 100,000 open cases ≤ 5 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import throwaway_database  # noqa: E402
from gridmap.db import make_engine  # noqa: E402
from gridmap.supervision import scan  # noqa: E402
from gridmap.supervision.params import ScanParams  # noqa: E402

NOW = dt.datetime(2025, 11, 20, 2, 0, tzinfo=dt.UTC)

_WORLD = """
INSERT INTO district (code, name, geom) VALUES ('319801', 'bench',
    ST_Multi(ST_MakeEnvelope(121.3, 31.1, 121.5, 31.3, 4326)));
INSERT INTO street (code, name, district_id, geom)
SELECT '319801' || lpad(s::text, 3, '0'), 'S' || s, (SELECT id FROM district WHERE code = '319801'),
       ST_Multi(ST_MakeEnvelope(121.3 + s * 0.001, 31.1, 121.301 + s * 0.001, 31.3, 4326))
FROM generate_series(1, :streets) s;
INSERT INTO org_unit (code, name, kind, line, level) VALUES ('B-D', 'district', 'district', 'kuai', 'district');
INSERT INTO org_unit (code, name, kind, line, level, parent_id)
SELECT 'B-S' || s.code, 'centre ' || s.name, 'street_centre', 'kuai', 'street',
       (SELECT id FROM org_unit WHERE code = 'B-D') FROM street s WHERE s.code LIKE '319801%';
INSERT INTO org_unit_area (unit_id, area_level, area_code)
SELECT u.id, 'street', substr(u.code, 4) FROM org_unit u WHERE u.code LIKE 'B-S%';
INSERT INTO org_unit (code, name, kind, line, level, parent_id, webhook_url, webhook_secret)
SELECT 'B-T' || u.id || '-' || k, 'line ' || k, 'tiao', 'tiao', 'street', u.id,
       CASE WHEN k % 5 = 0 THEN 'http://127.0.0.1:9/hook' END, 'secret'
FROM org_unit u CROSS JOIN generate_series(1, 12) k WHERE u.code LIKE 'B-S%';
"""

_CASES = """
WITH units AS (
    SELECT row_number() OVER (ORDER BY t.id) - 1 AS k, t.id AS unit_id, s.id AS street_id
    FROM org_unit t JOIN org_unit c ON c.id = t.parent_id
    JOIN street s ON s.code = substr(c.code, 4) WHERE t.code LIKE 'B-T%'
), n AS (SELECT count(*) AS n FROM units)
INSERT INTO incident (case_no, category_code, source, urgency, state, reported_at, geom,
                      street_id, unit_id, filed_at, dispatched_at, due_at, accept_due_at,
                      accepted_at)
SELECT 'B' || g, 'E0102', 'patrol', CASE WHEN g % 10 = 0 THEN 'urgent' ELSE 'normal' END,
       CASE WHEN g % 2 = 0 THEN 'dispatched' ELSE 'handling' END,
       d - interval '10 minutes', ST_SetSRID(ST_MakePoint(121.4, 31.2), 4326),
       u.street_id, u.unit_id, d - interval '5 minutes', d, d + interval '10 hours',
       CASE WHEN g % 2 = 0 THEN d + interval '10 hours' END,
       CASE WHEN g % 2 = 1 THEN d + interval '1 hour' END
FROM generate_series(1, :n) g
CROSS JOIN LATERAL (SELECT :now - make_interval(secs => 36000 * (0.5 + (g % 3) * 0.45)) AS d) t
JOIN units u ON u.k = g % (SELECT n FROM n)
"""
# g % 3 = 0 → 5 h of 10 gone (unlit), 1 → 9.5 h gone (yellow), 2 → 14 h gone (red)

_CLOSED = """
INSERT INTO incident (case_no, category_code, source, urgency, state, reported_at, geom,
                      dispatched_at, due_at, closed_at)
SELECT 'C' || g, 'E0102', 'patrol', 'normal', 'closed', :now - interval '30 days',
       ST_SetSRID(ST_MakePoint(121.4, 31.2), 4326), :now - interval '29 days',
       :now - interval '20 days', :now - interval '21 days'
FROM generate_series(1, :n) g
"""


def build(url: str, streets: int, n_open: int, n_closed: int) -> None:
    """The org tree and the cases (one transaction), then ANALYZE."""
    eng = make_engine(url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        for stmt in _WORLD.split(";\n"):
            if stmt.strip():
                conn.execute(sa.text(stmt), {"streets": streets})
        conn.execute(sa.text(_CASES), {"n": n_open, "now": NOW})
        conn.execute(sa.text(_CLOSED), {"n": n_closed, "now": NOW})
    with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    eng.dispose()


def timed_scan(url: str, at: dt.datetime, params: ScanParams) -> tuple[float, dict[str, object]]:
    """One scan in its own committed transaction; seconds and the scan's counts."""
    eng = make_engine(url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        conn.execute(sa.text("SELECT 1"))
        t0 = time.perf_counter()
        steps: dict[str, float] = {}
        out = scan.scan(conn, at, params, timings=steps)
        took = time.perf_counter() - t0
    eng.dispose()
    out.pop("escalated_ids", None)
    out["steps"] = steps
    return took, out


def baseline(url: str, at: dt.datetime, params: ScanParams, sample: int) -> tuple[float, int]:
    """The per-case loop on ``sample`` lit cases (rolled back); seconds per case and the
    number of cases it handled."""
    eng = make_engine(url, poolclass=sa.pool.NullPool)
    with eng.connect() as conn:
        trans = conn.begin()
        t0 = time.perf_counter()
        lit = conn.execute(sa.text(
            scan._LIT + " SELECT * FROM lit LIMIT :lim"),  # noqa: S608, SLF001 - same lit set
            {"now": at, "share": params.supervise_yellow_share,
             "states": list(scan.SUPERVISED_STATES), "lim": sample}).mappings().all()
        for r in lit:
            conn.execute(sa.text(
                "INSERT INTO supervision (incident_id, light, since, unit_id) "
                "VALUES (:i, :l, :t, :u) ON CONFLICT (incident_id) DO UPDATE "
                "SET light = EXCLUDED.light, since = EXCLUDED.since"),
                {"i": r["incident_id"], "l": r["light"], "t": at, "u": r["unit_id"]})
            targets = [r["unit_id"]] + ([r["parent_id"], r["centre_id"]]
                                        if r["light"] == "red" else [])
            for u in targets:
                conn.execute(sa.text(
                    "INSERT INTO notification (unit_id, incident_id, kind, params, created_at) "
                    "VALUES (:u, :i, :k, CAST(:p AS jsonb), :t)"),
                    {"u": u, "i": r["incident_id"], "k": "supervise." + r["light"],
                     "p": json.dumps({"case_no": r["case_no"]}), "t": at})
            conn.execute(sa.text(
                "INSERT INTO incident_event (incident_id, at, actor, from_state, to_state, data) "
                "VALUES (:i, :t, 'system', :s, :s, CAST(:d AS jsonb))"),
                {"i": r["incident_id"], "t": at, "s": r["state"],
                 "d": json.dumps({"kind": "supervise.light", "light": r["light"]})})
            if r["light"] == "red":
                conn.execute(sa.text(
                    "UPDATE supervision SET escalated_to = :p, escalated_at = :t "
                    "WHERE incident_id = :i"),
                    {"p": r["parent_id"], "t": at, "i": r["incident_id"]})
        took = time.perf_counter() - t0
        trans.rollback()
    eng.dispose()
    return took / max(len(lit), 1), len(lit)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--open", type=int, default=100_000, help="open cases")
    ap.add_argument("--closed", type=int, default=200_000, help="closed cases")
    ap.add_argument("--streets", type=int, default=16)
    ap.add_argument("--sample", type=int, default=2_000, help="baseline sample size")
    ap.add_argument("--keep", action="store_true", help="keep the cluster directory")
    args = ap.parse_args()
    params = ScanParams()
    with throwaway_database("gridmap-bench-supervise-", keep=args.keep,
                            port_from=57300) as (_, url):
        t0 = time.perf_counter()
        build(url, args.streets, args.open, args.closed)
        print(f"state: {args.open:,} open + {args.closed:,} closed cases, {args.streets} "
              f"streets, {args.streets * 13 + 1} units (built in {time.perf_counter() - t0:.1f} s)")
        per_case, n = baseline(url, NOW, params, args.sample)
        runs = [("cold scan", NOW), ("steady scan (+1 min)", NOW + dt.timedelta(minutes=1)),
                ("reminder scan (+interval)",
                 NOW + dt.timedelta(hours=params.supervise_remind_hours, minutes=2))]
        cold = None
        for name, at in runs:
            took, out = timed_scan(url, at, params)
            cold = cold or (took, out)
            print(f"{name:28s} {took:6.2f} s  {json.dumps(out)}")
        assert cold is not None
        lit = int(cold[1]["yellow"]) + int(cold[1]["red"])  # type: ignore[call-overload]
        base = per_case * lit
        print(f"baseline per-case loop      {base:6.2f} s  (extrapolated from {n:,} cases, "
              f"{per_case * 1000:.2f} ms/case, to {lit:,} lit cases)")
        print(f"cold scan vs baseline: {base / cold[0]:.1f}x faster; target ≤ 5 s: "
              f"{'met' if cold[0] <= 5 else 'NOT met'}")


if __name__ == "__main__":
    main()
