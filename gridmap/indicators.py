"""Per-area case indicators (绩效评价, reference/cases.md §7) and their CSV/XLSX export.

For a period ``[start, end)`` evaluated at ``as_of`` (default ``min(now, end)``):

- 立案数 ``filed``: cases dispatched in the period (passed review, met filing conditions and
  were dispatched).
- 应结案数 ``due``: cases whose deadline falls in the period and that are either closed by
  ``as_of`` or overdue at ``as_of`` (= 结案数 + 超期未结数). Voided cases are excluded.
- 结案数 ``closed``: of those, closed by ``as_of``; 按期结案数 ``closed_on_time``: closed no
  later than the deadline.
- 结案率 = 结案数 / 应结案数 × 100; 按期结案率 = 按期结案数 / 应结案数 × 100.
- 超期未结数 ``overdue_open``: deadline in the period, passed at ``as_of``, not closed.
- 返工率 = 返工数 / 处置数 × 100: rework and handled (反馈) transitions in the period.
- handling time: dispatch → close, hours, median and 90th percentile of cases closed in the
  period.

Incidents count in the grid, community and street they were assigned to (closed ones keep
the grid they were handled in).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError

LEVELS = {"grid": ("grid", "grid_id", "grid_code"),
          "community": ("community", "community_id", "code"),
          "street": ("street", "street_id", "code")}
FIELDS: dict[str, tuple[str, str]] = {
    "unit_id": ("单元ID", "unit id"),
    "code": ("编码", "code"),
    "name": ("名称", "name"),
    "filed": ("立案数", "cases filed"),
    "due": ("应结案数", "cases due"),
    "closed": ("结案数", "cases closed"),
    "close_rate": ("结案率(%)", "closure rate (%)"),
    "closed_on_time": ("按期结案数", "closed on time"),
    "on_time_rate": ("按期结案率(%)", "on-time closure rate (%)"),
    "overdue_open": ("超期未结数", "overdue, not closed"),
    "handled": ("处置数", "handled"),
    "rework": ("返工数", "rework"),
    "rework_rate": ("返工率(%)", "rework rate (%)"),
    "median_hours": ("处置时长中位数(小时)", "median handling time (h)"),
    "p90_hours": ("处置时长P90(小时)", "p90 handling time (h)"),
}

_SQL = """
WITH inc AS (
    SELECT i.{col} AS unit, i.dispatched_at, i.due_at, i.closed_at, i.state
    FROM incident i WHERE i.{col} IS NOT NULL AND {where}
), agg AS (
    SELECT unit,
        count(*) FILTER (WHERE dispatched_at >= :s AND dispatched_at < :e) AS filed,
        count(*) FILTER (WHERE due_at >= :s AND due_at < :e AND state <> 'voided'
                         AND ((closed_at IS NOT NULL AND closed_at <= :asof)
                              OR due_at < :asof)) AS due,
        count(*) FILTER (WHERE due_at >= :s AND due_at < :e AND state <> 'voided'
                         AND closed_at IS NOT NULL AND closed_at <= :asof) AS closed,
        count(*) FILTER (WHERE due_at >= :s AND due_at < :e AND state <> 'voided'
                         AND closed_at IS NOT NULL AND closed_at <= :asof
                         AND closed_at <= due_at) AS closed_on_time,
        count(*) FILTER (WHERE due_at >= :s AND due_at < :e AND state <> 'voided'
                         AND (closed_at IS NULL OR closed_at > :asof)
                         AND due_at < :asof) AS overdue_open,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - dispatched_at))
            FILTER (WHERE closed_at >= :s AND closed_at < :e AND closed_at <= :asof
                    AND dispatched_at IS NOT NULL) / 3600.0 AS median_hours,
        percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - dispatched_at))
            FILTER (WHERE closed_at >= :s AND closed_at < :e AND closed_at <= :asof
                    AND dispatched_at IS NOT NULL) / 3600.0 AS p90_hours
    FROM inc GROUP BY unit
), ev AS (
    SELECT i.{col} AS unit,
        count(*) FILTER (WHERE e.to_state = 'handled') AS handled,
        count(*) FILTER (WHERE e.to_state = 'rework') AS rework
    FROM incident_event e JOIN incident i ON i.id = e.incident_id
    WHERE e.at >= :s AND e.at < :e AND e.at <= :asof AND e.to_state IN ('handled', 'rework')
      AND i.{col} IS NOT NULL AND {where}
    GROUP BY 1
)
SELECT u.id AS unit_id, u.{code} AS code, u.name AS name,
       COALESCE(a.filed, 0) AS filed, COALESCE(a.due, 0) AS due,
       COALESCE(a.closed, 0) AS closed, COALESCE(a.closed_on_time, 0) AS closed_on_time,
       COALESCE(a.overdue_open, 0) AS overdue_open,
       COALESCE(v.handled, 0) AS handled, COALESCE(v.rework, 0) AS rework,
       a.median_hours, a.p90_hours
FROM {table} u
LEFT JOIN agg a ON a.unit = u.id
LEFT JOIN ev v ON v.unit = u.id
WHERE (a.unit IS NOT NULL OR v.unit IS NOT NULL OR :all_units) {unit_where}
ORDER BY u.{code}
"""


def _pct(num: int, den: int) -> float | None:
    return round(100.0 * num / den, 2) if den else None


def compute(conn: Connection, level: str, period_start: dt.datetime, period_end: dt.datetime,
            *, as_of: dt.datetime | None = None, filters: Mapping[str, Any] | None = None,
            unit_ids: Iterable[int] | None = None, all_units: bool = False
            ) -> list[dict[str, Any]]:
    """Indicators per grid, community or street for one period (one SQL statement).

    Parameters
    ----------
    level:
        ``grid``, ``community`` or ``street``.
    period_start, period_end:
        The period ``[start, end)``, timezone-aware.
    as_of:
        Evaluation instant; defaults to ``min(now, period_end)``.
    filters:
        Incident filters of :func:`gridmap.incidents.filter_sql` (categories, sources, scope…).
    unit_ids:
        Restrict the output to these units.
    all_units:
        Also list units without any case (all zeros).

    Returns
    -------
    list of dict
        One dict per unit with the keys of :data:`FIELDS` (rates in percent, ``None`` when the
        denominator is 0).
    """
    from gridmap.incidents import filter_sql

    if level not in LEVELS:
        raise ValidationError(f"level must be one of {', '.join(LEVELS)}")
    if period_end <= period_start:
        raise ValidationError("period end must be after its start")
    table, col, code = LEVELS[level]
    now = dt.datetime.now(dt.UTC)
    asof = as_of or min(now, period_end)
    where, params = filter_sql(filters or {})
    unit_where = ""
    if unit_ids is not None:
        unit_where = "AND u.id = ANY(:unit_ids)"
        params["unit_ids"] = list(unit_ids)
    sql = _SQL.format(col=col, where=where, table=table, code=code, unit_where=unit_where)
    rows = conn.execute(sa.text(sql), {**params, "s": period_start, "e": period_end,
                                       "asof": asof, "all_units": all_units}).mappings().all()
    out = []
    for r in rows:
        d = dict(r)
        d["close_rate"] = _pct(d["closed"], d["due"])
        d["on_time_rate"] = _pct(d["closed_on_time"], d["due"])
        d["rework_rate"] = _pct(d["rework"], d["handled"])
        for k in ("median_hours", "p90_hours"):
            d[k] = None if d[k] is None else round(float(d[k]), 2)
        out.append({k: d.get(k) for k in FIELDS})
    return out


def export(rows: list[dict[str, Any]], path: Path, *, lang: str = "zh") -> Path:
    """Write indicator rows to ``path`` as CSV (UTF-8 with BOM, opens in Excel) or XLSX.

    The format follows the suffix (``.csv`` or ``.xlsx``); headers are Chinese by default.
    """
    path = Path(path)
    idx = 0 if lang == "zh" else 1
    headers = [FIELDS[k][idx] for k in FIELDS]
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        assert ws is not None
        ws.title = "指标" if lang == "zh" else "indicators"
        ws.append(headers)
        for r in rows:
            ws.append([r.get(k) for k in FIELDS])
        wb.save(path)
    elif path.suffix.lower() == ".csv":
        with open(path, "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(headers)
            for r in rows:
                w.writerow(["" if r.get(k) is None else r.get(k) for k in FIELDS])
    else:
        raise ValidationError(f"export format must be .csv or .xlsx, not {path.suffix!r}")
    return path


def grid_choropleth(conn: Connection, start: dt.datetime, end: dt.datetime, *,
                    bbox: tuple[float, float, float, float],
                    street_ids: Iterable[int] | None = None,
                    community_ids: Iterable[int] | None = None) -> dict[str, Any]:
    """GeoJSON FeatureCollection of the active grids in ``bbox`` with their indicators.

    Scope (``street_ids``/``community_ids``) limits the grids to the viewer's area.
    """
    params: dict[str, Any] = dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=True))
    scope = ""
    if street_ids is not None or community_ids is not None:
        scope = ("AND (c.street_id = ANY(:streets) OR gv.community_id = ANY(:comms))")
        params["streets"] = list(street_ids or [])
        params["comms"] = list(community_ids or [])
    geoms = conn.execute(sa.text(
        "SELECT gg.grid_id, ST_AsGeoJSON(gg.geom, 6) FROM grid_geometry gg "  # noqa: S608 - fixed fragments
        "JOIN grid_version gv ON gv.id = gg.version_id JOIN community c ON c.id = gv.community_id "
        "WHERE gv.status = 'active' AND gg.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326) "
        + scope), params).all()
    ids = [g[0] for g in geoms]
    stats = {r["unit_id"]: r for r in compute(conn, "grid", start, end, unit_ids=ids,
                                              all_units=True)} if ids else {}
    features = [{"type": "Feature", "id": gid, "geometry": json.loads(gj),
                 "properties": stats.get(gid, {"unit_id": gid})} for gid, gj in geoms]
    return {"type": "FeatureCollection", "features": features}
