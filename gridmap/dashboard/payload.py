"""The dashboard's first-paint payload and its map layers.

:func:`first_paint` is everything the page shows at once — the area and breadcrumb, KPIs,
trend lines, rankings, urgent cases — in one small JSON-ready dict (three SQL statements).
A short server-side cache (``dashboard_cache_seconds``, per area and scope) lets a wall of
screens refreshing every minute cost one computation. The map layers come separately, after
the first paint: :func:`area_shapes` (the child areas to click, with 星级 and life-circle
coverage values) and :func:`heat` (case heat).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.access import coverage
from gridmap.accounts.scope import Scope
from gridmap.dashboard import areas, kpis, trends, urgent
from gridmap.dashboard.areas import Area
from gridmap.dashboard.params import DashboardParams
from gridmap.errors import NotFound, ValidationError
from gridmap.incidents import hotspots
from gridmap.ratings.actions import current_stars

_CACHE: dict[tuple[Any, ...], tuple[float, dict[str, Any]]] = {}
_LOCK = threading.Lock()
_CACHE_MAX = 256


def _cached(key: tuple[Any, ...], ttl: float) -> dict[str, Any] | None:
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is None or time.monotonic() - hit[0] > ttl:
        return None
    return hit[1]


def _store(key: tuple[Any, ...], value: dict[str, Any]) -> None:
    with _LOCK:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.pop(min(_CACHE, key=lambda k: _CACHE[k][0]))
        _CACHE[key] = (time.monotonic(), value)


def clear_cache() -> None:
    """Forget every cached payload (tests, after a bulk import)."""
    with _LOCK:
        _CACHE.clear()


def first_paint(conn: Connection, scope: Scope, area_code: str | None,
                params: DashboardParams, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything the dashboard shows at first paint for one area.

    Parameters
    ----------
    scope:
        The viewer's area scope (:func:`gridmap.accounts.scope.scope_for`).
    area_code:
        A street, community or grid code; ``None`` for the viewer's whole area.
    now:
        Evaluation instant (tests); when given, the cache is bypassed.

    Returns
    -------
    dict
        ``area`` (:meth:`Area.to_json`), ``as_of``, ``period_days``, ``kpis``,
        ``children`` and ``units`` (rankings, :func:`gridmap.dashboard.kpis.compute`),
        ``trends`` (:func:`gridmap.dashboard.trends.compute`), ``urgent``
        (:func:`gridmap.dashboard.urgent.recent`) and ``refresh_seconds``.

    Raises
    ------
    NotFound, PermissionDenied
        Unknown area, or outside the scope (:func:`gridmap.dashboard.areas.resolve`).
    """
    area = areas.resolve(conn, scope, area_code)
    key = (area.level, area.id, None if area.community_ids is None
           else tuple(sorted(area.community_ids)), params)
    use_cache = now is None and params.dashboard_cache_seconds > 0
    if use_cache and (hit := _cached(key, params.dashboard_cache_seconds)) is not None:
        return hit
    at = now or dt.datetime.now(dt.UTC)
    out = {"area": area.to_json(), "as_of": at.isoformat(),
           "period_days": params.dashboard_period_days,
           "refresh_seconds": params.dashboard_refresh_seconds,
           **kpis.compute(conn, area, params, at),
           "trends": trends.compute(conn, area, params, at),
           "urgent": urgent.recent(conn, area, at, params.dashboard_urgent_limit)}
    if use_cache:
        _store(key, out)
    return out


_SHAPES = """
SELECT x.{code} AS code, {name} AS name,
       ST_AsGeoJSON(ST_SimplifyPreserveTopology({geom}, :tol), 5) AS geom
FROM {table} x {join}
WHERE {where}
ORDER BY 1
"""


def _shape_sql(area: Area) -> tuple[str, dict[str, Any]]:
    level = area.child_level or "grid"
    table, code = areas.TABLE[level]
    p: dict[str, Any] = {}
    conds = ["true"]
    if level == "grid":
        join = ("JOIN grid_version gv ON gv.community_id = x.community_id AND gv.status = "
                "'active' JOIN grid_geometry gg ON gg.version_id = gv.id AND gg.grid_id = x.id")
        geom, name = "gg.geom", "COALESCE(x.name, x.grid_code)"
        conds.append("x.community_id = :cid" if area.level == "community" else "x.id = :gid")
        p["cid" if area.level == "community" else "gid"] = area.id
    else:
        join, geom, name = "", "x.geom", "x.name"
        if level == "community":
            conds.append("x.street_id = :sid")
            p["sid"] = area.id
    if area.community_ids is not None:
        col = {"street": "x.id IN (SELECT street_id FROM community WHERE id = ANY(:comms))",
               "community": "x.id = ANY(:comms)", "grid": "x.community_id = ANY(:comms)"}
        conds.append(col[level])
        p["comms"] = sorted(area.community_ids)
    sql = _SHAPES.format(code=code, name=name, geom=geom, table=table, join=join,
                         where=" AND ".join(conds))
    return sql, p


def _coverage(conn: Connection, level: str) -> dict[str, float | None]:
    try:
        rows = coverage.summary(conn, level)
    except NotFound:  # coverage never computed: the layer says so (no values)
        return {}
    return {str(r["unit_code"]): r["score"] for r in rows}


def area_shapes(conn: Connection, scope: Scope, area_code: str | None, *,
                tolerance: float = 0.00005, cache_seconds: float = 0.0) -> dict[str, Any]:
    """GeoJSON of the areas one level below ``area_code`` (what the map shows and the
    viewer clicks to drill down), simplified by ``tolerance`` degrees, each with ``code``,
    ``name``, ``level``, ``coverage`` (life-circle score 0–1 of the required facility types,
    :func:`gridmap.access.coverage.summary`; ``None`` when not computed) and ``stars``
    (星级 of a community, mean of its communities for a street; ``None`` when unrated).
    ``cache_seconds`` > 0 keeps the answer that long (per area and scope), like
    :func:`first_paint`."""
    area = areas.resolve(conn, scope, area_code)
    key = ("shapes", area.level, area.id, None if area.community_ids is None
           else tuple(sorted(area.community_ids)), tolerance)
    if cache_seconds > 0 and (hit := _cached(key, cache_seconds)) is not None:
        return hit
    out = _shapes(conn, area, tolerance)
    if cache_seconds > 0:
        _store(key, out)
    return out


def _shapes(conn: Connection, area: Area, tolerance: float) -> dict[str, Any]:
    level = area.child_level or "grid"
    sql, p = _shape_sql(area)
    rows = conn.execute(sa.text(sql), {**p, "tol": tolerance}).mappings().all()
    cov = _coverage(conn, level)
    stars = _stars(conn, level, [str(r["code"]) for r in rows])
    return {"type": "FeatureCollection", "level": level, "area": area.to_json(),
            "features": [{"type": "Feature", "geometry": json.loads(r["geom"]),
                          "properties": {"code": r["code"], "name": r["name"], "level": level,
                                         "coverage": cov.get(str(r["code"])),
                                         "stars": stars.get(str(r["code"]))}}
                         for r in rows if r["geom"] is not None]}


def _stars(conn: Connection, level: str, codes: list[str]) -> dict[str, float]:
    """星级 per area: a community's latest confirmed stars
    (:func:`gridmap.ratings.current_stars`); for a street, the mean over its rated
    communities; none for grids (committees are rated, not grids)."""
    if level == "community":
        return {c: float(st) for c, (st, _) in current_stars(conn, codes).items()}
    if level != "street":
        return {}
    rows = conn.execute(sa.text(
        "SELECT s.code, c.code FROM community c JOIN street s ON s.id = c.street_id "
        "WHERE s.code = ANY(:codes)"), {"codes": codes}).all()
    stars = current_stars(conn, [r[1] for r in rows])
    by_street: dict[str, list[int]] = {}
    for street, comm in rows:
        if comm in stars:
            by_street.setdefault(str(street), []).append(int(stars[comm][0]))
    return {k: round(sum(v) / len(v), 1) for k, v in by_street.items()}


def heat(conn: Connection, scope: Scope, area_code: str | None, params: DashboardParams, *,
         bbox: tuple[float, float, float, float], zoom: int,
         now: dt.datetime | None = None) -> dict[str, Any]:
    """Heat of the area's cases reported in the KPI period or still open, in ``bbox``
    (:func:`gridmap.incidents.hotspots.heat_counts`: points when few, else H3 cells)."""
    area = areas.resolve(conn, scope, area_code)
    if not 0 <= zoom <= 22:
        raise ValidationError("dashboard.bad_zoom", params={"zoom": zoom})
    at = now or dt.datetime.now(dt.UTC)
    filters: dict[str, Any] = {"start": at - dt.timedelta(days=params.dashboard_period_days),
                               "end": at}
    if area.level == "grid":
        filters["grid_ids"] = [area.id]
    elif area.level == "community":
        filters["community_ids"] = [area.id]
    elif area.community_ids is not None:  # a scoped viewer: their communities of the area
        filters["community_ids"] = sorted(area.community_ids)
    elif area.level == "street":
        filters["street_ids"] = [area.id]
    return hotspots.heat_counts(conn, bbox=bbox, zoom=zoom, filters=filters)
