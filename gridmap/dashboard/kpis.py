"""KPIs and rankings of one dashboard area, in one SQL statement.

Over the last ``dashboard_period_days`` days ``[s, now)`` (definitions of
:mod:`gridmap.incidents.indicators` and :mod:`gridmap.supervision.indicators`, so the numbers
match the supervisor page and the exports):

- ``open`` 在办: cases not closed, evaluated or voided (now); ``overdue`` 超期: of those, past
  their deadline; ``open_urgent``: open 应急/重点 cases;
- ``reported`` 新增: reported in the period;
- 结案率 ``close_rate`` = closed / due and 按期结案率 ``on_time_rate`` = closed on time / due, of
  the cases whose deadline fell in the period (voided excluded);
- 小事不出网格 ``grid_rate``: share of the cases closed in the period that were closed at grid
  level (``incident.level``);
- 满意率 ``satisfaction_rate``: evaluated in the period with a satisfaction ≥
  ``dashboard_satisfied_from`` / evaluated with a satisfaction; ``mean_satisfaction`` (1–5).

``GROUPING SETS`` gives the area's totals, one row per child area (streets of the district,
communities of a street, grids of a community) and one per handling unit from the same scan.
Only rows that can count are read: open, or reported, closed, due or evaluated in the period.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.dashboard.areas import COLUMN, TABLE, Area
from gridmap.dashboard.params import DashboardParams
from gridmap.incidents.states import CLOSED_STATES

URGENT: tuple[str, ...] = ("urgent", "key")
"""应急 and 重点 (``incident.urgency``)."""
COUNTS: tuple[str, ...] = ("open", "overdue", "open_urgent", "reported", "due", "closed",
                           "closed_on_time", "closed_any", "closed_grid", "rated", "satisfied")

_SQL = """
WITH inc AS (
    SELECT {child} AS child, i.unit_id AS unit, i.state, i.urgency, i.reported_at, i.due_at,
           i.closed_at, i.level, i.evaluated_at, i.satisfaction_score
    FROM incident i
    WHERE {area} AND (i.state <> ALL(:closed_states) OR i.reported_at >= :s
                      OR i.closed_at >= :s OR i.due_at >= :s OR i.evaluated_at >= :s)
), agg AS (
    SELECT GROUPING(child) AS g_child, GROUPING(unit) AS g_unit, child, unit,
        count(*) FILTER (WHERE state <> ALL(:closed_states)) AS open,
        count(*) FILTER (WHERE state <> ALL(:closed_states) AND due_at < :now) AS overdue,
        count(*) FILTER (WHERE state <> ALL(:closed_states) AND urgency = ANY(:urgent))
            AS open_urgent,
        count(*) FILTER (WHERE reported_at >= :s AND reported_at < :now) AS reported,
        count(*) FILTER (WHERE due_at >= :s AND due_at < :now AND state <> 'voided') AS due,
        count(*) FILTER (WHERE due_at >= :s AND due_at < :now AND state <> 'voided'
                         AND closed_at IS NOT NULL AND closed_at <= :now) AS closed,
        count(*) FILTER (WHERE due_at >= :s AND due_at < :now AND state <> 'voided'
                         AND closed_at IS NOT NULL AND closed_at <= :now
                         AND closed_at <= due_at) AS closed_on_time,
        count(*) FILTER (WHERE closed_at >= :s AND closed_at < :now
                         AND state IN ('closed', 'evaluated')) AS closed_any,
        count(*) FILTER (WHERE closed_at >= :s AND closed_at < :now
                         AND state IN ('closed', 'evaluated') AND level = 'grid') AS closed_grid,
        count(*) FILTER (WHERE evaluated_at >= :s AND evaluated_at < :now
                         AND satisfaction_score IS NOT NULL) AS rated,
        count(*) FILTER (WHERE evaluated_at >= :s AND evaluated_at < :now
                         AND satisfaction_score >= :satisfied) AS satisfied,
        avg(satisfaction_score) FILTER (WHERE evaluated_at >= :s AND evaluated_at < :now)
            AS mean_satisfaction
    FROM inc GROUP BY GROUPING SETS ((), (child), (unit))
)
SELECT a.*, CASE WHEN a.g_child = 0 THEN {child_code} ELSE u.code END AS code,
       CASE WHEN a.g_child = 0 THEN {child_name} ELSE u.name END AS name
FROM agg a {child_join}
LEFT JOIN org_unit u ON a.g_unit = 0 AND u.id = a.unit
"""


def _pct(num: int, den: int) -> float | None:
    return round(100.0 * num / den, 2) if den else None


def _child_sql(level: str | None) -> dict[str, str]:
    if level is None:
        return {"child": "CAST(NULL AS int)", "child_code": "NULL", "child_name": "NULL",
                "child_join": ""}
    table, code = TABLE[level]
    name = "COALESCE(x.name, x.grid_code)" if level == "grid" else "x.name"
    return {"child": f"i.{COLUMN[level]}", "child_code": f"x.{code}", "child_name": name,
            "child_join": f"LEFT JOIN {table} x ON a.g_child = 0 AND x.id = a.child"}


def _rank(x: dict[str, Any]) -> tuple[int, int, str]:
    return (-x["open"], -x["overdue"], str(x["code"]))


def _rates(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: int(d.get(k) or 0) for k in COUNTS}
    out["close_rate"] = _pct(out["closed"], out["due"])
    out["on_time_rate"] = _pct(out["closed_on_time"], out["due"])
    out["grid_rate"] = _pct(out["closed_grid"], out["closed_any"])
    out["satisfaction_rate"] = _pct(out["satisfied"], out["rated"])
    m = d.get("mean_satisfaction")
    out["mean_satisfaction"] = None if m is None else round(float(m), 2)
    return out


def compute(conn: Connection, area: Area, params: DashboardParams, now: dt.datetime
            ) -> dict[str, Any]:
    """KPIs of ``area`` and its rankings (one SQL statement).

    Returns
    -------
    dict
        ``kpis`` (the keys of :data:`COUNTS` and the rates in percent, ``None`` without a
        denominator), ``children`` (one row per child area that has cases: ``code``,
        ``name`` and the same keys; every child, ordered by open cases) and ``units`` (the
        handling units, top ``dashboard_ranking_limit`` by open cases).
    """
    where, p = area.case_sql("i")
    s = now - dt.timedelta(days=params.dashboard_period_days)
    sql = _SQL.format(area=where, **_child_sql(area.child_level))
    rows = conn.execute(sa.text(sql), {
        **p, "s": s, "now": now, "closed_states": list(CLOSED_STATES), "urgent": list(URGENT),
        "satisfied": params.dashboard_satisfied_from}).mappings().all()
    kpis = _rates({})
    children: list[dict[str, Any]] = []
    units: list[dict[str, Any]] = []
    for r in rows:
        d = dict(r)
        if d["g_child"] == 1 and d["g_unit"] == 1:
            kpis = _rates(d)
        elif d["g_child"] == 0 and d["child"] is not None:
            children.append({"code": d["code"], "name": d["name"], **_rates(d)})
        elif d["g_unit"] == 0 and d["unit"] is not None:
            units.append({"code": d["code"], "name": d["name"], **_rates(d)})
    children.sort(key=_rank)
    units.sort(key=_rank)
    return {"kpis": kpis, "period_start": s.isoformat(), "children": children,
            "units": units[:params.dashboard_ranking_limit]}
