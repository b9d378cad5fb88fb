"""Map data for display: layers by bbox and zoom, vector tiles, name search, extents.

What a map page needs to draw the district without ever sending all of it at once:

- :func:`layer`: one layer (streets, communities, estates, buildings, active grids,
  facilities, street blocks) inside a bbox at a zoom, polygons simplified to about half a
  pixel, at most a fixed number of features (``truncated`` when hit); every layer has a
  minimum zoom and a maximum bbox size.
- :func:`tile`: a Mapbox vector tile (``ST_AsMVT``) of buildings, estates, communities or
  active grids, optionally translated by a display offset (GCJ-02 basemaps).
- :func:`search`, :func:`facility_types`, :func:`extent`, :func:`units`,
  :func:`unit_extents`, :func:`community_names`, :func:`communities`, :func:`has_synthetic`.

Every SQL string here is a constant; only bind values come from the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import NotFound, Problem, ValidationError

BBox = tuple[float, float, float, float]
"""``(lon_min, lat_min, lon_max, lat_max)`` in WGS84 degrees."""


@dataclass(frozen=True)
class LayerSpec:
    """One GeoJSON layer: SQL (a fixed string with binds), zoom and size limits."""

    sql: str
    min_zoom: int
    max_span_deg: float
    max_features: int


@dataclass(frozen=True)
class LayerResult:
    """Rows of a layer (``g``: the GeoJSON geometry text) and whether the cap was hit."""

    rows: list[dict[str, Any]]
    truncated: bool


_BBOX = "geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)"
_SIMPLE = "ST_AsGeoJSON(ST_SimplifyPreserveTopology({g}, :tol), 6)"

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

# name -> (table with geom, properties SQL, min zoom)
TILE_LAYERS: dict[str, tuple[str, str, int]] = {
    "buildings": ("building",
                  "id, name, residential, levels, households, residents, synthetic", 13),
    "estates": ("estate", "id, name, synthetic", 11),
    "communities": ("community", "id, code, name, synthetic", 9),
    "grids": ("grid_geometry", "", 11),
}
_TILE_SQL = {
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
    for name, (table, props, _z) in TILE_LAYERS.items() if name != "grids"
}
_TILE_SQL["grids"] = """
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

_FACILITY_TYPES_SQL = sa.text(
    """SELECT t.code, t.name_zh, t.name_en, t.tier, t.radius_m, t.required,
              t.confidence, count(f.id) AS facilities
       FROM facility_type t LEFT JOIN facility f ON f.type_code = t.code
       GROUP BY t.code ORDER BY
         array_position(ARRAY['5min','10min','15min','block']::varchar[], t.tier), t.code""")
_SEARCH_SQL = sa.text(
    """
    (SELECT 'community' AS kind, c.id, c.code, c.name, c.synthetic,
            ST_XMin(c.geom) AS x0, ST_YMin(c.geom) AS y0,
            ST_XMax(c.geom) AS x1, ST_YMax(c.geom) AS y1
     FROM community c WHERE c.name ILIKE :p OR c.code = :q ORDER BY c.name LIMIT 10)
    UNION ALL
    (SELECT 'estate', e.id, e.code, e.name, e.synthetic,
            ST_XMin(e.geom), ST_YMin(e.geom), ST_XMax(e.geom), ST_YMax(e.geom)
     FROM estate e WHERE e.name ILIKE :p ORDER BY e.name LIMIT 10)
    """)
_EXTENT_SQL = sa.text(
    """
    SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
    FROM (SELECT ST_Extent(geom) AS e FROM community
          WHERE CAST(:ids AS int[]) IS NULL OR id = ANY(CAST(:ids AS int[]))) x
    """)
_UNITS_SQL = {
    "estate": sa.text(
        """SELECT e.id, e.code, e.name, e.synthetic, c.name AS community,
                  ST_AsGeoJSON(ST_SimplifyPreserveTopology(e.geom, :tol), 6) AS g
           FROM estate e LEFT JOIN community c ON c.id = e.community_id
           WHERE e.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)
           ORDER BY e.id LIMIT 5000"""),
    "community": sa.text(
        """SELECT c.id, c.code, c.name, c.synthetic,
                  ST_AsGeoJSON(ST_SimplifyPreserveTopology(c.geom, :tol), 6) AS g
           FROM community c
           WHERE c.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)
           ORDER BY c.id LIMIT 5000"""),
}
_UNIT_EXTENTS_SQL = {
    level: sa.text(f"SELECT id, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom)"  # noqa: S608
                   f" FROM {level} WHERE id = ANY(:ids)")
    for level in ("estate", "community")
}
_SYNTHETIC_SQL = sa.text(
    "SELECT EXISTS (SELECT 1 FROM building WHERE synthetic)"
    " OR EXISTS (SELECT 1 FROM facility WHERE synthetic)"
    " OR EXISTS (SELECT 1 FROM community WHERE synthetic)")


def simplify_tolerance(zoom: int) -> float:
    """About half a screen pixel at ``zoom``, in degrees (tolerance for simplification)."""
    return 180.0 / (256 * 2**zoom)


def _bad(code: str, field: str, reason: str, **params: Any) -> ValidationError:
    """A request-shaped error: headline ``code``, one short problem ``reason`` on ``field``."""
    return ValidationError(code, [Problem(reason, field=field)], params)


def layer(conn: Connection, name: str, bbox: BBox, zoom: int,
          type_code: str | None = None) -> LayerResult:
    """Features of layer ``name`` in ``bbox`` at ``zoom`` (see :data:`LAYERS`).

    Raises
    ------
    NotFound
        Unknown layer.
    ValidationError
        Zoomed out below the layer's minimum, a bbox larger than its maximum, or an
        unknown facility type.
    """
    spec = LAYERS.get(name)
    if spec is None:
        raise NotFound("mapdata.unknown_layer", {"layer": name, "layers": sorted(LAYERS)})
    if zoom < spec.min_zoom:
        raise _bad("mapdata.zoom_in", "zoom", "mapdata.zoom_too_small", layer=name,
                   min_zoom=spec.min_zoom)
    x0, y0, x1, y1 = bbox
    if x1 - x0 > spec.max_span_deg or y1 - y0 > spec.max_span_deg:
        raise _bad("mapdata.bbox_too_large", "bbox", "mapdata.too_large", layer=name,
                   span=spec.max_span_deg)
    if type_code is not None:
        check_facility_type(conn, type_code)
    rows = [dict(r) for r in conn.execute(sa.text(spec.sql), {
        "x0": x0, "y0": y0, "x1": x1, "y1": y1, "tol": simplify_tolerance(zoom),
        "type": type_code, "lim": spec.max_features + 1}).mappings()]
    return LayerResult(rows[: spec.max_features], len(rows) > spec.max_features)


def tile(conn: Connection, name: str, z: int, x: int, y: int,
         offset: tuple[float, float] = (0.0, 0.0)) -> bytes:
    """Mapbox vector tile ``z/x/y`` of layer ``name`` (empty when nothing is there).

    ``offset`` (degrees) translates the geometries for display on a shifted basemap.

    Raises
    ------
    NotFound
        A layer without vector tiles.
    ValidationError
        ``z/x/y`` out of range, or zoomed out below the layer's minimum.
    """
    if name not in _TILE_SQL:
        raise NotFound("mapdata.no_tiles", {"layer": name, "layers": sorted(_TILE_SQL)})
    if z > 22 or x >= 2**z or y >= 2**z:
        raise _bad("mapdata.tile_out_of_range", "z", "mapdata.out_of_range")
    min_zoom = TILE_LAYERS[name][2]
    if z < min_zoom:
        raise _bad("mapdata.tile_zoom_in", "z", "mapdata.zoom_too_small", layer=name,
                   min_zoom=min_zoom)
    data = conn.execute(sa.text(_TILE_SQL[name]), {
        "z": z, "x": x, "y": y, "dx": offset[0], "dy": offset[1], "layer": name}).scalar()
    return bytes(data or b"")


def facility_types(conn: Connection) -> list[dict[str, Any]]:
    """The facility catalogue (by tier, then code) with the number of facilities of each type."""
    return [dict(r) for r in conn.execute(_FACILITY_TYPES_SQL).mappings()]


def check_facility_type(conn: Connection, code: str) -> None:
    """Raise a :class:`ValidationError` (field ``type``) for an unknown facility type."""
    known = conn.execute(sa.text("SELECT 1 FROM facility_type WHERE code = :c"),
                         {"c": code}).first()
    if known is None:
        raise _bad("mapdata.unknown_facility_type", "type", "mapdata.unknown", type=code)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(conn: Connection, q: str) -> list[dict[str, Any]]:
    """Communities (name or code) and estates (name) containing ``q``: at most 10 of each,
    with ``bbox`` = ``[lon_min, lat_min, lon_max, lat_max]``."""
    rows = conn.execute(_SEARCH_SQL, {"p": f"%{_like_escape(q)}%", "q": q}).mappings().all()
    out = []
    for r in rows:
        item = dict(r)
        item["bbox"] = [item.pop("x0"), item.pop("y0"), item.pop("x1"), item.pop("y1")]
        out.append(item)
    return out


def extent(conn: Connection, community_ids: Iterable[int] | None = None) -> BBox | None:
    """Bounding box of the given communities (all when ``None``); ``None`` when empty."""
    ids = None if community_ids is None else list(community_ids)
    row = conn.execute(_EXTENT_SQL, {"ids": ids}).one()
    if row[0] is None:
        return None
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def units(conn: Connection, level: str, bbox: BBox, zoom: int) -> list[dict[str, Any]]:
    """Estates or communities (``level``) in ``bbox``, simplified for ``zoom`` (``g``: GeoJSON)."""
    x0, y0, x1, y1 = bbox
    return [dict(r) for r in conn.execute(_UNITS_SQL[level], {
        "x0": x0, "y0": y0, "x1": x1, "y1": y1, "tol": simplify_tolerance(zoom)}).mappings()]


def unit_extents(conn: Connection, level: str, ids: Sequence[int]) -> dict[int, list[float]]:
    """``{id: [lon_min, lat_min, lon_max, lat_max]}`` of estates or communities."""
    return {int(r[0]): [float(v) for v in r[1:]]
            for r in conn.execute(_UNIT_EXTENTS_SQL[level], {"ids": list(ids)})}


def community_names(conn: Connection, ids: Iterable[int]) -> dict[int, str]:
    """``{community id: name}``."""
    return {int(r[0]): r[1] for r in conn.execute(sa.text(
        "SELECT id, name FROM community WHERE id = ANY(:ids)"), {"ids": list(ids)})}


def communities(conn: Connection, community_ids: Iterable[int] | None = None
                ) -> list[dict[str, Any]]:
    """Communities (all, or the given ids) by code: ``id, code, name, bounds``."""
    ids = None if community_ids is None else list(community_ids)
    rows = conn.execute(sa.text(
        "SELECT c.id, c.code, c.name, ST_XMin(c.geom), ST_YMin(c.geom), ST_XMax(c.geom),"
        " ST_YMax(c.geom) FROM community c"
        " WHERE CAST(:ids AS int[]) IS NULL OR c.id = ANY(CAST(:ids AS int[]))"
        " ORDER BY c.code"), {"ids": ids}).all()
    return [{"id": r[0], "code": r[1], "name": r[2],
             "bounds": [float(r[3]), float(r[4]), float(r[5]), float(r[6])]} for r in rows]


def has_synthetic(conn: Connection) -> bool:
    """Whether any building, facility or community is synthetic (demo) data."""
    return bool(conn.execute(_SYNTHETIC_SQL).scalar())
