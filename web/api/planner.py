"""Planner JSON API (15-minute life circle), calling :mod:`gridmap.access.coverage` and
:mod:`gridmap.access.service_areas`. Role ``planner`` (and admin).

- ``GET /api/planner/coverage?level=estate|community&type=<code>&bbox=&zoom=``: unit
  polygons with the covered share of residents for the type (choropleth).
- ``GET /api/planner/gaps?level=&type=``: the gap list (largest first) with each unit's bbox.
- ``POST /api/planner/whatif`` ``{"add": [{"type", "lon", "lat"}], "remove": [ids],
  "crs": "wgs84"|"gcj02"}``: covered residents before/after (nothing is written).
- ``GET /api/planner/candidates?type=&k=``: best new sites (greedy maximal covering).
- ``GET /api/planner/service_areas?type=&minutes=5|10|15&bbox=``: walking service areas.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from flask import Blueprint, Response, current_app, jsonify

from gridmap import mapdata
from gridmap.access import coverage, service_areas
from gridmap.crs import to_wgs84, wgs84_to_gcj02
from web import db
from web.access import roles_required
from web.api import schemas
from web.api.common import feature_collection, settings, shift_bbox, shift_geojson
from web.api.parsing import use

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
    """The gap list for ``level`` (optionally one type), with each unit's bbox for zoom-to."""
    level, code = args["level"], args.get("type") or None
    with db.read() as conn:
        if code is not None:
            mapdata.check_facility_type(conn, code)
        rows = [g for g in coverage.gaps(conn, level) if code is None or g["type_code"] == code]
        rows = rows[: args["limit"]]
        ext = mapdata.unit_extents(conn, level, [g["unit_id"] for g in rows])
    for g in rows:
        g["bbox"] = shift_bbox(ext.get(g["unit_id"]), args["display"])
    return jsonify({"level": level, "gaps": rows})


def _to_wgs84(add: list[tuple[str, float, float]]) -> list[tuple[str, float, float]]:
    lon_w, lat_w = to_wgs84(np.array([a[1] for a in add]), np.array([a[2] for a in add]),
                            "gcj02")
    return [(a[0], float(x), float(y)) for a, x, y in zip(add, lon_w, lat_w, strict=True)]


@bp.post("/whatif")
@roles_required("planner")
@use(schemas.WhatIfBody, "json")
def whatif(body: dict[str, Any]) -> Response:
    """Covered residents before/after hypothetical facilities (nothing is written)."""
    add = [(str(p.get("type") or ""), p["lon"], p["lat"]) for p in body["add"]]
    if body["crs"] == "gcj02" and add:
        add = _to_wgs84(add)
    with db.read() as conn:
        result = coverage.what_if(conn, add=add, remove=body["remove"],
                                  speed_m_per_min=settings().walking_speed_m_per_min)
        names = mapdata.community_names(conn, [c["community_id"] for c in result["by_community"]
                                               if c["community_id"] is not None])
    for c in result["by_community"]:
        c["community_name"] = names.get(c["community_id"])
    return jsonify(result)


@bp.get("/candidates")
@roles_required("planner")
@use(schemas.CandidatesQuery)
def candidates(args: dict[str, Any]) -> Response:
    """The ``k`` best new sites for a type (greedy maximal covering)."""
    with db.read() as conn:
        rows = coverage.candidates(conn, args["type"], args["k"],
                                   speed_m_per_min=settings().walking_speed_m_per_min)
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
    if args["display"] == "gcj02" and fc["features"]:
        shifted = shift_geojson([json.dumps(f["geometry"]) for f in fc["features"]])
        for f, g in zip(fc["features"], shifted, strict=True):
            f["geometry"] = json.loads(g)
    fc["display"] = args["display"]
    return Response(current_app.json.dumps(fc), mimetype="application/geo+json")
