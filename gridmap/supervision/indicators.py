"""Indicators of units (部门), the hotline 三率 and the "小事不出网格、大事不出社区" rate
(reference/cases.md §7; issue #13). Post (岗位) indicators are in
:mod:`gridmap.supervision.posts`. CSV/XLSX export through
:func:`gridmap.incidents.indicators.export` (the area indicators' writer) with the columns
of each table.

**部门** — per handling unit (``incident.unit_id``: the unit that handles the case now; a
re-dispatched case counts for its last unit), period ``[start, end)`` at ``as_of``:

- 立案(应处置)数 ``filed``: cases dispatched to the unit in the period;
- 应处置数 ``due``: deadline in the period and handled (反馈) by ``as_of`` or overdue at
  ``as_of`` (voided excluded); 按期处置数 ``handled_on_time``: handled no later than the
  deadline; 按期处置率 = 按期处置数 / 应处置数;
- 应结案数/结案数/结案率 as the area indicators (deadline in the period; closed by ``as_of``);
- 返工率 = 返工 / 反馈 transitions of the unit's cases in the period;
- composite (综合指标值) = 立案数 score (≤50 → 10, ≤100 → 9, ≤200 → 7.5, ≤500 → 6, ≤1000 → 4,
  else 0) + 结案率 × 0.3 + 按期处置率 × 0.3 + (100 − 返工率) × 0.3; a rate without denominator
  counts 100; grade A–E (≥90, ≥75, ≥60, ≥40). All weights and steps: :class:`UnitScoring`.

**12345 三率** — cases of the given sources (default the hotline) per unit or street, by the
时间 of their step in the period: 响应率 = accepted (接单) by the acceptance deadline / cases
dispatched with an acceptance deadline; 解决率 = evaluated as solved / evaluated; 满意率 =
satisfaction ≥ ``satisfied_from`` (default 4 of 5) / evaluated with a satisfaction.

**小事不出网格、大事不出社区** — of the cases closed in the period, per grid, community or
street: the share closed at ``grid`` level, and at ``grid`` or ``community`` level
(``incident.level``, raised by the dispatch engine).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError
from gridmap.supervision.access import Viewer

UNIT_FIELDS: dict[str, tuple[str, str]] = {
    "unit_id": ("单位ID", "unit id"), "code": ("单位编码", "unit code"),
    "name": ("单位名称", "unit name"),
    "filed": ("立案(应处置)数", "cases dispatched"),
    "due": ("应处置数", "cases due"), "handled_on_time": ("按期处置数", "handled on time"),
    "on_time_rate": ("按期处置率(%)", "on-time handling rate (%)"),
    "due_close": ("应结案数", "cases due to close"), "closed": ("结案数", "cases closed"),
    "close_rate": ("结案率(%)", "closure rate (%)"),
    "handled": ("处置数", "handled"), "rework": ("返工数", "rework"),
    "rework_rate": ("返工率(%)", "rework rate (%)"),
    "filed_score": ("立案数得分", "cases score"),
    "score": ("综合指标值", "composite score"), "grade": ("等级", "grade"),
}
HOTLINE_FIELDS: dict[str, tuple[str, str]] = {
    "key_id": ("ID", "id"), "code": ("编码", "code"), "name": ("名称", "name"),
    "dispatched": ("派遣数", "dispatched"), "responded": ("按时响应数", "responded in time"),
    "response_rate": ("响应率(%)", "response rate (%)"),
    "evaluated": ("评价数", "evaluated"), "solved": ("解决数", "solved"),
    "solve_rate": ("解决率(%)", "solved rate (%)"),
    "rated": ("满意度评价数", "rated"), "satisfied": ("满意数", "satisfied"),
    "satisfaction_rate": ("满意率(%)", "satisfaction rate (%)"),
    "mean_satisfaction": ("平均满意度", "mean satisfaction"),
}
LEVEL_FIELDS: dict[str, tuple[str, str]] = {
    "key_id": ("ID", "id"), "code": ("编码", "code"), "name": ("名称", "name"),
    "closed": ("结案数", "cases closed"), "grid": ("网格层级结案数", "closed at grid level"),
    "community": ("社区层级结案数", "closed at community level"),
    "grid_rate": ("小事不出网格率(%)", "closed in the grid (%)"),
    "community_rate": ("大事不出社区率(%)", "closed in the grid or community (%)"),
}
_AREAS = {"grid": ("grid", "grid_id", "grid_code"), "community": ("community", "community_id", "code"),
          "street": ("street", "street_id", "code")}


@dataclass(frozen=True)
class UnitScoring:
    """Weights and tables of the 部门 composite (reference/cases.md §7, [practice])."""

    filed_steps: tuple[tuple[float, float], ...] = (
        (50, 10), (100, 9), (200, 7.5), (500, 6), (1000, 4))
    """(upper bound inclusive, points) of 立案(应处置)数; above the last bound 0."""
    weight_close_rate: float = 0.3
    weight_on_time_rate: float = 0.3
    weight_rework: float = 0.3
    grades: tuple[tuple[float, str], ...] = field(
        default=((90, "A"), (75, "B"), (60, "C"), (40, "D")))

    def filed_score(self, filed: int) -> float:
        """Points of the 立案(应处置)数."""
        return next((float(p) for bound, p in self.filed_steps if filed <= bound), 0.0)

    def grade(self, score: float) -> str:
        """A–E of a composite."""
        return next((g for bound, g in self.grades if score >= bound), "E")


def pct(num: int, den: int) -> float | None:
    """``num / den`` in percent (2 decimals), ``None`` without denominator."""
    return round(100.0 * num / den, 2) if den else None


def check_period(start: dt.datetime, end: dt.datetime) -> None:
    """Raise ``supervise.period`` unless ``start < end``."""
    if end <= start:
        raise ValidationError("supervise.period", params={"start": start, "end": end})


_UNIT_SQL = """
WITH inc AS (
    SELECT i.unit_id AS unit, i.dispatched_at, i.due_at, i.handled_at, i.closed_at, i.state
    FROM incident i WHERE i.unit_id IS NOT NULL AND {viewer}
), agg AS (
    SELECT unit,
        count(*) FILTER (WHERE dispatched_at >= :s AND dispatched_at < :e) AS filed,
        count(*) FILTER (WHERE due_at >= :s AND due_at < :e AND state <> 'voided'
                         AND ((handled_at IS NOT NULL AND handled_at <= :asof) OR due_at < :asof))
            AS due,
        count(*) FILTER (WHERE due_at >= :s AND due_at < :e AND state <> 'voided'
                         AND handled_at IS NOT NULL AND handled_at <= :asof
                         AND handled_at <= due_at) AS handled_on_time,
        count(*) FILTER (WHERE due_at >= :s AND due_at < :e AND state <> 'voided'
                         AND ((closed_at IS NOT NULL AND closed_at <= :asof) OR due_at < :asof))
            AS due_close,
        count(*) FILTER (WHERE due_at >= :s AND due_at < :e AND state <> 'voided'
                         AND closed_at IS NOT NULL AND closed_at <= :asof) AS closed
    FROM inc GROUP BY unit
), ev AS (
    SELECT i.unit_id AS unit, count(*) FILTER (WHERE e.to_state = 'handled') AS handled,
           count(*) FILTER (WHERE e.to_state = 'rework') AS rework
    FROM incident_event e JOIN incident i ON i.id = e.incident_id
    WHERE e.at >= :s AND e.at < :e AND e.at <= :asof AND e.to_state IN ('handled', 'rework')
      AND e.from_state IS DISTINCT FROM e.to_state AND i.unit_id IS NOT NULL AND {viewer}
    GROUP BY 1
)
SELECT u.id AS unit_id, u.code, u.name, COALESCE(a.filed, 0) AS filed,
       COALESCE(a.due, 0) AS due, COALESCE(a.handled_on_time, 0) AS handled_on_time,
       COALESCE(a.due_close, 0) AS due_close, COALESCE(a.closed, 0) AS closed,
       COALESCE(v.handled, 0) AS handled, COALESCE(v.rework, 0) AS rework
FROM org_unit u LEFT JOIN agg a ON a.unit = u.id LEFT JOIN ev v ON v.unit = u.id
WHERE (a.unit IS NOT NULL OR v.unit IS NOT NULL OR :all_units)
  AND (CAST(:units AS int[]) IS NULL OR u.id = ANY(:units))
ORDER BY u.code
"""


def _units_param(viewer: Viewer, unit_ids: list[int] | None) -> list[int] | None:
    if viewer.unit_ids is None:
        return unit_ids
    allowed = sorted(viewer.unit_ids)
    return allowed if unit_ids is None else [u for u in unit_ids if u in viewer.unit_ids]


def unit_indicators(conn: Connection, viewer: Viewer, start: dt.datetime, end: dt.datetime,
                    *, as_of: dt.datetime | None = None, unit_ids: list[int] | None = None,
                    all_units: bool = False, scoring: UnitScoring | None = None
                    ) -> list[dict[str, Any]]:
    """部门 indicators per unit for ``[start, end)`` (one SQL statement); keys of
    :data:`UNIT_FIELDS`. A restricted viewer gets its own units only."""
    check_period(start, end)
    scoring = scoring or UnitScoring()
    asof = as_of or min(dt.datetime.now(dt.UTC), end)
    cond, p = viewer.case_filter("i") if viewer.unit_ids is None else ("true", {})
    rows = conn.execute(sa.text(_UNIT_SQL.format(viewer=cond)), {
        **p, "s": start, "e": end, "asof": asof, "all_units": all_units,
        "units": _units_param(viewer, unit_ids)}).mappings().all()
    out = []
    for r in rows:
        d = dict(r)
        d["on_time_rate"] = pct(d["handled_on_time"], d["due"])
        d["close_rate"] = pct(d["closed"], d["due_close"])
        d["rework_rate"] = pct(d["rework"], d["handled"])
        d["filed_score"] = scoring.filed_score(d["filed"])
        d["score"] = round(
            d["filed_score"]
            + scoring.weight_close_rate * (d["close_rate"] if d["close_rate"] is not None else 100)
            + scoring.weight_on_time_rate * (
                d["on_time_rate"] if d["on_time_rate"] is not None else 100)
            + scoring.weight_rework * (100 - (d["rework_rate"] or 0.0)), 1)
        d["grade"] = scoring.grade(d["score"])
        out.append({k: d.get(k) for k in UNIT_FIELDS})
    return out


_HOTLINE_SQL = """
WITH inc AS (
    SELECT {key} AS key_id, i.dispatched_at, i.accept_due_at, i.accepted_at, i.evaluated_at,
           i.satisfaction_score, i.solved
    FROM incident i WHERE {key} IS NOT NULL AND i.source = ANY(:sources) AND {viewer}
)
SELECT key_id,
    count(*) FILTER (WHERE dispatched_at >= :s AND dispatched_at < :e
                     AND accept_due_at IS NOT NULL) AS dispatched,
    count(*) FILTER (WHERE dispatched_at >= :s AND dispatched_at < :e
                     AND accepted_at IS NOT NULL AND accepted_at <= accept_due_at) AS responded,
    count(*) FILTER (WHERE evaluated_at >= :s AND evaluated_at < :e AND solved IS NOT NULL)
        AS evaluated,
    count(*) FILTER (WHERE evaluated_at >= :s AND evaluated_at < :e AND solved) AS solved,
    count(*) FILTER (WHERE evaluated_at >= :s AND evaluated_at < :e
                     AND satisfaction_score IS NOT NULL) AS rated,
    count(*) FILTER (WHERE evaluated_at >= :s AND evaluated_at < :e
                     AND satisfaction_score >= :satisfied) AS satisfied,
    avg(satisfaction_score) FILTER (WHERE evaluated_at >= :s AND evaluated_at < :e)
        AS mean_satisfaction
FROM inc GROUP BY key_id
"""


def _names(conn: Connection, table: str, code: str, ids: list[int]) -> dict[int, tuple[str, str]]:
    rows = conn.execute(sa.text(
        f"SELECT id, {code}, name FROM {table} WHERE id = ANY(:ids)"),  # noqa: S608 - fixed names
        {"ids": ids}).all()
    return {int(r[0]): (r[1], r[2]) for r in rows}


def hotline_rates(conn: Connection, viewer: Viewer, start: dt.datetime, end: dt.datetime, *,
                  by: str = "unit", sources: tuple[str, ...] = ("hotline_12345",),
                  satisfied_from: int = 4) -> list[dict[str, Any]]:
    """The 三率 (响应率, 解决率, 满意率) per unit (``by="unit"``) or street (``"street"``);
    keys of :data:`HOTLINE_FIELDS`."""
    check_period(start, end)
    keys = {"unit": ("i.unit_id", "org_unit", "code"), "street": ("i.street_id", "street", "code")}
    if by not in keys or not 1 <= satisfied_from <= 5:
        raise ValidationError("supervise.bad_grouping", params={"by": by, "choices": "unit, street"})
    key, table, code = keys[by]
    cond, p = viewer.case_filter("i")
    rows = conn.execute(sa.text(_HOTLINE_SQL.format(key=key, viewer=cond)), {
        **p, "s": start, "e": end, "sources": list(sources), "satisfied": satisfied_from}
        ).mappings().all()
    names = _names(conn, table, code, [int(r["key_id"]) for r in rows])
    out = []
    for r in rows:
        d = dict(r)
        d["code"], d["name"] = names.get(int(d["key_id"]), (None, None))
        d["response_rate"] = pct(d["responded"], d["dispatched"])
        d["solve_rate"] = pct(d["solved"], d["evaluated"])
        d["satisfaction_rate"] = pct(d["satisfied"], d["rated"])
        m = d["mean_satisfaction"]
        d["mean_satisfaction"] = None if m is None else round(float(m), 2)
        out.append({k: d.get(k) for k in HOTLINE_FIELDS})
    return sorted(out, key=lambda x: str(x["code"]))


def level_rates(conn: Connection, viewer: Viewer, start: dt.datetime, end: dt.datetime, *,
                area: str = "community") -> list[dict[str, Any]]:
    """"小事不出网格、大事不出社区": per grid, community or street, the cases closed in the
    period and the shares closed at grid level and at grid-or-community level; keys of
    :data:`LEVEL_FIELDS`."""
    check_period(start, end)
    if area not in _AREAS:
        raise ValidationError("supervise.bad_grouping",
                              params={"by": area, "choices": ", ".join(_AREAS)})
    table, col, code = _AREAS[area]
    cond, p = viewer.case_filter("i")
    rows = conn.execute(sa.text(
        f"SELECT i.{col} AS key_id, count(*) AS closed, "  # noqa: S608 - fixed names
        "count(*) FILTER (WHERE i.level = 'grid') AS grid, "
        "count(*) FILTER (WHERE i.level = 'community') AS community "
        f"FROM incident i WHERE i.{col} IS NOT NULL AND i.closed_at >= :s AND i.closed_at < :e "
        f"AND i.state IN ('closed', 'evaluated') AND {cond} GROUP BY 1"),
        {**p, "s": start, "e": end}).mappings().all()
    names = _names(conn, table, code, [int(r["key_id"]) for r in rows])
    out = []
    for r in rows:
        d: dict[str, Any] = dict(r)
        d["code"], d["name"] = names.get(int(d["key_id"]), (None, None))
        d["grid_rate"] = pct(d["grid"], d["closed"])
        d["community_rate"] = pct(d["grid"] + d["community"], d["closed"])
        out.append({k: d.get(k) for k in LEVEL_FIELDS})
    return sorted(out, key=lambda x: str(x["code"]))


def fields_of(table: str) -> Mapping[str, tuple[str, str]]:
    """The export columns of ``units``, ``hotline`` or ``levels``."""
    return {"units": UNIT_FIELDS, "hotline": HOTLINE_FIELDS, "levels": LEVEL_FIELDS}[table]
