"""The basemap's vector tile: one ``ST_AsMVT`` statement per ``z/x/y`` (no cache here).

Layers (Mapbox vector tile layer names) and the zooms they appear from:

========== ======= ==================================================================
layer      zoom    properties
========== ======= ==================================================================
roads      ≥ 10    ``class`` (motorway, primary, tertiary, minor, service, path),
                   ``name``; minor roads from 13, service roads and paths from 15
estates    ≥ 13    ``id``, ``name``
buildings  ≥ 14    ``id``, ``name``
communities ≥ 11   ``id``, ``name`` (boundaries)
green      ≥ 12    ``class`` (park, wood, grass), ``name``; grass from 14
water      ≥ 10    ``name`` (lakes, ponds, river areas)
waterways  ≥ 12    ``class`` (river, canal from 12; stream, drain, ditch from 15), ``name``
========== ======= ==================================================================

In the tile the layers come in drawing order (bottom first): communities, estates, green,
water, waterways, buildings, roads — a park or a pond inside an estate is drawn over
the estate's fill. Water and green come from the OSM import's ``landcover`` and
``waterway`` tables (:mod:`gridmap.imports.osm.landcover`).

Below :data:`MIN_ZOOM` a tile is empty. Geometries are clipped to the tile with a 64-unit
buffer (extent 4096) and snapped to its grid by ``ST_AsMVTGeom``.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import Problem, ValidationError

MIN_ZOOM = 10
"""Tiles below this zoom are empty (a district basemap has nothing to show there)."""
MAX_ZOOM = 22
"""Highest tile zoom accepted; ``z/x/y`` beyond it is refused."""
LAYERS: tuple[str, ...] = ("communities", "estates", "green", "water", "waterways", "buildings",
                           "roads")

ROAD_CLASS_SQL = """CASE
  WHEN highway IN ('motorway','motorway_link','trunk','trunk_link') THEN 'motorway'
  WHEN highway IN ('primary','primary_link','secondary','secondary_link') THEN 'primary'
  WHEN highway IN ('tertiary','tertiary_link') THEN 'tertiary'
  WHEN highway IN ('residential','unclassified','living_street','road') THEN 'minor'
  WHEN highway = 'service' THEN 'service'
  WHEN highway IN ('footway','path','pedestrian','cycleway','steps','track',
                   'bridleway','corridor') THEN 'path'
  ELSE NULL END"""
"""OSM ``highway`` → road class of the basemap (``NULL``: not drawn, e.g. construction)."""

# Least zoom of each road class (ranks: 0 motorway … 5 path).
_ROAD_MIN_ZOOM = "ARRAY[10, 10, 12, 13, 15, 15]"
_ROAD_RANK = ("array_position(ARRAY['motorway','primary','tertiary','minor','service','path']"
              "::text[], cls)")

TILE_SQL = sa.text(f"""
WITH env AS (SELECT ST_TileEnvelope(:z, :x, :y) AS e,
                    ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => 0.02), 4326) AS g),
roads AS (
  SELECT cls AS class, name,
         ST_AsMVTGeom(ST_Transform(geom, 3857), env.e, 4096, 64, true) AS geom
  FROM (SELECT l.geom, COALESCE(NULLIF(l.tags->>'name:zh', ''), l.name) AS name,
               {ROAD_CLASS_SQL} AS cls
        FROM osm_line l, env WHERE l.geom && env.g) r, env
  WHERE cls IS NOT NULL AND :z >= ({_ROAD_MIN_ZOOM})[{_ROAD_RANK}]
  ORDER BY {_ROAD_RANK} DESC
),
estates AS (
  SELECT t.id, t.name, ST_AsMVTGeom(ST_Transform(t.geom, 3857), env.e, 4096, 64, true) AS geom
  FROM estate t, env WHERE :z >= 13 AND t.geom && env.g
),
buildings AS (
  SELECT t.id, t.name, ST_AsMVTGeom(ST_Transform(t.geom, 3857), env.e, 4096, 64, true) AS geom
  FROM building t, env WHERE :z >= 14 AND t.geom && env.g
),
green AS (
  SELECT t.kind AS class, t.name,
         ST_AsMVTGeom(ST_Transform(t.geom, 3857), env.e, 4096, 64, true) AS geom
  FROM landcover t, env
  WHERE t.kind <> 'water' AND :z >= CASE t.kind WHEN 'grass' THEN 14 ELSE 12 END
    AND t.geom && env.g
),
water AS (
  SELECT t.name, ST_AsMVTGeom(ST_Transform(t.geom, 3857), env.e, 4096, 64, true) AS geom
  FROM landcover t, env WHERE t.kind = 'water' AND t.geom && env.g
),
waterways AS (
  SELECT t.kind AS class, t.name,
         ST_AsMVTGeom(ST_Transform(t.geom, 3857), env.e, 4096, 64, true) AS geom
  FROM waterway t, env
  WHERE :z >= CASE WHEN t.kind IN ('river', 'canal') THEN 12 ELSE 15 END AND t.geom && env.g
),
communities AS (
  SELECT t.id, t.name,
         ST_AsMVTGeom(ST_Transform(ST_Boundary(t.geom), 3857), env.e, 4096, 64, true) AS geom
  FROM community t, env WHERE :z >= 11 AND t.geom && env.g
)
SELECT COALESCE((SELECT ST_AsMVT(q, 'communities', 4096, 'geom') FROM communities q
                 WHERE geom IS NOT NULL), ''::bytea)
    || COALESCE((SELECT ST_AsMVT(q, 'estates', 4096, 'geom') FROM estates q
                 WHERE geom IS NOT NULL), ''::bytea)
    || COALESCE((SELECT ST_AsMVT(q, 'green', 4096, 'geom') FROM green q
                 WHERE geom IS NOT NULL), ''::bytea)
    || COALESCE((SELECT ST_AsMVT(q, 'water', 4096, 'geom') FROM water q
                 WHERE geom IS NOT NULL), ''::bytea)
    || COALESCE((SELECT ST_AsMVT(q, 'waterways', 4096, 'geom') FROM waterways q
                 WHERE geom IS NOT NULL), ''::bytea)
    || COALESCE((SELECT ST_AsMVT(q, 'buildings', 4096, 'geom') FROM buildings q
                 WHERE geom IS NOT NULL), ''::bytea)
    || COALESCE((SELECT ST_AsMVT(q, 'roads', 4096, 'geom') FROM roads q
                 WHERE geom IS NOT NULL), ''::bytea)
""")  # noqa: S608 (constants only; z/x/y are binds)


def check_tile(z: int, x: int, y: int) -> None:
    """Refuse a tile address outside the tile pyramid (every bad coordinate listed).

    Raises
    ------
    ValidationError
        ``z`` outside 0…:data:`MAX_ZOOM`, or ``x``/``y`` outside ``0 … 2**z - 1``.
    """
    problems: list[Problem] = []
    if not 0 <= z <= MAX_ZOOM:
        problems.append(Problem("basemap.bad_zoom", {"max_zoom": MAX_ZOOM}, field="z"))
    else:
        for name, value in (("x", x), ("y", y)):
            if not 0 <= value < 2**z:
                problems.append(Problem("basemap.bad_xy", {"max": 2**z - 1, "z": z},
                                        field=name))
    if problems:
        raise ValidationError("basemap.bad_tile", problems, {"z": z, "x": x, "y": y})


def tile(conn: Connection, z: int, x: int, y: int) -> bytes:
    """The basemap vector tile ``z/x/y`` (empty ``b""`` when nothing is there).

    Raises
    ------
    ValidationError
        A tile address outside the pyramid (:func:`check_tile`).
    """
    check_tile(z, x, y)
    if z < MIN_ZOOM:
        return b""
    data = conn.execute(TILE_SQL, {"z": z, "x": x, "y": y}).scalar()
    return bytes(data or b"")
