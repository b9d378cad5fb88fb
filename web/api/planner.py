"""Planner JSON API (15-minute life circle), calling :mod:`gridmap.access.coverage` and
:mod:`gridmap.access.service_areas`. Role ``planner`` (and admin).

- ``GET /api/planner/coverage?level=estate|community&type=<code>&bbox=&zoom=``: unit
  polygons with the covered share of residents for the type (choropleth).
- ``GET /api/planner/gaps?level=&type=``: the gap list (largest first) with each unit's bbox.
- ``POST /api/planner/whatif`` ``{"add": [{"type", "lon", "lat"}], "remove": [ids],
  "crs": "wgs84"|"gcj02", "level": "estate"|"community", "type": <focus code>}``: covered
  residents before/after, the changed units of ``level`` (share before/after, residents
  gained) and each added site's service area at its tier radius (nothing is written).
- ``GET /api/planner/gaps.xlsx?level=&type=``: the gap list as a workbook.
- ``GET /api/planner/candidates?type=&k=``: best new sites (greedy maximal covering), each
  with its estate/community, nearest named road and the estates it newly serves.
- ``GET /api/planner/service_areas?type=&minutes=5|10|15&bbox=``: walking service areas.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
from flask import Blueprint, Response, current_app, jsonify, send_file

from gridmap import mapdata
from gridmap.access import coverage, export, impact, service_areas
from gridmap.crs import to_wgs84, wgs84_to_gcj02
from web import db, i18n
from web.access import roles_required
from web.api import schemas
from web.api.common import feature_collection, settings, shift_bbox, shift_geojson
from web.api.parsing import use
from web.api.planner_schemas import GapsExportQuery, WhatIfDetailBody

bp = Blueprint("planner_api", __name__, url_prefix="/api/planner")


@bp.get("/coverage")
@roles_required("planner")
@use(schemas.CoverageQuery)
def coverage_layer(args: dict[str, Any]) -> Response:
    """Units of ``level`` in the bbox with ``share`` (residents covered / residents)."""
    level, code = args["level"], args["type"]
    with db.read() as conn:
        rows = coverage.summary(conn, level, code)
        units = mapdata.units(conn, level, args["bbox"], args["zoom"])
    by_id = {r["unit_id"]: r for r in rows}
    for u in units:
        s = by_id.get(u["id"])
        t = (s or {}).get("types", {}).get(code) if s else None
        u["residents"] = s["residents"] if s else None
        u["residents_covered"] = t["residents_covered"] if t else None
        u["share"] = t["share"] if t else None
        u["score"] = s["score"] if s else None
    return feature_collection(units, args["display"], level=level, type=code,
                              synthetic=any(u.get("synthetic") for u in units))


@bp.get("/gaps")
@roles_required("planner")
@use(schemas.GapsQuery)
def gaps(args: dict[str, Any]) -> Response:
    """The gap list for ``level`` (optionally one type), with each unit's bbox for zoom-to
    and the covered ``share``."""
    level, code = args["level"], args.get("type") or None
    with db.read() as conn:
        rows = _gap_rows(conn, level, code, args["limit"])
        ext = mapdata.unit_extents(conn, level, [g["unit_id"] for g in rows])
    for g in rows:
        g["bbox"] = shift_bbox(ext.get(g["unit_id"]), args["display"])
    return jsonify({"level": level, "type": code, "gaps": rows})


def _gap_rows(conn: Any, level: str, code: str | None, limit: int) -> list[dict[str, Any]]:
    if code is not None:
        mapdata.check_facility_type(conn, code)
    rows = [g for g in coverage.gaps(conn, level) if code is None or g["type_code"] == code]
    return rows[:limit]


@bp.get("/gaps.xlsx")
@roles_required("planner")
@use(GapsExportQuery)
def gaps_xlsx(args: dict[str, Any]) -> Response:
    """The gap list as an XLSX workbook (headers in the page's language)."""
    level, code = args["level"], args.get("type") or None
    with db.read() as conn:
        rows = _gap_rows(conn, level, code, args["limit"])
    data = export.gaps_xlsx(rows, lang=i18n.current_language(), title=f"{level}-{code or 'all'}")
    return send_file(io.BytesIO(data), as_attachment=True,
                     download_name=f"gaps-{level}-{code or 'all'}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _to_wgs84(add: list[tuple[str, float, float]]) -> list[tuple[str, float, float]]:
    lon_w, lat_w = to_wgs84(np.array([a[1] for a in add]), np.array([a[2] for a in add]),
                            "gcj02")
    return [(a[0], float(x), float(y)) for a, x, y in zip(add, lon_w, lat_w, strict=True)]


@bp.post("/whatif")
@roles_required("planner")
@use(WhatIfDetailBody, "json")
def whatif(body: dict[str, Any]) -> Response:
    """Covered residents before/after hypothetical facilities, the changed units and the
    new sites' service areas (nothing is written)."""
    add = [(str(p.get("type") or ""), p["lon"], p["lat"]) for p in body["add"]]
    if body["crs"] == "gcj02" and add:
        add = _to_wgs84(add)
    with db.read() as conn:
        result = impact.what_if_detail(conn, add=add, remove=body["remove"],
                                       level=body["level"], type_code=body.get("type") or None,
                                       speed_m_per_min=settings().walking_speed_m_per_min)
        names = mapdata.community_names(conn, [c["community_id"] for c in result["by_community"]
                                               if c["community_id"] is not None])
        ext = mapdata.unit_extents(conn, body["level"], [u["unit_id"] for u in result["units"]])
    for c in result["by_community"]:
        c["community_name"] = names.get(c["community_id"])
    for u in result["units"]:
        u["bbox"] = shift_bbox(ext.get(u["unit_id"]), body["crs"])
    if body["crs"] == "gcj02":
        _shift_features(result["service_areas"]["features"])
    return jsonify(result)


def _shift_features(features: list[dict[str, Any]]) -> None:
    """Shift the (non-null) geometries of GeoJSON features to GCJ-02 in place."""
    having = [f for f in features if f.get("geometry")]
    if having:
        shifted = shift_geojson([json.dumps(f["geometry"]) for f in having])
        for f, g in zip(having, shifted, strict=True):
            f["geometry"] = json.loads(g)


@bp.get("/candidates")
@roles_required("planner")
@use(schemas.CandidatesQuery)
def candidates(args: dict[str, Any]) -> Response:
    """The ``k`` best new sites for a type (greedy maximal covering)."""
    with db.read() as conn:
        rows = coverage.candidates(conn, args["type"], args["k"],
                                   speed_m_per_min=settings().walking_speed_m_per_min)
        rows = impact.describe_sites(conn, rows)
    if args["display"] == "gcj02" and rows:
        lon, lat = wgs84_to_gcj02(np.array([r["lon"] for r in rows]),
                                  np.array([r["lat"] for r in rows]))
        for r, x, y in zip(rows, lon, lat, strict=True):
            r["lon"], r["lat"] = float(x), float(y)
    return jsonify({"type": args["type"], "candidates": rows})


@bp.get("/service_areas")
@roles_required("planner")
@use(schemas.ServiceAreaQuery)
def service_area_layer(args: dict[str, Any]) -> Response:
    """Walking service areas of a type (5/10/15 minutes) in the bbox."""
    with db.read() as conn:
        fc = service_areas.geojson(conn, type_code=args["type"], minutes=args["minutes"],
                                   bbox=args["bbox"])
    if args["display"] == "gcj02":
        _shift_features(fc["features"])
    fc["display"] = args["display"]
    return Response(current_app.json.dumps(fc), mimetype="application/geo+json")
