"""Aggregates for the supervision map: heatmap, per-grid indicator choropleth, hotspots,
and one grid's indicators with its open cases.

``/api/aggregates/heat`` switches from raw points to per-cell counts above
:data:`HEAT_POINT_THRESHOLD` points. Aggregates are cached briefly per scope
(:func:`web.api.common.cached_json`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import h3
from flask import Blueprint, Response, current_app

from gridmap import incidents
from gridmap.accounts import scope as scopes
from gridmap.incidents import hotspots, indicators
from web import db, i18n
from web.access import current_scope, roles_required
from web.api import schemas
from web.api.common import cached_json, incident_feature, json_response, jsonable
from web.api.parsing import use

bp = Blueprint("aggregates", __name__)

READ_ROLES = ("supervisor", "officer")  # admin passes every role check
HEAT_POINT_THRESHOLD = 20_000
"""Above this many matching incidents the heat endpoint returns per-cell counts."""
HEAT_REF_DENSITY = 5_000.0
"""Incidents per km² shown at full intensity (fixed, so colours mean the same at every zoom)."""
OPEN_CASES_SHOWN = 20


@bp.get("/api/aggregates/heat")
@roles_required(*READ_ROLES)
@use(schemas.HeatQuery)
def heat(args: dict[str, Any]) -> Response:
    """Heatmap data: raw points below a threshold, else per-H3-cell counts.

    Cells are H3 at a resolution chosen from zoom; ``intensity`` = cell density
    (incidents per km²) against a fixed reference density, clipped to 1, so colours mean
    the same at every zoom.
    """
    scope = current_scope()
    threshold = int(current_app.config.get("HEAT_POINT_THRESHOLD", HEAT_POINT_THRESHOLD))
    bbox, zoom = args.pop("bbox"), args.pop("zoom")
    filters = scope.restrict(args)

    def compute() -> dict[str, Any]:
        with db.read() as conn:
            result = hotspots.heat_counts(conn, bbox=bbox, zoom=zoom, filters=filters,
                                          point_threshold=threshold)
        return shape_heat(result)

    return cached_json("heat", scope, compute)


def density_intensity(count: int, area_km2: float, ref_density: float = HEAT_REF_DENSITY) -> float:
    """Zoom-independent colour value in (0, 1]: log density against a fixed reference.

    ``log1p(count / area) / log1p(ref_density)``, clipped to 1. Using density (per km²)
    instead of count / max-count means a colour stands for the same density at every
    zoom and in every view (an H3 cell is ~7× smaller per resolution step).
    """
    density = count / max(area_km2, 1e-9)
    return float(min(1.0, max(math.log1p(density) / math.log1p(ref_density), 1e-3)))


def shape_heat(result: Mapping[str, Any]) -> dict[str, Any]:
    """Library heat counts → the page's payload.

    Points become ``[lat, lon]`` (Leaflet order); H3 cells get their hexagon ``boundary``
    (``[[lat, lon], …]``) and a density-based ``intensity``.
    """
    out: dict[str, Any] = {"mode": result["mode"], "total": result["total"]}
    if result["mode"] == "points":
        out["points"] = [[p[1], p[0]] for p in result["points"]]
        return out
    out["resolution"] = result.get("resolution")
    cells = []
    for c in result["cells"]:
        cell = {k: c[k] for k in ("count", "lat", "lon") if k in c}
        if "h3" in c:
            cell["h3"] = c["h3"]
            cell["boundary"] = [[round(a, 6), round(b, 6)] for a, b in h3.cell_to_boundary(c["h3"])]
            cell["intensity"] = density_intensity(int(c["count"]), h3.cell_area(c["h3"], "km^2"))
        else:
            cell["grid_id"] = c.get("grid_id")
            cell["intensity"] = float(c.get("intensity", 0))
        cells.append(cell)
    out["cells"] = cells
    return out


@bp.get("/api/aggregates/grids")
@roles_required(*READ_ROLES)
@use(schemas.GridIndicatorQuery)
def grid_indicators(args: dict[str, Any]) -> Response:
    """Per-grid indicators (结案率, 按期结案率, 超期未结) as GeoJSON for a choropleth."""
    scope = current_scope()
    # window=all: every case (intake refuses report times before 2000) up to now
    start = args["start"] or schemas.EARLIEST_CASE
    end = args["end"] or datetime.now(UTC)

    def compute() -> dict[str, Any]:
        with db.read() as conn:
            fc = indicators.grid_choropleth(conn, start, end, bbox=args["bbox"],
                                            community_ids=scope.ids())
        for f in fc["features"]:
            f["properties"] = grid_indicator_props(f["properties"])
        return fc

    return cached_json("grids", scope, compute)


def grid_indicator_props(stats: Mapping[str, Any]) -> dict[str, Any]:
    """Indicator row of :mod:`gridmap.incidents.indicators` → the page's keys (rates 0..1)."""
    def frac(v: Any) -> float | None:
        return None if v is None else round(float(v) / 100.0, 6)

    out = {k: jsonable(v) for k, v in stats.items()}
    out["grid_id"] = stats.get("unit_id")
    out["grid_code"] = stats.get("code")
    out["closure_rate"] = frac(stats.get("close_rate"))
    out["ontime_rate"] = frac(stats.get("on_time_rate"))
    out.setdefault("overdue_open", 0)
    return out


@bp.get("/api/hotspots")
@roles_required(*READ_ROLES)
@use(schemas.HotspotQuery)
def hotspot_list(args: dict[str, Any]) -> Response:
    """Significantly high grids or H3 cells (Getis-Ord Gi*), not just the top N."""
    scope = current_scope()
    level = args.pop("level")
    filters = scope.restrict(args)

    def compute() -> dict[str, Any]:
        with db.read() as conn:
            result: dict[str, Any] = hotspots.hotspots(conn, level, filters)
        return result

    return cached_json("hotspots", scope, compute)


@bp.get("/supervisor/api/grids/<int:grid_id>")
@roles_required("supervisor")
@use(schemas.WindowQuery)
def grid_summary(grid_id: int, args: dict[str, Any]) -> Response:
    """A grid's indicators for the window and its open cases (supervisor page; masked)."""
    scope = current_scope()
    now = datetime.now(UTC)
    start = args.get("start") or now - timedelta(days=30)
    end = args.get("end") or now
    with db.read() as conn:
        grid = scopes.get_grid(conn, scope, grid_id)
        ind = indicators.compute(conn, "grid", start, end, unit_ids=[grid_id], all_units=True)
        cases = incidents.list_incidents(conn, {"grid_ids": [grid_id], "open": True}, 1,
                                         OPEN_CASES_SHOWN)  # the grid is in the scope
    open_cases = []
    for f in (incident_feature(r, scope) for r in cases["items"]):
        p = f["properties"]
        p["state_label"] = i18n.t(f"state.{p.get('state', '')}") if p.get("state") else ""
        open_cases.append({"id": f["id"], **p})
    row = grid_indicator_props(ind[0] if ind else {"unit_id": grid_id})
    return json_response({"grid": grid, "indicators": row, "open_cases": open_cases,
                          "open_total": cases["total"]})
