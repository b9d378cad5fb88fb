"""Measured criteria for all committees in one pass (set-based).

Every case relevant to a rating gets a vector of **facts** (small integers, one SQL
expression each, :func:`fact_exprs`); a criterion's inputs are sums of some of those facts
over the committee's cases. The live pass (:func:`case_sums`) sums them per committee in ONE
statement over ``incident``; a confirmed rating stores each case's facts (``rating_case``,
:func:`freeze_cases`) and :func:`frozen_sums` sums the stored rows the same way, so a frozen
rating recomputes to the same values and lists exactly the cases behind each value.

Facts (1-based slots of ``rating_case.facts``); "residents' cases" are those whose source is in
the ``response`` criterion's ``sources``, "hotline" those in ``satisfaction.hotline_sources``:

1. residents' case dispatched in the period with an acceptance deadline
2. … and accepted (接单) by that deadline
3. residents' case due in the period and closed by ``as_of`` or overdue at ``as_of``
4. … and closed by its deadline (按期结案)
5. case evaluated (评价) in the period with a satisfaction score; 6. that score (1–5)
7. hotline case dispatched in the period with an acceptance deadline; 8. accepted in time
9. hotline case evaluated (solved recorded) in the period; 10. solved
11. hotline case rated; 12. rated at least ``satisfied_from``
13, 14, … per ``categories`` criterion (scheme order): open at ``as_of``; reported in the period

The ``service`` measure reads the stored life-circle coverage results (:func:`service_gaps`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.access.inputs import require_refreshed
from gridmap.errors import NotFound
from gridmap.ratings.scheme import Criterion, Scheme

BASE_SLOTS = 12
MAX_ID_FILTER = 300
"""Above this many committees the scans read every committee and keep the wanted ones after:
``= ANY(array)`` compares each row with every element."""
_SLOT_SQL = (
    "(:res AND i.dispatched_at >= :s AND i.dispatched_at < :e AND i.accept_due_at IS NOT NULL)",
    "(:res AND i.dispatched_at >= :s AND i.dispatched_at < :e AND i.accepted_at <= :asof"
    " AND i.accepted_at <= i.accept_due_at)",
    "(:res AND :due AND (i.closed_at <= :asof OR i.due_at < :asof))",
    "(:res AND :due AND i.closed_at <= :asof AND i.closed_at <= i.due_at)",
    "(:ev AND i.satisfaction_score IS NOT NULL)",
    None,  # the score itself
    "(:hot AND i.dispatched_at >= :s AND i.dispatched_at < :e AND i.accept_due_at IS NOT NULL)",
    "(:hot AND i.dispatched_at >= :s AND i.dispatched_at < :e AND i.accepted_at <= :asof"
    " AND i.accepted_at <= i.accept_due_at)",
    "(:hot AND :ev AND i.solved IS NOT NULL)",
    "(:hot AND :ev AND i.solved)",
    "(:hot AND :ev AND i.satisfaction_score IS NOT NULL)",
    "(:hot AND :ev AND i.satisfaction_score >= :satisfied)",
)
_MACROS = {
    ":res": "i.source = ANY(:res_sources)",
    ":hot": "i.source = ANY(:hot_sources)",
    ":ev": "(i.evaluated_at >= :s AND i.evaluated_at < :e AND i.evaluated_at <= :asof)",
    ":due": "(i.due_at >= :s AND i.due_at < :e AND i.state <> 'voided')",
}
_OPEN = ("(i.category_code = ANY(:cat{k}) AND i.state <> 'voided' AND i.reported_at < :asof"
         " AND ((i.closed_at IS NULL AND i.state NOT IN ('closed', 'evaluated'))"
         " OR i.closed_at >= :asof))")
_NEW = ("(i.category_code = ANY(:cat{k}) AND i.state <> 'voided' AND i.reported_at >= :s"
        " AND i.reported_at < :e AND i.reported_at < :asof)")


@dataclass(frozen=True)
class Period:
    """A rating's measurement period ``[start, end)`` and the instant it is measured at."""

    start: dt.datetime
    end: dt.datetime
    as_of: dt.datetime


def category_criteria(scheme: Scheme) -> list[Criterion]:
    """The measured ``categories`` criteria, in scheme order (their fact slots follow 12)."""
    return [c for c in scheme.criteria if c.measure == "categories"]


def _expand(expr: str) -> str:
    for key, value in _MACROS.items():
        expr = expr.replace(key, value)
    return expr


def fact_exprs(scheme: Scheme) -> list[str]:
    """One integer SQL expression per fact slot over ``incident i`` (parameters from
    :func:`fact_params`); the texts are fixed, only slot numbers vary with the scheme."""
    out = [("CASE WHEN " + _expand(":ev") + " THEN COALESCE(i.satisfaction_score, 0) ELSE 0 END")
           if s is None else f"COALESCE({_expand(s)}, false)::int" for s in _SLOT_SQL]
    for k in range(len(category_criteria(scheme))):
        out.append(f"COALESCE({_OPEN.format(k=k)}, false)::int")
        out.append(f"COALESCE({_NEW.format(k=k)}, false)::int")
    return out


def _param(scheme: Scheme, measure: str, key: str, default: Any) -> Any:
    for c in scheme.criteria:
        if c.measure == measure and key in c.params:
            return c.params[key]
    return default


def fact_params(scheme: Scheme, period: Period) -> dict[str, Any]:
    """The bound parameters of :func:`fact_exprs`."""
    p: dict[str, Any] = {
        "s": period.start, "e": period.end, "asof": period.as_of,
        "res_sources": list(_param(scheme, "response", "sources", ["hotline_12345", "public"])),
        "hot_sources": list(_param(scheme, "satisfaction", "hotline_sources", ["hotline_12345"])),
        "satisfied": int(_param(scheme, "satisfaction", "satisfied_from", 4)),
    }
    for k, c in enumerate(category_criteria(scheme)):
        p[f"cat{k}"] = [str(x) for x in c.params.get("categories", [])]
    return p


def _where() -> str:
    return ("(CAST(:cids AS int[]) IS NULL OR i.community_id = ANY(:cids)) AND i.reported_at < :e"
            " AND (i.reported_at >= :s OR i.closed_at IS NULL OR i.closed_at >= :s"
            " OR i.evaluated_at >= :s OR i.due_at >= :s OR i.dispatched_at >= :s)")


def case_sums(conn: Connection, scheme: Scheme, period: Period,
              community_ids: Sequence[int], *, everyone: bool = False) -> np.ndarray:
    """Fact sums per committee (rows in the order of ``community_ids``; one statement).
    ``everyone``: ``community_ids`` are all committees (no id filter in the scan)."""
    exprs = fact_exprs(scheme)
    cols = ", ".join(f"sum({e})" for e in exprs)
    sql = f"SELECT i.community_id, {cols} FROM incident i WHERE {_where()} GROUP BY 1"  # noqa: S608
    wide = everyone or len(community_ids) > MAX_ID_FILTER
    rows = conn.execute(sa.text(sql), {**fact_params(scheme, period),
                                       "cids": None if wide else list(community_ids)}).all()
    return _by_id(rows, community_ids, len(exprs))


def _by_id(rows: Sequence[Any], ids: Sequence[int], width: int) -> np.ndarray:
    out = np.zeros((len(ids), width), dtype=np.int64)
    pos = {int(c): n for n, c in enumerate(ids)}
    for r in rows:
        n = pos.get(int(r[0]))
        if n is not None:
            out[n] = [int(v or 0) for v in r[1:]]
    return out


def freeze_cases(conn: Connection, scheme: Scheme, period: Period,
                 ratings: dict[int, int]) -> dict[int, int]:
    """Store the facts of every case behind the ratings ``{rating id: community id}``
    (one INSERT … SELECT); returns the number of cases stored per rating id."""
    exprs = fact_exprs(scheme)
    arr = "ARRAY[" + ", ".join(exprs) + "]::smallint[]"
    sql = (f"INSERT INTO rating_case (rating_id, incident_id, case_no, category_code, facts) "  # noqa: S608
           f"SELECT r.rid, f.id, f.case_no, f.category_code, f.facts FROM ("
           f"SELECT i.id, i.case_no, i.category_code, i.community_id, {arr} AS facts "
           f"FROM incident i WHERE {_where()}) f "
           f"JOIN unnest(CAST(:rids AS bigint[]), CAST(:wanted AS int[])) AS r(rid, cid) "
           f"ON r.cid = f.community_id WHERE 0 < ANY(f.facts)")
    conn.execute(sa.text(sql), {
        **fact_params(scheme, period), "rids": list(ratings), "wanted": list(ratings.values()),
        "cids": list(ratings.values()) if len(ratings) <= MAX_ID_FILTER else None})
    counts = dict.fromkeys(ratings, 0)
    counts.update({int(r[0]): int(r[1]) for r in conn.execute(sa.text(
        "SELECT rating_id, count(*) FROM rating_case WHERE rating_id = ANY(:r) GROUP BY 1"),
        {"r": list(ratings)})})
    return counts


def frozen_sums(conn: Connection, width: int, rating_ids: Sequence[int]) -> np.ndarray:
    """Fact sums of the stored cases per rating (rows in the order of ``rating_ids``)."""
    cols = ", ".join(f"COALESCE(sum(facts[{k}]), 0)" for k in range(1, width + 1))
    rows = conn.execute(sa.text(
        f"SELECT rating_id, {cols} FROM rating_case WHERE rating_id = ANY(:r) GROUP BY 1"),  # noqa: S608
        {"r": list(rating_ids)}).all()
    return _by_id(rows, rating_ids, width)


def frozen_cases(conn: Connection, rating_id: int, slots: Sequence[int]) -> list[dict[str, Any]]:
    """The stored cases of a rating with a non-zero fact in any of ``slots`` (1-based)."""
    rows = conn.execute(sa.text(
        "SELECT incident_id, case_no, category_code, facts FROM rating_case "
        "WHERE rating_id = :r AND EXISTS (SELECT 1 FROM unnest(CAST(:s AS int[])) k "
        "WHERE facts[k] <> 0) ORDER BY incident_id"), {"r": rating_id, "s": list(slots)})
    return [{"incident_id": int(r[0]), "case_no": r[1], "category_code": r[2],
             "facts": {int(k): int(r[3][k - 1]) for k in slots}} for r in rows]


_GAPS_SQL = """
WITH req AS (SELECT code, name_zh, name_en FROM facility_type WHERE required),
miss AS (
    SELECT b.community_id, bc.type_code, count(*) AS b_miss,
           COALESCE(sum(b.residents), 0) AS r_miss
    FROM building_coverage bc JOIN building b ON b.id = bc.building_id
    WHERE NOT bc.covered AND bc.type_code IN (SELECT code FROM req)
      AND (CAST(:cids AS int[]) IS NULL OR b.community_id = ANY(:cids))
    GROUP BY 1, 2
), tot AS (
    SELECT community_id, count(*) AS b_all, COALESCE(sum(residents), 0) AS r_all
    FROM building WHERE community_id IN (SELECT community_id FROM miss) GROUP BY 1
)
SELECT m.community_id, m.type_code, q.name_zh, q.name_en, t.b_all, t.r_all, m.b_miss, m.r_miss
FROM miss m JOIN tot t USING (community_id) JOIN req q ON q.code = m.type_code
WHERE CASE WHEN t.r_all > 0 THEN m.r_miss > (1 - :share) * t.r_all
           ELSE m.b_miss > (1 - :share) * t.b_all END
"""


def service_gaps(conn: Connection, community_ids: Sequence[int] | None, min_share: float = 1.0
                 ) -> dict[int, list[dict[str, Any]]] | None:
    """Required life-circle types reaching less than ``min_share`` of a committee's residents
    (default: not all of them), from the stored
    coverage results (``building_coverage`` of :func:`gridmap.access.coverage.refresh`, which
    holds every building × type); ``None`` when coverage was never computed.

    The share covered is that of :func:`gridmap.access.coverage.gaps` (residents; buildings
    when the committee has no residents). One statement that joins only the uncovered rows to
    their buildings (``community_ids=None``: every committee)."""
    try:
        require_refreshed(conn)
    except NotFound:
        return None
    wide = community_ids is None or len(community_ids) > MAX_ID_FILTER
    rows = conn.execute(sa.text(_GAPS_SQL), {
        "cids": None if wide or community_ids is None else list(community_ids),
        "share": float(min_share)}).all()
    out: dict[int, list[dict[str, Any]]] = {}
    for cid, code, zh, en, b_all, r_all, b_miss, r_miss in rows:
        share = 1 - r_miss / r_all if r_all else (1 - b_miss / b_all if b_all else None)
        out.setdefault(int(cid), []).append({
            "type_code": code, "type_name": zh, "type_name_en": en,
            "share": None if share is None else round(float(share), 4),
            "residents_affected": int(r_miss), "buildings_affected": int(b_miss)})
    for gaps in out.values():
        gaps.sort(key=lambda g: (-g["residents_affected"], g["type_code"]))
    return out
