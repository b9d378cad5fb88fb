"""Name labels of the basemap: roads (with their angle on screen), estates, lakes and parks.

Vector tiles carry names, but the browser's tile renderer cannot draw text; the page
draws these label points as text instead (estates from zoom 15, roads from
:data:`ROAD_LABEL_ZOOM` by class). One label per road name inside the bbox, on the middle
of the longest stretch of that road inside it, rotated along the road.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.basemap.tiles import ROAD_CLASS_SQL
from gridmap.errors import Problem, ValidationError

BBox = tuple[float, float, float, float]

MIN_ZOOM = 14
"""No labels below this zoom."""
MAX_SPAN_DEG = 0.5
"""Largest bbox side (degrees) a label request may cover."""
MAX_LABELS = 400
ROAD_LABEL_ZOOM: dict[str, int] = {"motorway": 14, "primary": 14, "tertiary": 15,
                                   "minor": 16, "service": 17, "path": 17}
ESTATE_LABEL_ZOOM = 15
AREA_LABEL_ZOOM = 15
"""Names of lakes and parks (``kind`` ``water`` / ``park``) from this zoom."""

_LABELS_SQL = sa.text(f"""
WITH env AS (SELECT ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326) AS g),
road AS (
  SELECT name, cls, (ST_Dump(ST_LineMerge(ST_Collect(ST_Intersection(l.geom, env.g))))).geom AS geom
  FROM (SELECT geom, COALESCE(NULLIF(tags->>'name:zh', ''), name) AS name,
               {ROAD_CLASS_SQL} AS cls FROM osm_line) l, env
  WHERE l.geom && env.g AND l.name IS NOT NULL AND l.name <> ''
    AND cls = ANY(CAST(:classes AS text[]))
  GROUP BY name, cls
),
longest AS (
  SELECT DISTINCT ON (name) name, cls, ST_Transform(geom, 3857) AS m
  FROM road WHERE GeometryType(geom) = 'LINESTRING'
  ORDER BY name, ST_Length(geom) DESC
)
(SELECT 'road' AS kind, name, cls AS class,
        ST_X(ST_Transform(ST_LineInterpolatePoint(m, 0.5), 4326)) AS lon,
        ST_Y(ST_Transform(ST_LineInterpolatePoint(m, 0.5), 4326)) AS lat,
        degrees(ST_Azimuth(ST_LineInterpolatePoint(m, 0.4), ST_LineInterpolatePoint(m, 0.6)))
          AS azimuth,
        ST_Length(m) AS size
 FROM longest WHERE ST_Length(m) > :min_len
 ORDER BY size DESC LIMIT :lim)
UNION ALL
(SELECT 'estate', e.name, NULL, ST_X(p), ST_Y(p), NULL, ST_Area(e.geom) AS size
 FROM estate e, env, LATERAL ST_PointOnSurface(e.geom) p
 WHERE :z >= {ESTATE_LABEL_ZOOM} AND e.geom && env.g AND e.name IS NOT NULL AND e.name <> ''
   AND p && env.g
 ORDER BY size DESC LIMIT :lim)
UNION ALL
(SELECT * FROM (
   SELECT DISTINCT ON (a.name) a.kind, a.name, NULL::text, ST_X(p), ST_Y(p),
          NULL::float8, ST_Area(a.geom) AS size
   FROM landcover a, env, LATERAL ST_PointOnSurface(a.geom) p
   WHERE :z >= {AREA_LABEL_ZOOM} AND a.kind IN ('water', 'park') AND a.geom && env.g
     AND a.name IS NOT NULL AND a.name <> '' AND p && env.g
   ORDER BY a.name, size DESC) one_per_name
 ORDER BY size DESC LIMIT :lim)
""")  # noqa: S608 (constants only)


@dataclass(frozen=True)
class Label:
    """A name to draw at ``lon, lat``; ``angle``: text rotation in degrees (roads)."""

    kind: str
    name: str
    road_class: str | None
    lon: float
    lat: float
    angle: float

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "class": self.road_class,
                "lon": round(self.lon, 6), "lat": round(self.lat, 6),
                "angle": round(self.angle, 1)}


def text_angle(azimuth: float | None) -> float:
    """Screen rotation (degrees, −90…90, never upside down) of text along a road whose
    direction is ``azimuth`` (degrees clockwise from north)."""
    if azimuth is None:
        return 0.0
    angle = (azimuth - 90.0) % 180.0
    return angle - 180.0 if angle > 90.0 else angle


def check_request(bbox: BBox, zoom: int) -> None:
    """Refuse a bbox that is inverted or too large (every problem listed).

    Raises
    ------
    ValidationError
        Inverted or oversized bbox, or a zoom outside 0…22.
    """
    x0, y0, x1, y1 = bbox
    problems = []
    if x1 <= x0 or y1 <= y0:
        problems.append(Problem("basemap.bbox_inverted", field="bbox"))
    elif x1 - x0 > MAX_SPAN_DEG or y1 - y0 > MAX_SPAN_DEG:
        problems.append(Problem("basemap.bbox_too_large", {"span": MAX_SPAN_DEG}, field="bbox"))
    if not 0 <= zoom <= 22:
        problems.append(Problem("basemap.bad_zoom", {"max_zoom": 22}, field="zoom"))
    if problems:
        raise ValidationError("basemap.bad_labels_request", problems)


def labels(conn: Connection, bbox: BBox, zoom: int) -> list[Label]:
    """Road and estate labels inside ``bbox`` at ``zoom`` (none below :data:`MIN_ZOOM`).

    Roads shorter than about 60 screen pixels inside the bbox get no label.

    Raises
    ------
    ValidationError
        Bad bbox or zoom (:func:`check_request`).
    """
    check_request(bbox, zoom)
    if zoom < MIN_ZOOM:
        return []
    classes = [c for c, z in ROAD_LABEL_ZOOM.items() if zoom >= z]
    metres_per_px = 156543.03 / 2**zoom
    x0, y0, x1, y1 = bbox
    rows = conn.execute(_LABELS_SQL, {
        "x0": x0, "y0": y0, "x1": x1, "y1": y1, "z": zoom, "classes": classes,
        "min_len": 60 * metres_per_px, "lim": MAX_LABELS}).all()
    return [Label(r.kind, r.name, r[2], float(r.lon), float(r.lat), text_angle(r.azimuth))
            for r in rows]
