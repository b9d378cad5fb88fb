"""Planner page (15-minute life circle) and its JSON API, calling gridmap.coverage and
gridmap.service_areas. Role ``planner`` (and admin).

- ``GET /planner``: the page (map skeleton only; data come from the API by bbox).
- ``GET /api/planner/coverage?level=estate|community&type=<code>&bbox=&zoom=``: unit
  polygons with the covered share of residents for the type (choropleth).
- ``GET /api/planner/gaps?level=&type=``: the gap list (largest first) with each unit's bbox.
- ``POST /api/planner/whatif`` ``{"add": [{"type", "lon", "lat"}], "remove": [ids],
  "crs": "wgs84"|"gcj02"}``: covered residents before/after (nothing is written).
- ``GET /api/planner/candidates?type=&k=``: best new sites (greedy maximal covering).
- ``GET /api/planner/service_areas?type=&minutes=5|10|15&bbox=``: walking service areas.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import Blueprint, Response, jsonify, render_template, request

from gridmap.access import coverage, service_areas
from gridmap.crs import to_wgs84, wgs84_to_gcj02
from gridmap.errors import Problem, ValidationError
from web import db, maps
from web.auth import roles_required
from web.layers import display_param, feature_collection, parse_bbox, parse_int

bp = Blueprint("planner", __name__)

LEVELS = ("estate", "community")
MAX_WHATIF_POINTS = 50
_UNITS_SQL = {
    "estate": """SELECT e.id, e.code, e.name, e.synthetic, c.name AS community,
                        ST_AsGeoJSON(ST_SimplifyPreserveTopology(e.geom, :tol), 6) AS g
                 FROM estate e LEFT JOIN community c ON c.id = e.community_id
                 WHERE e.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)
                 ORDER BY e.id LIMIT 5000""",
    "community": """SELECT c.id, c.code, c.name, c.synthetic,
                           ST_AsGeoJSON(ST_SimplifyPreserveTopology(c.geom, :tol), 6) AS g
                    FROM community c
                    WHERE c.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)
                    ORDER BY c.id LIMIT 5000""",
}
_EXTENT_SQL = {
    "estate": "SELECT id, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom)"
              " FROM estate WHERE id = ANY(:ids)",
    "community": "SELECT id, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom)"
                 " FROM community WHERE id = ANY(:ids)",
}


def _level() -> str:
    level = request.args.get("level", "estate")
    if level not in LEVELS:
        raise ValidationError(f"level must be one of {', '.join(LEVELS)}",
                              [Problem("unknown level", field="level")])
    return level


def _type(required: bool = True) -> str | None:
    code = request.args.get("type") or None
    if code is None and required:
        raise ValidationError("type is required (a facility type code)",
                              [Problem("missing", field="type")])
    return code


def _district_extent() -> tuple[float, float, float, float] | None:
    with db.read() as conn:
        row = conn.execute(sa.text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM"
            " (SELECT ST_Extent(geom) AS e FROM community) s")).first()
    if row is None or row[0] is None:
        return None
    return float(row[0]), float(row[1]), float(row[2]), float(row[3])


@bp.get("/planner")
@roles_required("planner")
def page() -> str:
    """The planner map page."""
    extent = _district_extent()
    center = ((extent[1] + extent[3]) / 2, (extent[0] + extent[2]) / 2) if extent else None
    parts = maps.build_map(center=center, zoom=14, plugins=("vectorgrid",), bounds=extent)
    with db.read() as conn:
        types = [dict(r) for r in conn.execute(sa.text(
            """SELECT t.code, t.name_zh, t.name_en, t.tier, t.radius_m, count(f.id) AS n
               FROM facility_type t LEFT JOIN facility f ON f.type_code = t.code
               GROUP BY t.code ORDER BY array_position(
                 ARRAY['5min','10min','15min','block']::varchar[], t.tier), t.code""")).mappings()]
        synthetic = bool(conn.execute(sa.text(
            "SELECT EXISTS (SELECT 1 FROM building WHERE synthetic)"
            " OR EXISTS (SELECT 1 FROM facility WHERE synthetic)"
            " OR EXISTS (SELECT 1 FROM community WHERE synthetic)")).scalar())
    return render_template("planner/page.html", map=parts, types=types, synthetic=synthetic,
                           minutes=service_areas.MINUTES)


@bp.get("/api/planner/coverage")
@roles_required("planner")
def coverage_layer() -> Response:
    """Units of ``level`` in the bbox with ``share`` (residents covered / residents)."""
    level, code = _level(), _type()
    x0, y0, x1, y1 = parse_bbox(request.args.get("bbox"))
    zoom = parse_int("zoom", 0, 22, 14)
    display = display_param()
    with db.read() as conn:
        rows = coverage.summary(conn, level, code)
        units = [dict(r) for r in conn.execute(sa.text(_UNITS_SQL[level]), {
            "x0": x0, "y0": y0, "x1": x1, "y1": y1,
            "tol": 180.0 / (256 * 2**zoom)}).mappings()]
    by_id = {r["unit_id"]: r for r in rows}
    for u in units:
        s = by_id.get(u["id"])
        t = (s or {}).get("types", {}).get(code) if s else None
        u["residents"] = s["residents"] if s else None
        u["residents_covered"] = t["residents_covered"] if t else None
        u["share"] = t["share"] if t else None
        u["score"] = s["score"] if s else None
    return feature_collection(units, display, level=level, type=code,
                              synthetic=any(u.get("synthetic") for u in units))


@bp.get("/api/planner/gaps")
@roles_required("planner")
def gaps() -> Response:
    """The gap list for ``level`` (optionally one type), with each unit's bbox for zoom-to."""
    level, code = _level(), _type(required=False)
    limit = parse_int("limit", 1, 1000, 200)
    display = display_param()
    with db.read() as conn:
        if code is not None:
            known = conn.execute(sa.text("SELECT 1 FROM facility_type WHERE code = :c"),
                                 {"c": code}).first()
            if known is None:
                raise ValidationError(f"unknown facility type {code!r}",
                                      [Problem("unknown", field="type")])
        rows = [g for g in coverage.gaps(conn, level) if code is None or g["type_code"] == code]
        rows = rows[:limit]
        ext = {int(r[0]): [float(v) for v in r[1:]] for r in conn.execute(
            sa.text(_EXTENT_SQL[level]), {"ids": [g["unit_id"] for g in rows]})}
    for g in rows:
        bbox = ext.get(g["unit_id"])
        if bbox and display == "gcj02":
            lon, lat = wgs84_to_gcj02(np.array(bbox[0::2]), np.array(bbox[1::2]))
            bbox = [float(lon[0]), float(lat[0]), float(lon[1]), float(lat[1])]
        g["bbox"] = bbox
    return jsonify({"level": level, "gaps": rows})


def _whatif_input(body: Any) -> tuple[list[tuple[str, float, float]], list[int]]:
    problems: list[Problem] = []
    if not isinstance(body, dict):
        raise ValidationError("body must be a JSON object {add: [...], remove: [...]}",
                              [Problem("not an object")])
    add_raw, remove_raw = body.get("add") or [], body.get("remove") or []
    crs = body.get("crs", "wgs84")
    if crs not in ("wgs84", "gcj02"):
        problems.append(Problem("crs must be wgs84 or gcj02", field="crs"))
    if not isinstance(add_raw, list) or not isinstance(remove_raw, list):
        raise ValidationError("add and remove must be lists", [Problem("not a list")])
    if len(add_raw) + len(remove_raw) > MAX_WHATIF_POINTS:
        problems.append(Problem(f"at most {MAX_WHATIF_POINTS} facilities per what-if"))
    add: list[tuple[str, float, float]] = []
    for i, item in enumerate(add_raw, start=1):
        if not isinstance(item, dict):
            problems.append(Problem("expected {type, lon, lat}", row=i, field="add"))
            continue
        try:
            lon, lat = float(item.get("lon")), float(item.get("lat"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            problems.append(Problem("lon and lat must be numbers", row=i, field="add"))
            continue
        if not (np.isfinite(lon) and np.isfinite(lat)):
            problems.append(Problem("lon and lat must be finite", row=i, field="add"))
            continue
        add.append((str(item.get("type") or ""), lon, lat))
    remove: list[int] = []
    for i, fid in enumerate(remove_raw, start=1):
        if isinstance(fid, bool) or not isinstance(fid, int):
            problems.append(Problem("facility ids must be integers", row=i, field="remove"))
        else:
            remove.append(fid)
    if problems:
        raise ValidationError("what-if input is invalid", problems)
    if crs == "gcj02" and add:
        lon_w, lat_w = to_wgs84(np.array([a[1] for a in add]), np.array([a[2] for a in add]),
                                "gcj02")
        add = [(a[0], float(x), float(y)) for a, x, y in zip(add, lon_w, lat_w, strict=True)]
    return add, remove


@bp.post("/api/planner/whatif")
@roles_required("planner")
def whatif() -> Response:
    """Covered residents before/after hypothetical facilities (nothing is written)."""
    add, remove = _whatif_input(request.get_json(silent=True))
    settings = db.current_app.extensions["gridmap.settings"]
    with db.read() as conn:
        result = coverage.what_if(conn, add=add, remove=remove,
                                  speed_m_per_min=settings.walking_speed_m_per_min)
        names = {int(r[0]): r[1] for r in conn.execute(sa.text(
            "SELECT id, name FROM community WHERE id = ANY(:ids)"),
            {"ids": [c["community_id"] for c in result["by_community"]
                     if c["community_id"] is not None]})}
    for c in result["by_community"]:
        c["community_name"] = names.get(c["community_id"])
    return jsonify(result)


@bp.get("/api/planner/candidates")
@roles_required("planner")
def candidates() -> Response:
    """The ``k`` best new sites for a type (greedy maximal covering)."""
    code = _type()
    assert code is not None
    k = parse_int("k", 1, 50, 5)
    display = display_param()
    settings = db.current_app.extensions["gridmap.settings"]
    with db.read() as conn:
        rows = coverage.candidates(conn, code, k,
                                   speed_m_per_min=settings.walking_speed_m_per_min)
    if display == "gcj02" and rows:
        lon, lat = wgs84_to_gcj02(np.array([r["lon"] for r in rows]),
                                  np.array([r["lat"] for r in rows]))
        for r, x, y in zip(rows, lon, lat, strict=True):
            r["lon"], r["lat"] = float(x), float(y)
    return jsonify({"type": code, "candidates": rows})


@bp.get("/api/planner/service_areas")
@roles_required("planner")
def service_area_layer() -> Response:
    """Walking service areas of a type (5/10/15 minutes) in the bbox."""
    code = _type()
    assert code is not None
    minutes = parse_int("minutes", 1, 60, 15)
    bbox = parse_bbox(request.args.get("bbox"))
    display = display_param()
    with db.read() as conn:
        fc = service_areas.geojson(conn, type_code=code, minutes=minutes, bbox=bbox)
    if display == "gcj02" and fc["features"]:
        import json

        from web.layers import shift_geojson

        shifted = shift_geojson([json.dumps(f["geometry"]) for f in fc["features"]])
        for f, g in zip(fc["features"], shifted, strict=True):
            f["geometry"] = json.loads(g)
    fc["display"] = display
    return Response(db.current_app.json.dumps(fc), mimetype="application/geo+json")
