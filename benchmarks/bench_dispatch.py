"""Benchmark: the dispatch engine with 1,000,000 cases stored.

One command::

    .venv/bin/python benchmarks/bench_dispatch.py [--cases 1000000] [--open 100000]

Builds a synthetic district (20 streets, 200 communities, 2,000 grids), its units (district
centre, 20 street centres, 200 community committees, 100 条 units), 62 routing rules and
``--cases`` cases (``--open`` of them open, the rest closed, one event each), then measures

1. **a transition including rule matching and notifications**: 立案 (rules propose the unit,
   initial level, recurrence check), 派遣 (接单 clock, notification + webhook queue), 接单,
   each in its own transaction like an API request; p50/p95 per step. Baseline in the same
   run: the bare :func:`gridmap.incidents.workflow.transition` of the same steps.
   Target: p95 ≤ 50 ms per step.
2. **rules re-run over the open cases** (:func:`gridmap.dispatch.rules.rerun`) after a new
   rule set changes most proposals, and again with nothing to change. Baseline in the same
   run: a bare ``UPDATE`` touching the same open rows. Target ≤ 5 s for 100,000 open cases.
3. For information: :func:`gridmap.dispatch.levels.raise_overdue` over the open cases.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import throwaway_database  # noqa: E402
from gridmap.db import make_engine  # noqa: E402
from gridmap.dispatch import engine, levels, rules  # noqa: E402
from gridmap.incidents import workflow  # noqa: E402
from gridmap.incidents.states import OPEN_STATES  # noqa: E402
from gridmap.reference import workcal  # noqa: E402
from gridmap.supervision import notify  # noqa: E402

STREETS, COMMUNITIES, GRIDS = 20, 10, 10          # per district / street / community
X0, Y0, DX = 121.0, 31.0, 0.01                     # street i: lon X0 + i*DX; community j: lat
NOW = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)

GEOGRAPHY_SQL = [
    "INSERT INTO district (id, code, name, synthetic, geom) VALUES (1, '319997', '基准区', true,"
    " ST_Multi(ST_MakeEnvelope(121.0, 31.0, 121.2, 31.1, 4326)))",
    "INSERT INTO street (id, code, name, district_id, synthetic, geom) SELECT s, "
    "'319997' || lpad(s::text, 3, '0'), '街道' || s, 1, true, ST_Multi(ST_MakeEnvelope("
    "121.0 + (s - 1) * 0.01, 31.0, 121.0 + s * 0.01, 31.1, 4326)) FROM generate_series(1, :ns) s",
    "INSERT INTO community (id, code, name, street_id, synthetic, geom) SELECT (s - 1) * :nc + c,"
    " '319997' || lpad(s::text, 3, '0') || lpad(c::text, 3, '0'), '社区' || s || '-' || c, s,"
    " true, ST_Multi(ST_MakeEnvelope(121.0 + (s - 1) * 0.01, 31.0 + (c - 1) * 0.01,"
    " 121.0 + s * 0.01, 31.0 + c * 0.01, 4326))"
    " FROM generate_series(1, :ns) s, generate_series(1, :nc) c",
    "INSERT INTO grid (id, community_id, grid_seq, grid_code, name, synthetic) SELECT"
    " (cm.id - 1) * :ng + g, cm.id, g, cm.code || lpad(g::text, 3, '0'), '网格' || g, true"
    " FROM community cm, generate_series(1, :ng) g",
]
UNITS_SQL = [
    "INSERT INTO org_unit (id, code, name, kind, line, level) VALUES"
    " (1, 'QU', '区城运中心', 'district', 'kuai', 'district')",
    "INSERT INTO org_unit_area VALUES (1, 'district', '319997')",
    "INSERT INTO org_unit (id, code, name, kind, line, level, parent_id) SELECT 1 + id,"
    " 'JD' || id, name || '综治中心', 'street', 'kuai', 'street', 1 FROM street",
    "INSERT INTO org_unit_area SELECT 1 + id, 'street', code FROM street",
    "INSERT INTO org_unit (id, code, name, kind, line, level, parent_id) SELECT 1000 + id,"
    " 'JW' || id, name || '居委会', 'community', 'kuai', 'community', 1 + street_id"
    " FROM community",
    "INSERT INTO org_unit_area SELECT 1000 + id, 'community', code FROM community",
    "INSERT INTO org_unit (id, code, name, kind, line, level, parent_id) SELECT"
    " 5000 + s.id * 10 + k, 'T' || s.id || '-' || k, s.name || '条线' || k, 'tiao' || k, 'tiao',"
    " 'street', 1 + s.id FROM street s, generate_series(1, 5) k",
    "INSERT INTO org_unit_area SELECT 5000 + s.id * 10 + k, 'street', s.code"
    " FROM street s, generate_series(1, 5) k",
]
CASES_SQL = """
INSERT INTO incident (id, category_code, source, urgency, state, description, reported_at,
                      geom, street_id, community_id, grid_id, synthetic, level)
SELECT n, cats[1 + n % array_length(cats, 1)],
       (ARRAY['patrol','hotline_12345','public','video'])[1 + n % 4],
       (ARRAY['normal','normal','key','urgent'])[1 + (n / 7) % 4],
       CASE WHEN n <= :open THEN (ARRAY['filed','dispatched','handling','handled'])[1 + n % 4]
            ELSE 'closed' END,
       CASE WHEN n % 5 = 0 THEN '楼道漏水' ELSE '巡查发现' END,
       :now - make_interval(mins => (n * 37) % 1000000),
       ST_SetSRID(ST_MakePoint(121.0 + (gs - 1) * 0.01 + (gg - 1) * 0.001 + 0.0005
                               + ((n * 13) % 9 - 4) * 0.0001,
                               31.0 + (gc - 1) * 0.01 + 0.005 + ((n * 7) % 9 - 4) * 0.0005),
                   4326),
       gs, (gs - 1) * :nc + gc, ((gs - 1) * :nc + gc - 1) * :ng + gg, true, 'grid'
FROM (SELECT n, 1 + n % :ns AS gs, 1 + (n / :ns) % :nc AS gc, 1 + (n / (:ns * :nc)) % :ng AS gg
      FROM generate_series(1, :cases) n) t,
     (SELECT array_agg(code ORDER BY code) AS cats FROM event_category
      WHERE parent_code IS NOT NULL) c
"""
EVENTS_SQL = ("INSERT INTO incident_event (incident_id, at, actor, from_state, to_state) "
              "SELECT id, reported_at, 'bench', NULL, 'reported' FROM incident")


def rule_rows(conn: sa.Connection, variant: int) -> list[dict[str, Any]]:
    """62 rules: 3 per street (城管 for 私搭乱建, 房管 for leaks, a 条 unit per class), 2 global
    (variant 1: other units, plus a catch-all rule)."""
    out: list[dict[str, Any]] = []
    for code, sid in conn.execute(sa.text("SELECT code, id FROM street ORDER BY id")):
        out += [{"category": "E0101", "area_code": code, "unit": f"T{sid}-{1 + variant}"},
                {"category": "E01", "keywords": "漏水|渗水", "unit": f"T{sid}-2"},
                {"category": "C0" + str(1 + variant), "area_code": code, "unit": f"T{sid}-3"}]
    out += [{"urgency": "urgent", "source": "hotline_12345", "unit": "QU", "level": "district"},
            {"category": "E04", "unit": "QU", "level": "street"}]
    if variant:   # a catch-all last rule: most proposals change (the worst re-run)
        out.append({"unit": "QU"})
    return out


def build(url: str, n_cases: int, n_open: int) -> None:
    eng = make_engine(url, poolclass=sa.pool.NullPool)
    p = {"ns": STREETS, "nc": COMMUNITIES, "ng": GRIDS, "cases": n_cases, "open": n_open,
         "now": NOW}
    with eng.begin() as conn:
        for sql in GEOGRAPHY_SQL + UNITS_SQL:
            conn.execute(sa.text(sql), p)
        conn.execute(sa.text(CASES_SQL), p)
        conn.execute(sa.text(EVENTS_SQL))
        conn.execute(sa.text("SELECT setval('incident_id_seq', (SELECT max(id) FROM incident))"))
        conn.execute(sa.text("UPDATE incident SET state = 'reported' WHERE id IN "
                             "(SELECT id FROM incident WHERE state = 'filed' LIMIT 1000)"))
        rules.create_set(conn, rule_rows(conn, 0), actor="bench", activate=True)
    with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    eng.dispose()


def _pct(xs: list[float]) -> str:
    q = statistics.quantiles(xs, n=20)
    return f"p50 {statistics.median(xs):6.1f} ms  p95 {q[18]:6.1f} ms"


def time_steps(eng: sa.Engine, ids: list[int],
               steps: list[tuple[str, Callable[[sa.Connection, int], Any]]]
               ) -> dict[str, list[float]]:
    """Each step of each case in its own transaction (an API request); ms per step."""
    out: dict[str, list[float]] = {name: [] for name, _ in steps}
    for i in ids:
        for name, fn in steps:
            t = time.perf_counter()
            with eng.begin() as conn:
                fn(conn, i)
            out[name].append((time.perf_counter() - t) * 1000)
    return out


def bench_transitions(url: str, samples: int) -> tuple[dict[str, list[float]],
                                                       dict[str, list[float]]]:
    eng = make_engine(url, pool_size=2)
    with eng.connect() as conn:
        ids = [int(r[0]) for r in conn.execute(sa.text(
            "SELECT id FROM incident WHERE state = 'reported' ORDER BY id LIMIT :n"),
            {"n": 2 * samples})]
        cal = workcal.calendar_from_db(conn)
    at = NOW
    ours = time_steps(eng, ids[:samples], [
        ("立案 file + rules + level", lambda c, i: engine.file(c, i, actor="bench", at=at)),
        ("派遣 dispatch + notify", lambda c, i: engine.dispatch(
            c, i, actor="bench", at=at, calendar=cal, notify=notify.send)),
        ("接单 accept", lambda c, i: engine.accept(c, i, actor="bench", at=at)),
    ])
    base = time_steps(eng, ids[samples:], [
        ("立案 bare transition", lambda c, i: workflow.transition(c, i, "filed", actor="b", at=at)),
        ("派遣 bare transition", lambda c, i: workflow.transition(
            c, i, "dispatched", actor="b", at=at, calendar=cal)),
        ("接单 bare transition", lambda c, i: workflow.transition(c, i, "handling", actor="b",
                                                                 at=at)),
    ])
    eng.dispose()
    return ours, base


def bench_rerun(url: str) -> dict[str, float]:
    eng = make_engine(url, poolclass=sa.pool.NullPool)
    out: dict[str, float] = {}
    with eng.begin() as conn:
        rules.rerun(conn)                      # proposals of the active set everywhere
    with eng.begin() as conn:
        rules.create_set(conn, rule_rows(conn, 1), actor="bench", activate=True)
    for label in ("rerun, new rule set", "rerun, nothing changed"):
        t = time.perf_counter()
        with eng.begin() as conn:
            changed = rules.rerun(conn)
        out[label] = time.perf_counter() - t
        out[label + " (cases changed)"] = len(changed)
    t = time.perf_counter()
    with eng.begin() as conn:
        n = conn.execute(sa.text("UPDATE incident SET proposed_unit_id = proposed_unit_id "
                                 "WHERE state = ANY(:o)"), {"o": list(OPEN_STATES)}).rowcount
    out["baseline: bare UPDATE of the open rows"] = time.perf_counter() - t
    out["open cases"] = n
    t = time.perf_counter()
    with eng.begin() as conn:
        raised = levels.raise_overdue(conn, NOW + dt.timedelta(days=30))
    out["raise_overdue"] = time.perf_counter() - t
    out["raise_overdue (cases raised)"] = len(raised)
    eng.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--open", type=int, default=100_000)
    ap.add_argument("--samples", type=int, default=200, help="0: skip the transitions")
    args = ap.parse_args()
    with throwaway_database("gridmap-bench-dispatch-", "bench", port_from=56200) as (_, url):
        t = time.perf_counter()
        build(url, args.cases, args.open)
        print(f"built {args.cases:,} cases ({args.open:,} open), 2,000 grids, 321 units, "
              f"62 rules in {time.perf_counter() - t:.0f} s")
        ours, base = bench_transitions(url, args.samples) if args.samples else ({}, {})
        print(f"\n1. transitions, {args.samples} cases each, one transaction per step:")
        for (name, xs), (bname, bxs) in zip(ours.items(), base.items(), strict=True):
            ratio = statistics.quantiles(xs, n=20)[18] / statistics.quantiles(bxs, n=20)[18]
            print(f"  {name:<28} {_pct(xs)}   | {bname:<20} {_pct(bxs)}  (p95 ×{ratio:.1f})")
        print("\n2. rules re-run over the open cases:")
        for k, v in bench_rerun(url).items():
            print(f"  {k:<45} {v:10.2f}" if isinstance(v, float) else f"  {k:<45} {v:>10,}")


if __name__ == "__main__":
    main()
