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

区域 composite score (综合指标值) and grade A–E (reference/cases.md §7, [practice]; every weight
and table is configurable in :class:`AreaScoring`): 监督举报率 score 10 % + 立案数 score 20 % +
结案率 30 % + 按期结案率 40 % (the reference prints 10 % for the last term, which sums to 70 %;
40 % is the likely intent and is [unverified]). Our readings where the reference is silent:

- 监督举报率 = cases filed from public reports and the 12345 hotline / 立案数 × 100 (reports
  the grid workers did not make first); its score is 100 − rate.
- 立案数 score (fewer is better) is read on 立案数 per grid per 30 days, so that grids,
  communities and streets and periods of any length share one table.
- A rate whose denominator is 0 (nothing due, nothing filed) scores 100: nothing was missed.
- The composite is the weighted mean (weights divided by their sum), rounded to 0.1.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError
from gridmap.incidents.query import filter_sql

LEVELS = {"grid": ("grid", "grid_id", "grid_code"),
          "community": ("community", "community_id", "code"),
          "street": ("street", "street_id", "code")}
_GRID_UNIT = {"grid": "gg.grid_id", "community": "gv.community_id", "street": "c.street_id"}
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
    "public_filed": ("群众举报/热线立案数", "filed from public reports"),
    "public_rate": ("监督举报率(%)", "public report rate (%)"),
    "filed_per_grid_month": ("每网格每30天立案数", "filed per grid per 30 days"),
    "score": ("综合指标值", "composite score"),
    "grade": ("等级", "grade"),
}
PUBLIC_SOURCES = ("public", "hotline_12345")


@dataclass(frozen=True)
class AreaScoring:
    """Weights and score tables of the 区域 composite (reference/cases.md §7, [practice])."""

    weight_public_rate: float = 10.0
    weight_filed: float = 20.0
    weight_close_rate: float = 30.0
    weight_on_time_rate: float = 40.0
    """10 as printed in the reference (weights then sum to 70); 40 is the likely intent
    [unverified]."""
    area_class: int = 1
    """一类区域 (1) or 二类区域 (2): selects the 立案数 table."""
    filed_steps: Mapping[int, tuple[tuple[float, float], ...]] = field(default_factory=lambda: {
        1: ((3, 90), (5, 75), (7, 60), (9, 40)), 2: ((4, 90), (6, 75), (8, 60), (10, 40))})
    """Per class: (upper bound, exclusive; score) after "0 → 100"; above the last bound 0."""
    grades: tuple[tuple[float, str], ...] = ((90, "A"), (75, "B"), (60, "C"), (40, "D"))
    """Lower bounds of the grades; below the last one E."""

    def filed_score(self, filed_per_grid_month: float) -> float:
        """立案数 score: fewer cases is better."""
        if filed_per_grid_month <= 0:
            return 100.0
        for bound, score in self.filed_steps[self.area_class]:
            if filed_per_grid_month < bound:
                return float(score)
        return 0.0

    def grade(self, score: float) -> str:
        """A–E for a composite score."""
        return next((g for bound, g in self.grades if score >= bound), "E")

    def composite(self, *, public_rate: float | None, filed_per_grid_month: float,
                  close_rate: float | None, on_time_rate: float | None) -> float:
        """Weighted mean of the four scores (a rate without denominator scores 100)."""
        parts = ((self.weight_public_rate,
                  100.0 - (public_rate if public_rate is not None else 0.0)),
                 (self.weight_filed, self.filed_score(filed_per_grid_month)),
                 (self.weight_close_rate, close_rate if close_rate is not None else 100.0),
                 (self.weight_on_time_rate, on_time_rate if on_time_rate is not None else 100.0))
        total = sum(w for w, _ in parts)
        return round(sum(w * max(v, 0.0) for w, v in parts) / total, 1) if total else 0.0

_SQL = """
WITH inc AS (
    SELECT i.{col} AS unit, i.dispatched_at, i.due_at, i.closed_at, i.state, i.source
    FROM incident i WHERE i.{col} IS NOT NULL AND {where}
), agg AS (
    SELECT unit,
        count(*) FILTER (WHERE dispatched_at >= :s AND dispatched_at < :e) AS filed,
        count(*) FILTER (WHERE dispatched_at >= :s AND dispatched_at < :e
                         AND source = ANY(:public_sources)) AS public_filed,
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
      AND e.from_state IS DISTINCT FROM e.to_state  -- not automatic steps (督办, level raise)
      AND i.{col} IS NOT NULL AND {where}
    GROUP BY 1
), ng AS (
    SELECT {grid_unit} AS unit, count(*) AS n_grids
    FROM grid_geometry gg JOIN grid_version gv ON gv.id = gg.version_id
    JOIN community c ON c.id = gv.community_id
    WHERE gv.status = 'active' GROUP BY 1
)
SELECT u.id AS unit_id, u.{code} AS code, u.name AS name,
       COALESCE(a.filed, 0) AS filed, COALESCE(a.public_filed, 0) AS public_filed,
       COALESCE(ng.n_grids, 1) AS n_grids, COALESCE(a.due, 0) AS due,
       COALESCE(a.closed, 0) AS closed, COALESCE(a.closed_on_time, 0) AS closed_on_time,
       COALESCE(a.overdue_open, 0) AS overdue_open,
       COALESCE(v.handled, 0) AS handled, COALESCE(v.rework, 0) AS rework,
       a.median_hours, a.p90_hours
FROM {table} u
LEFT JOIN agg a ON a.unit = u.id
LEFT JOIN ev v ON v.unit = u.id
LEFT JOIN ng ON ng.unit = u.id
WHERE (a.unit IS NOT NULL OR v.unit IS NOT NULL OR :all_units) {unit_where}
ORDER BY u.{code}
"""


def _pct(num: int, den: int) -> float | None:
    return round(100.0 * num / den, 2) if den else None


def compute(conn: Connection, level: str, period_start: dt.datetime, period_end: dt.datetime,
            *, as_of: dt.datetime | None = None, filters: Mapping[str, Any] | None = None,
            unit_ids: Iterable[int] | None = None, all_units: bool = False,
            scoring: AreaScoring | None = None) -> list[dict[str, Any]]:
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
    scoring:
        Weights and tables of the composite score and grade (defaults: :class:`AreaScoring`).

    Returns
    -------
    list of dict
        One dict per unit with the keys of :data:`FIELDS` (rates in percent, ``None`` when the
        denominator is 0).
    """
    if level not in LEVELS:
        raise ValidationError("incidents.indicator_level", params={"choices": tuple(LEVELS)})
    if period_end <= period_start:
        raise ValidationError("incidents.period_end_before_start")
    table, col, code = LEVELS[level]
    now = dt.datetime.now(dt.UTC)
    asof = as_of or min(now, period_end)
    where, params = filter_sql(filters or {})
    unit_where = ""
    if unit_ids is not None:
        unit_where = "AND u.id = ANY(:unit_ids)"
        params["unit_ids"] = list(unit_ids)
    scoring = scoring or AreaScoring()
    if scoring.area_class not in scoring.filed_steps:
        raise ValidationError("incidents.area_class",
                              params={"choices": str(sorted(scoring.filed_steps))})
    sql = _SQL.format(col=col, where=where, table=table, code=code, unit_where=unit_where,
                      grid_unit=_GRID_UNIT[level])
    rows = conn.execute(sa.text(sql), {**params, "s": period_start, "e": period_end,
                                       "asof": asof, "all_units": all_units,
                                       "public_sources": list(PUBLIC_SOURCES)}
                        ).mappings().all()
    months = (period_end - period_start).total_seconds() / (30 * 86400)
    out = []
    for r in rows:
        d = dict(r)
        d["close_rate"] = _pct(d["closed"], d["due"])
        d["on_time_rate"] = _pct(d["closed_on_time"], d["due"])
        d["rework_rate"] = _pct(d["rework"], d["handled"])
        d["public_rate"] = _pct(d["public_filed"], d["filed"])
        d["filed_per_grid_month"] = round(d["filed"] / max(int(d["n_grids"]), 1) / months, 2)
        d["score"] = scoring.composite(
            public_rate=d["public_rate"], filed_per_grid_month=d["filed_per_grid_month"],
            close_rate=d["close_rate"], on_time_rate=d["on_time_rate"])
        d["grade"] = scoring.grade(d["score"])
        for k in ("median_hours", "p90_hours"):
            d[k] = None if d[k] is None else round(float(d[k]), 2)
        out.append({k: d.get(k) for k in FIELDS})
    return out


def export(rows: list[dict[str, Any]], path: Path, *, lang: str = "zh",
           fields: Mapping[str, tuple[str, str]] | None = None) -> Path:
    """Write indicator rows to ``path`` as CSV (UTF-8 with BOM, opens in Excel) or XLSX.

    The format follows the suffix (``.csv`` or ``.xlsx``); headers are Chinese by default.
    ``fields`` (key → (zh, en) header) defaults to the area indicators' :data:`FIELDS`; the
    unit and post indicators (:mod:`gridmap.supervision.indicators`) pass their own.
    """
    path = Path(path)
    idx = 0 if lang == "zh" else 1
    cols = fields or FIELDS
    headers = [cols[k][idx] for k in cols]
    if path.suffix.lower() == ".xlsx":
        wb = Workbook()
        ws = wb.active
        assert ws is not None
        ws.title = "指标" if lang == "zh" else "indicators"
        ws.append(headers)
        for r in rows:
            ws.append([r.get(k) for k in cols])
        wb.save(path)
    elif path.suffix.lower() == ".csv":
        with open(path, "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(headers)
            for r in rows:
                w.writerow(["" if r.get(k) is None else r.get(k) for k in cols])
    else:
        raise ValidationError("incidents.export_format", params={"suffix": path.suffix})
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
