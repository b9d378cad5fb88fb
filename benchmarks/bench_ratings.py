"""Benchmark: star ratings of every committee of a city from its cases and full coverage.

Run::

    .venv/bin/python benchmarks/bench_ratings.py                   # 6,500 committees, 10M cases
    .venv/bin/python benchmarks/bench_ratings.py --cases 1000000   # quick run

A throwaway PostGIS cluster (fsync off, like the tests) gets ``--committees`` committees in
streets of 100, ``--buildings`` residential buildings per committee with life-circle coverage
for every required facility type (``building_coverage``: 1 row per building × type, 90 %
covered), and ``--cases`` cases written with binary COPY (:mod:`gridmap.db.bulkcopy`) over
23 months: 40 % 12345 hotline, 10 % public, 50 % patrol; 2 % 违建 (E0101), 2 % 群租 / 电动车
充电; dispatched with acceptance and handling deadlines, most closed, many evaluated with a
satisfaction score. Timed:

- **compute**: :func:`gridmap.ratings.compute` of the 2026 验收评估 for all committees (measure
  in one statement over ``incident``, coverage gaps, scoring, one upsert of the drafts);
- **confirm** (``--confirm``): confirming every draft, which re-measures and freezes every
  case behind every rating in ``rating_case``;
- **baseline**: the per-committee loop a straightforward implementation would write (per
  committee one measuring query with the same expressions, one coverage query, scoring and
  an upsert) on ``--sample`` committees, extrapolated to all.

Target (issue #17): 6,500 committees from 10M cases and full coverage ≤ 10 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import throwaway_database  # noqa: E402
from gridmap import ratings  # noqa: E402
from gridmap.db import make_engine  # noqa: E402
from gridmap.db.bulkcopy import copy_frame, point_ewkb  # noqa: E402
from gridmap.ratings import measure, store  # noqa: E402

CST = dt.timezone(dt.timedelta(hours=8))
AS_OF = dt.datetime(2026, 11, 20, tzinfo=CST)
START = dt.datetime(2025, 1, 1, tzinfo=CST)
SPAN_S = int((dt.datetime(2026, 11, 15, tzinfo=CST) - START).total_seconds())

_WORLD = """
INSERT INTO district (code, name, geom) VALUES ('319801', 'bench',
    ST_Multi(ST_MakeEnvelope(121.0, 31.0, 122.0, 32.0, 4326)));
INSERT INTO street (code, name, district_id, geom)
SELECT '3198' || lpad(s::text, 5, '0'), 'S' || s, (SELECT id FROM district),
       ST_Multi(ST_MakeEnvelope(121.0 + s * 0.01, 31.0, 121.01 + s * 0.01, 31.1, 4326))
FROM generate_series(1, :streets) s;
INSERT INTO community (code, name, street_id, geom)
SELECT s.code || lpad(k::text, 3, '0'), s.name || '-' || k, s.id,
       ST_Multi(ST_MakeEnvelope(ST_XMin(s.geom), 31.0 + k * 0.0009, ST_XMax(s.geom),
                                31.0009 + k * 0.0009, 4326))
FROM street s CROSS JOIN generate_series(1, 100) k
WHERE (substr(s.code, 5)::int - 1) * 100 + k <= :committees;
INSERT INTO building (community_id, residential, residents, households, geom)
SELECT c.id, true, 60 + (b % 90), 25 + (b % 40),
       ST_Multi(ST_MakeEnvelope(121.5, 31.5, 121.5001, 31.5001, 4326))
FROM community c CROSS JOIN generate_series(1, :buildings) b;
INSERT INTO building_coverage (building_id, type_code, network_m, euclid_m, radius_m, covered)
SELECT b.id, t.code, 300, 250, t.radius_m, (hashint4(b.id * 31 + length(t.code)) % 10) <> 0
FROM building b CROSS JOIN facility_type t WHERE t.required;
INSERT INTO coverage_run (network_fingerprint, facility_fingerprint, speed_m_per_min)
VALUES ('bench', 'bench', 80);
"""


def build(url: str, committees: int, buildings: int, cases: int, chunk: int = 1_000_000) -> None:
    """The synthetic city; cases by binary COPY in chunks."""
    eng = make_engine(url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        for stmt in _WORLD.split(";\n"):
            if stmt.strip():
                conn.execute(sa.text(stmt), {"streets": (committees + 99) // 100,
                                             "committees": committees, "buildings": buildings})
        comm = np.array(conn.execute(sa.text(
            "SELECT c.id, c.street_id FROM community c ORDER BY c.id")).all(), dtype=np.int64)
    rng = np.random.default_rng(17)
    for lo in range(0, cases, chunk):
        n = min(chunk, cases - lo)
        frame = _cases(rng, comm, lo, n)
        with eng.begin() as conn:
            copy_frame(conn, "incident", list(frame.columns) + ["geom"], frame, _KINDS,
                       {"geom": point_ewkb(np.full(n, 121.5), np.full(n, 31.5))})
    with eng.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
    eng.dispose()


_KINDS = {"case_no": "text", "category_code": "text", "source": "text", "state": "text",
          "reported_at": "ts", "community_id": "int4", "street_id": "int4",
          "dispatched_at": "ts", "accept_due_at": "ts", "accepted_at": "ts", "due_at": "ts",
          "closed_at": "ts", "evaluated_at": "ts", "satisfaction_score": "int2",
          "solved": "bool"}


def _ts(seconds: np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(START.timestamp() + seconds, unit="s", utc=True))


def _cases(rng: np.random.Generator, comm: np.ndarray, lo: int, n: int) -> pd.DataFrame:
    pick = rng.integers(0, len(comm), n)
    rep = rng.integers(0, SPAN_S, n).astype(float)
    src = rng.choice(np.array(["hotline_12345", "public", "patrol"]), n, p=[0.4, 0.1, 0.5])
    cat = rng.choice(np.array(["E0102", "E0101", "E0601", "E0603"]), n, p=[0.96, 0.02, 0.01, 0.01])
    disp = rep + 1800.0
    closed = rng.random(n) < 0.93
    evaluated = closed & (rng.random(n) < 0.6)
    close_t = disp + rng.exponential(3 * 86400.0, n)
    return pd.DataFrame({
        "case_no": pd.Series(np.char.add("B", np.arange(lo, lo + n).astype(str))),
        "category_code": cat, "source": src,
        "state": np.where(evaluated, "evaluated", np.where(closed, "closed", "dispatched")),
        "reported_at": _ts(rep), "community_id": comm[pick, 0], "street_id": comm[pick, 1],
        "dispatched_at": _ts(disp), "accept_due_at": _ts(disp + 3600),
        "accepted_at": _ts(disp + rng.exponential(2400.0, n)),
        "due_at": _ts(disp + 5 * 86400), "closed_at": _ts(close_t).where(closed),
        "evaluated_at": _ts(close_t + 86400).where(evaluated),
        "satisfaction_score": pd.Series(rng.integers(2, 6, n)).where(evaluated),
        "solved": pd.Series(rng.random(n) < 0.9).where(evaluated)})


def timed_compute(url: str) -> tuple[float, list[store.Result]]:
    eng = make_engine(url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        t = time.perf_counter()
        res = ratings.compute(conn, 2026, "acceptance", as_of=AS_OF)
        elapsed = time.perf_counter() - t
    eng.dispose()
    return elapsed, res


def timed_confirm(url: str, codes: list[str]) -> float:
    eng = make_engine(url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO rating_entry (year, round, community_id, criterion, value, evidence,"
            " entered_by, entered_level) SELECT 2026, 'acceptance', c.id, k.code, k.v, 'bench',"
            " 'bench', 'district' FROM community c CROSS JOIN (VALUES ('conduct', 85.0),"
            " ('exemplary', 1.0), ('no_serious_violation', 1.0)) k(code, v)"))
        ratings.compute(conn, 2026, "acceptance", as_of=AS_OF)
        t = time.perf_counter()
        ratings.confirm(conn, ratings.OPERATOR, 2026, "acceptance", codes, as_of=AS_OF)
        elapsed = time.perf_counter() - t
    eng.dispose()
    return elapsed


_GAPS_ONE = """
SELECT bc.type_code, count(*), count(*) FILTER (WHERE bc.covered), sum(b.residents),
       sum(b.residents) FILTER (WHERE bc.covered)
FROM building_coverage bc JOIN building b ON b.id = bc.building_id
JOIN facility_type t ON t.code = bc.type_code AND t.required
WHERE b.community_id = :c GROUP BY 1
"""


def baseline(url: str, sample: int) -> tuple[float, int]:
    """Per-committee loop on ``sample`` committees; returns (seconds, committees timed)."""
    eng = make_engine(url, poolclass=sa.pool.NullPool)
    with eng.connect() as conn:
        every = store.committees(conn)
        comms = every[:: max(1, len(every) // sample)][:sample]
        sid, sch = ratings.scheme_for(conn, 2026, create=True)
        assert sid is not None
        period = store.period_of(sch, 2026, "acceptance", AS_OF)
        t = time.perf_counter()
        for c in comms:
            sums = measure.case_sums(conn, sch, period, [c.id])
            rows = conn.execute(sa.text(_GAPS_ONE), {"c": c.id}).all()
            gaps = {c.id: [{"type_code": r[0], "type_name": r[0], "share": (r[4] or 0) / (r[3] or 1),
                            "residents_affected": int(r[3] or 0) - int(r[4] or 0),
                            "buildings_affected": int(r[1]) - int(r[2])}
                           for r in rows if r[2] < r[1]]}
            res = store._results(sch, [c], sums, store.entries_of(conn, 2026, "acceptance",
                                                                   [c.id]), gaps)
            store.write_drafts(conn, 2026, "acceptance", sid, period, res)
        elapsed = time.perf_counter() - t
        conn.rollback()
    eng.dispose()
    return elapsed, len(comms)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--committees", type=int, default=6500)
    ap.add_argument("--buildings", type=int, default=40, help="buildings per committee")
    ap.add_argument("--cases", type=int, default=10_000_000)
    ap.add_argument("--sample", type=int, default=40, help="committees in the baseline loop")
    ap.add_argument("--confirm", action="store_true", help="also time confirming all")
    args = ap.parse_args()
    with throwaway_database("gridmap-bench-ratings-", port_from=56600) as (_, url):
        t = time.perf_counter()
        build(url, args.committees, args.buildings, args.cases)
        print(f"built {args.committees:,} committees, {args.committees * args.buildings:,}"
              f" buildings with full coverage, {args.cases:,} cases in"
              f" {time.perf_counter() - t:.1f} s")
        timed_compute(url)  # warm the caches once, as a scheduled run would find them
        secs, res = timed_compute(url)
        counts = {k: sum(1 for r in res if r.stars == k) for k in range(1, 6)}
        print(f"compute: {len(res):,} committees in {secs:.2f} s  (stars {counts})")
        b_secs, n = baseline(url, args.sample)
        extrapolated = b_secs / n * len(res)
        print(f"baseline per-committee loop: {n} committees in {b_secs:.2f} s → "
              f"{extrapolated:.1f} s for {len(res):,} (ratio {extrapolated / secs:.1f}×)")
        print(f"target ≤ 10 s: {'met' if secs <= 10 else 'NOT met'}")
        if args.confirm:
            c = timed_confirm(url, [r.committee.code for r in res])
            print(f"confirm (re-measure + freeze every case) of all: {c:.2f} s")


if __name__ == "__main__":
    main()
