"""Map layers for the pages: GeoJSON by bbox and zoom, vector tiles, name search.

- ``GET /api/layers/<layer>?bbox=lon0,lat0,lon1,lat1&zoom=z[&type=code][&display=gcj02]``
  for ``communities``, ``estates``, ``buildings``, ``grids`` (active versions),
  ``facilities`` (optionally one type), ``street_blocks``, ``streets``. Each layer has a
  minimum zoom and a maximum bbox size, and a feature cap (``truncated: true`` when
  hit), so a whole district's buildings are never sent as one GeoJSON. Polygons are
  simplified to about half a pixel at the requested zoom.
- ``GET /api/tiles/<layer>/<z>/<x>/<y>.pbf``: Mapbox vector tiles from ``ST_AsMVT``
  (``buildings``, ``estates``, ``grids``, ``communities``).
- ``GET /api/facility_types``: the catalogue with facility counts.
- ``GET /api/search?q=``: communities and estates by name.

``display=gcj02`` returns coordinates shifted to GCJ-02 for display on a GCJ-02
basemap (gridmap.crs; stored data stay WGS84). Every string is returned as data:
pages put it in the DOM with ``textContent``. Bad parameters give 400 with a message.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import shapely
import sqlalchemy as sa
from flask import Blueprint, Response, jsonify, request

from gridmap.crs import wgs84_to_gcj02
from gridmap.errors import NotFound, Problem, ValidationError
from web import db
from web.auth import login_required

bp = Blueprint("layers", __name__)


@dataclass(frozen=True)
class LayerSpec:
    """One GeoJSON layer: SQL (a fixed string with binds), zoom and size limits."""

    sql: str
    min_zoom: int
    max_span_deg: float
    max_features: int


_BBOX = "geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)"
_SIMPLE = "ST_AsGeoJSON(ST_SimplifyPreserveTopology({g}, :tol), 6)"

# The SQL strings are constants: only bind values come from the request.
LAYERS: dict[str, LayerSpec] = {
    "streets": LayerSpec(
        f"SELECT id, code, name, synthetic, {_SIMPLE.format(g='geom')} AS g FROM street"  # noqa: S608
        f" WHERE {_BBOX} ORDER BY code LIMIT :lim", 9, 2.0, 500),
    "communities": LayerSpec(
        f"""SELECT c.id, c.code, c.name, c.synthetic, s.name AS street,
               {_SIMPLE.format(g='c.geom')} AS g
            FROM community c JOIN street s ON s.id = c.street_id
            WHERE c.{_BBOX} ORDER BY c.code LIMIT :lim""", 11, 1.0, 2000),  # noqa: S608
    "estates": LayerSpec(
        f"""SELECT e.id, e.code, e.name, e.synthetic, c.name AS community,
               {_SIMPLE.format(g='e.geom')} AS g
            FROM estate e LEFT JOIN community c ON c.id = e.community_id
            WHERE e.{_BBOX} ORDER BY e.id LIMIT :lim""", 13, 0.3, 3000),  # noqa: S608
    "buildings": LayerSpec(
        f"""SELECT b.id, b.code, b.name, b.synthetic, b.residential, b.levels,
               b.households, b.residents, b.population_source, e.name AS estate,
               ST_AsGeoJSON(b.geom, 6) AS g
            FROM building b LEFT JOIN estate e ON e.id = b.estate_id
            WHERE b.{_BBOX} ORDER BY b.id LIMIT :lim""", 15, 0.08, 5000),  # noqa: S608
    "grids": LayerSpec(
        f"""SELECT g.id, g.grid_code AS code, g.name, g.synthetic, g.grid_kind,
               c.name AS community, v.generation, v.valid_from,
               {_SIMPLE.format(g='gg.geom')} AS g
            FROM grid_geometry gg
            JOIN grid_version v ON v.id = gg.version_id AND v.status = 'active'
            JOIN grid g ON g.id = gg.grid_id
            JOIN community c ON c.id = g.community_id
            WHERE gg.{_BBOX} ORDER BY g.grid_code LIMIT :lim""", 12, 0.6, 3000),  # noqa: S608
    "facilities": LayerSpec(
        """SELECT f.id, f.name, f.synthetic, f.type_code, t.name_zh AS type_name_zh,
               t.name_en AS type_name_en, t.tier, f.capacity,
               ST_AsGeoJSON(f.location, 6) AS g
            FROM facility f JOIN facility_type t ON t.code = f.type_code
            WHERE f.location && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)
              AND (CAST(:type AS text) IS NULL OR f.type_code = :type)
            ORDER BY f.id LIMIT :lim""", 11, 1.0, 5000),
    "street_blocks": LayerSpec(
        f"""SELECT b.id, b.area_m2, c.name AS community, {_SIMPLE.format(g='b.geom')} AS g
            FROM street_block b LEFT JOIN community c ON c.id = b.community_id
            WHERE b.{_BBOX} ORDER BY b.id LIMIT :lim""", 13, 0.3, 3000),  # noqa: S608
}

TILE_LAYERS: dict[str, tuple[str, str, int]] = {
    # name -> (table with geom, properties SQL, min zoom)
    "buildings": ("building", "id, name, residential, levels, households, residents, synthetic", 13),
    "estates": ("estate", "id, name, synthetic", 11),
    "communities": ("community", "id, code, name, synthetic", 9),
}
TILE_SQL = {
    name: f"""
        WITH env AS (SELECT ST_TileEnvelope(:z, :x, :y) AS e),
        q AS (
          SELECT {props},
                 ST_AsMVTGeom(ST_Transform(ST_Translate(t.geom, :dx, :dy), 3857), env.e,
                              4096, 64, true) AS geom
          FROM {table} t, env
          WHERE t.geom && ST_Translate(ST_Transform(env.e, 4326), -:dx, -:dy)
        )
        SELECT ST_AsMVT(q, :layer, 4096, 'geom') FROM q WHERE geom IS NOT NULL
    """  # noqa: S608 (table and column names are constants above)
    for name, (table, props, _z) in TILE_LAYERS.items()
}
GRID_TILE_SQL = """
    WITH env AS (SELECT ST_TileEnvelope(:z, :x, :y) AS e),
    q AS (
      SELECT g.id, g.grid_code AS code, g.name, g.synthetic,
             ST_AsMVTGeom(ST_Transform(ST_Translate(gg.geom, :dx, :dy), 3857), env.e,
                          4096, 64, true) AS geom
      FROM grid_geometry gg
      JOIN grid_version v ON v.id = gg.version_id AND v.status = 'active'
      JOIN grid g ON g.id = gg.grid_id, env
      WHERE gg.geom && ST_Translate(ST_Transform(env.e, 4326), -:dx, -:dy)
    )
    SELECT ST_AsMVT(q, :layer, 4096, 'geom') FROM q WHERE geom IS NOT NULL
"""
TILE_LAYERS["grids"] = ("grid_geometry", "", 11)
TILE_SQL["grids"] = GRID_TILE_SQL


def parse_bbox(raw: str | None, field: str = "bbox") -> tuple[float, float, float, float]:
    """``lon_min,lat_min,lon_max,lat_max`` → floats; ValidationError when malformed."""
    if not raw:
        raise ValidationError(f"{field} is required (lon_min,lat_min,lon_max,lat_max)",
                              [Problem("missing", field=field)])
    try:
        vals = tuple(float(v) for v in raw.split(","))
    except ValueError:
        vals = ()
    if len(vals) != 4 or not all(math.isfinite(v) for v in vals):
        raise ValidationError(f"{field} must be four numbers lon_min,lat_min,lon_max,lat_max",
                              [Problem("malformed", field=field)])
    x0, y0, x1, y1 = vals
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise ValidationError(
            f"{field} must have lon_min < lon_max in [-180, 180] and lat_min < lat_max in [-90, 90]",
            [Problem("out of range", field=field)])
    return x0, y0, x1, y1


def parse_int(name: str, lo: int, hi: int, default: int | None = None) -> int:
    """Integer query parameter in ``[lo, hi]`` (400 otherwise)."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        if default is None:
            raise ValidationError(f"{name} is required", [Problem("missing", field=name)])
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(f"{name} must be an integer", [Problem("malformed", field=name)]
                              ) from None
    if not lo <= value <= hi:
        raise ValidationError(f"{name} must be between {lo} and {hi}",
                              [Problem("out of range", field=name)])
    return value


def display_param() -> str:
    """``wgs84`` (default) or ``gcj02`` from ``?display=``."""
    value = request.args.get("display", "wgs84")
    if value not in ("wgs84", "gcj02"):
        raise ValidationError("display must be wgs84 or gcj02", [Problem("unknown", field="display")])
    return value


def shift_geojson(geoms: list[str]) -> list[str]:
    """GeoJSON geometry strings shifted WGS84 → GCJ-02 (one vectorised pass)."""
    if not geoms:
        return geoms
    arr = shapely.from_geojson(np.asarray(geoms, dtype=object))

    def _shift(xy: np.ndarray) -> np.ndarray:
        lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
        return np.column_stack([np.round(lon, 6), np.round(lat, 6)])

    return list(shapely.to_geojson(shapely.transform(arr, _shift)))


def feature_collection(rows: list[dict], display: str, **extra: object) -> Response:
    """Rows with a ``g`` GeoJSON string column → FeatureCollection response."""
    geoms = [r.pop("g") for r in rows]
    if display == "gcj02":
        geoms = shift_geojson(geoms)
    for r in rows:
        for k, v in r.items():
            if hasattr(v, "isoformat"):
                r[k] = v.isoformat()
    features = ",".join(
        '{"type":"Feature","id":' + json.dumps(r.get("id")) + ',"geometry":' + g
        + ',"properties":' + json.dumps(r, ensure_ascii=False) + "}"
        for r, g in zip(rows, geoms, strict=True)
    )
    meta = json.dumps({"display": display, **extra}, ensure_ascii=False)[1:-1]
    body = '{"type":"FeatureCollection",' + meta + ',"features":[' + features + "]}"
    return Response(body, mimetype="application/geo+json")


@bp.get("/api/layers/<name>")
@login_required
def layer(name: str) -> Response:
    """One layer as GeoJSON, limited by bbox, zoom and a feature cap."""
    spec = LAYERS.get(name)
    if spec is None:
        raise NotFound(f"unknown layer {name!r}; layers: {', '.join(sorted(LAYERS))}")
    x0, y0, x1, y1 = parse_bbox(request.args.get("bbox"))
    zoom = parse_int("zoom", 0, 22)
    display = display_param()
    if zoom < spec.min_zoom:
        raise ValidationError(f"zoom in to at least {spec.min_zoom} for layer {name}",
                              [Problem("zoom too small", field="zoom")])
    if x1 - x0 > spec.max_span_deg or y1 - y0 > spec.max_span_deg:
        raise ValidationError(
            f"bbox too large for layer {name} (at most {spec.max_span_deg}° per side)",
            [Problem("bbox too large", field="bbox")])
    type_code = request.args.get("type") or None
    tol = 180.0 / (256 * 2**zoom)  # about half a pixel at this zoom, in degrees
    with db.read() as conn:
        if type_code is not None:
            known = conn.execute(sa.text("SELECT 1 FROM facility_type WHERE code = :c"),
                                 {"c": type_code}).first()
            if known is None:
                raise ValidationError(f"unknown facility type {type_code!r}",
                                      [Problem("unknown", field="type")])
        rows = [dict(r) for r in conn.execute(sa.text(spec.sql), {
            "x0": x0, "y0": y0, "x1": x1, "y1": y1, "tol": tol, "type": type_code,
            "lim": spec.max_features + 1}).mappings()]
    truncated = len(rows) > spec.max_features
    return feature_collection(rows[: spec.max_features], display, layer=name,
                              truncated=truncated, synthetic=any(r.get("synthetic") for r in rows))


def _gcj_delta_at(z: int, x: int, y: int) -> tuple[float, float]:
    """GCJ-02 offset (degrees) at the centre of tile z/x/y, for display shifting."""
    n = 2.0**z
    lon = (x + 0.5) / n * 360.0 - 180.0
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + 0.5) / n))))
    glon, glat = wgs84_to_gcj02(np.array([lon]), np.array([lat]))
    return float(glon[0] - lon), float(glat[0] - lat)


@bp.get("/api/tiles/<name>/<int:z>/<int:x>/<int:y>.pbf")
@login_required
def tile(name: str, z: int, x: int, y: int) -> Response:
    """A Mapbox vector tile (``ST_AsMVT``) of one layer; empty body when nothing is there."""
    if name not in TILE_SQL:
        raise NotFound(f"no vector tiles for {name!r}; tiles: {', '.join(sorted(TILE_SQL))}")
    if z > 22 or x >= 2**z or y >= 2**z:
        raise ValidationError("tile z/x/y out of range", [Problem("out of range", field="z")])
    min_zoom = TILE_LAYERS[name][2]
    if z < min_zoom:
        raise ValidationError(f"zoom in to at least {min_zoom} for tiles of {name}",
                              [Problem("zoom too small", field="z")])
    dx, dy = _gcj_delta_at(z, x, y) if display_param() == "gcj02" else (0.0, 0.0)
    with db.read() as conn:
        data = conn.execute(sa.text(TILE_SQL[name]), {
            "z": z, "x": x, "y": y, "dx": dx, "dy": dy, "layer": name}).scalar()
    resp = Response(bytes(data or b""), mimetype="application/vnd.mapbox-vector-tile")
    resp.headers["Cache-Control"] = "private, max-age=60"
    return resp


@bp.get("/api/facility_types")
@login_required
def facility_types() -> Response:
    """The facility catalogue with the number of facilities of each type."""
    with db.read() as conn:
        rows = conn.execute(sa.text(
            """SELECT t.code, t.name_zh, t.name_en, t.tier, t.radius_m, t.required,
                      t.confidence, count(f.id) AS facilities
               FROM facility_type t LEFT JOIN facility f ON f.type_code = t.code
               GROUP BY t.code ORDER BY
                 array_position(ARRAY['5min','10min','15min','block']::varchar[], t.tier), t.code
            """)).mappings().all()
    return jsonify({"types": [dict(r) for r in rows]})


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@bp.get("/api/search")
@login_required
def search() -> Response:
    """Communities and estates whose name contains ``q`` (at most 20), with bbox."""
    q = (request.args.get("q") or "").strip()
    if not q:
        raise ValidationError("q is required", [Problem("missing", field="q")])
    if len(q) > 100:
        raise ValidationError("q is too long (at most 100 characters)",
                              [Problem("too long", field="q")])
    pattern = f"%{_like_escape(q)}%"
    with db.read() as conn:
        rows = conn.execute(sa.text(
            """
            (SELECT 'community' AS kind, c.id, c.code, c.name, c.synthetic,
                    ST_XMin(c.geom) AS x0, ST_YMin(c.geom) AS y0,
                    ST_XMax(c.geom) AS x1, ST_YMax(c.geom) AS y1
             FROM community c WHERE c.name ILIKE :p OR c.code = :q ORDER BY c.name LIMIT 10)
            UNION ALL
            (SELECT 'estate', e.id, e.code, e.name, e.synthetic,
                    ST_XMin(e.geom), ST_YMin(e.geom), ST_XMax(e.geom), ST_YMax(e.geom)
             FROM estate e WHERE e.name ILIKE :p ORDER BY e.name LIMIT 10)
            """), {"p": pattern, "q": q}).mappings().all()
    results = []
    for r in rows:
        item = dict(r)
        bbox = [item.pop("x0"), item.pop("y0"), item.pop("x1"), item.pop("y1")]
        if display_param() == "gcj02":
            lon, lat = wgs84_to_gcj02(np.array(bbox[0::2]), np.array(bbox[1::2]))
            bbox = [float(lon[0]), float(lat[0]), float(lon[1]), float(lat[1])]
        item["bbox"] = bbox
        results.append(item)
    return jsonify({"results": results})
