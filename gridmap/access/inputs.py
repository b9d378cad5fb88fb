"""What the coverage analyses read: facility types with the walking radius each uses,
buildings and facilities placed on the walking graph (freshly snapped, or from the snaps
the last refresh stored), the block-tier rule, and the checks shared by the analyses.

Radius rule (reference/life_circle.md §5): ``facility_type.radius_m``; when blank and the
tier is timed, tier minutes × walking speed. Block-tier (居住街坊) types have no radius: a
building is covered when a facility of the type lies inside its estate (or, without an
estate, inside its street block): :data:`BLOCK_INSERT_SQL` / :data:`BLOCK_SELECT_SQL`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import crs as gcrs
from gridmap.access.distances import Sources
from gridmap.access.graph import Floats, Ints, Snaps, WalkGraph, edge_index
from gridmap.access.service_areas import ServiceAreaParams
from gridmap.config import Settings
from gridmap.errors import NotFound, Problem

TIER_MINUTES: dict[str, int] = {"15min": 15, "10min": 10, "5min": 5}


@dataclass(frozen=True)
class CoverageParams:
    """Parameters of the coverage computation.

    Attributes
    ----------
    include_access:
        Add the snap distances (door → street, street → facility) to network distances.
    distance_cap_m:
        Network distances beyond this are stored as NULL (Dijkstra stops there).
    residential_only:
        Only buildings flagged residential or with residents > 0 (all buildings when
        none is).
    service:
        Service-area parameters.
    """

    include_access: bool = True
    distance_cap_m: float = 3000.0
    residential_only: bool = True
    service: ServiceAreaParams = field(default_factory=ServiceAreaParams)


@dataclass
class TypeInfo:
    """A catalogue facility type with the radius the analysis uses (None: block tier)."""

    code: str
    name_zh: str
    tier: str
    radius_m: float | None
    required: bool


def facility_types(
    conn: Connection, speed_m_per_min: float = Settings.walking_speed_m_per_min
) -> dict[str, TypeInfo]:
    """Catalogue types with the radius used (None for block-tier types)."""
    rows = conn.execute(sa.text(
        "SELECT code, name_zh, tier, radius_m, required FROM facility_type ORDER BY code"
    )).all()
    out: dict[str, TypeInfo] = {}
    for code, name, tier, radius, required in rows:
        r: float | None
        if radius is not None:
            r = float(radius)
        elif tier in TIER_MINUTES:
            r = TIER_MINUTES[tier] * speed_m_per_min
        else:
            r = None
        out[code] = TypeInfo(code, name, tier, r, bool(required))
    return out


# --------------------------------------------------------------------------- loading


@dataclass
class Buildings:
    """Buildings of the analysis: ids, residents, community (-1: none), metric points."""

    ids: Ints
    residents: Floats
    community: Ints
    points_m: npt.NDArray[np.object_]


def load_buildings(conn: Connection, graph: WalkGraph, residential_only: bool) -> Buildings:
    """Buildings as metric points on their surface, in id order.

    ``residential_only``: only buildings flagged residential or with residents (every
    building when none is).
    """
    rows = conn.execute(sa.text(
        """
        WITH sel AS (
          SELECT b.id, b.residents, b.community_id, ST_PointOnSurface(b.geom) AS p
          FROM building b
          WHERE NOT :res OR b.residential OR b.residents > 0
             OR NOT EXISTS (SELECT 1 FROM building WHERE residential OR residents > 0)
        )
        SELECT id, residents, COALESCE(community_id, -1), ST_X(p), ST_Y(p) FROM sel ORDER BY id
        """
    ), {"res": residential_only}).all()
    arr = np.array([(r[0], r[1], r[2], r[3], r[4]) for r in rows], dtype=float).reshape(-1, 5)
    pts = gcrs.to_metric(shapely.points(arr[:, 3:5]), graph.metric) if len(arr) else \
        np.empty(0, dtype=object)
    return Buildings(arr[:, 0].astype(np.int64), arr[:, 1], arr[:, 2].astype(np.int64), pts)


@dataclass
class Facilities:
    """Facilities: ids, type codes and metric points."""

    ids: Ints
    types: npt.NDArray[np.object_]
    points_m: npt.NDArray[np.object_]


def load_facilities(conn: Connection, graph: WalkGraph) -> Facilities:
    """Every facility as a metric point, in id order."""
    rows = conn.execute(sa.text(
        "SELECT id, type_code, ST_X(location), ST_Y(location) FROM facility ORDER BY id"
    )).all()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    types = np.array([r[1] for r in rows], dtype=object)
    xy = np.array([(r[2], r[3]) for r in rows], dtype=float).reshape(-1, 2)
    pts = gcrs.to_metric(shapely.points(xy), graph.metric) if len(xy) else \
        np.empty(0, dtype=object)
    return Facilities(ids, types, pts)


def facility_fingerprint(conn: Connection) -> str:
    """Hash of facility ids, types and locations (changes when any facility changes)."""
    fp = conn.execute(sa.text(
        "SELECT md5(COALESCE(string_agg(id || ':' || type_code || ':' || ST_AsText(location),"
        " ',' ORDER BY id), '')) FROM facility"
    )).scalar_one()
    return str(fp)


def stored_building_snaps(conn: Connection, graph: WalkGraph) -> tuple[Buildings, Snaps]:
    """Buildings with their stored snaps (what-if and candidates reuse refresh's snaps)."""
    rows = conn.execute(sa.text(
        """
        SELECT b.id, b.residents, COALESCE(b.community_id, -1), s.edge_id, s.offset_m, s.snap_m
        FROM building b
        JOIN (SELECT DISTINCT building_id FROM building_coverage) bc ON bc.building_id = b.id
        LEFT JOIN building_snap s ON s.building_id = b.id
        ORDER BY b.id
        """
    )).all()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    res = np.array([r[1] for r in rows], dtype=float)
    com = np.array([r[2] for r in rows], dtype=np.int64)
    snapped = np.array([r[3] is not None for r in rows], dtype=bool)
    edge = np.full(len(rows), -1, dtype=np.int64)
    edge[snapped] = edge_index(graph, np.array([r[3] for r in rows if r[3] is not None],
                                               dtype=np.int64))
    offset = np.array([r[4] or 0.0 for r in rows], dtype=float)
    dist = np.array([r[5] if r[5] is not None else np.inf for r in rows], dtype=float)
    return Buildings(ids, res, com, np.empty(0, dtype=object)), Snaps(edge, offset, dist)


def stored_facility_sources(conn: Connection, graph: WalkGraph, type_code: str,
                            exclude: list[int], include_access: bool) -> Sources:
    """The stored snaps of the facilities of ``type_code`` (but ``exclude``) as sources."""
    rows = conn.execute(sa.text(
        "SELECT s.edge_id, s.offset_m, s.snap_m FROM facility_snap s JOIN facility f "
        "ON f.id = s.facility_id WHERE f.type_code = :t AND NOT (f.id = ANY(:ex))"
    ), {"t": type_code, "ex": exclude}).all()
    edge = edge_index(graph, np.array([r[0] for r in rows], dtype=np.int64))
    off = np.array([r[1] for r in rows], dtype=float)
    extra = np.array([r[2] for r in rows], dtype=float) if include_access else np.zeros(len(rows))
    return Sources(edge, off, extra)


# --------------------------------------------------------------------------- block tier

_BLOCK_SQL = """
SELECT b.id AS building_id, ft.code AS type_code,
       COALESCE(u.geom IS NOT NULL AND (
         EXISTS (SELECT 1 FROM facility f WHERE f.type_code = ft.code
                   AND NOT (f.id = ANY(:remove)) AND ST_Intersects(u.geom, f.location))
         OR EXISTS (SELECT 1 FROM unnest(CAST(:add_types AS text[]), CAST(:add_lon AS float8[]),
                                         CAST(:add_lat AS float8[])) AS a(t, lon, lat)
                    WHERE a.t = ft.code
                      AND ST_Intersects(u.geom, ST_SetSRID(ST_MakePoint(a.lon, a.lat), 4326)))
       ), false) AS covered
FROM building b
CROSS JOIN facility_type ft
LEFT JOIN estate e ON e.id = b.estate_id
LEFT JOIN LATERAL (
  SELECT COALESCE(e.geom, (SELECT sb.geom FROM street_block sb
                           WHERE ST_Intersects(sb.geom, ST_PointOnSurface(b.geom)) LIMIT 1)) AS geom
) u ON true
WHERE ft.tier = 'block' AND ft.code = ANY(:types) AND b.id = ANY(:ids)
"""

BLOCK_INSERT_SQL = (
    "INSERT INTO building_coverage (building_id, type_code, covered, euclid_covered) "  # noqa: S608
    "SELECT building_id, type_code, covered, false FROM (" + _BLOCK_SQL + ") q"  # noqa: S608
)
"""Store the block-tier coverage of buildings ``:ids`` for types ``:types``."""

BLOCK_SELECT_SQL = "SELECT building_id, covered FROM (" + _BLOCK_SQL + ") q"  # noqa: S608
"""``(building_id, covered)`` of the block-tier rule, with facilities added/removed."""


def block_params(types: list[str], ids: Ints, remove: list[int],
                 add: list[tuple[str, float, float]]) -> dict[str, Any]:
    """Bind parameters of the block-tier SQL (``add``: ``(type_code, lon, lat)``)."""
    return {"types": types, "ids": [int(i) for i in ids], "remove": remove,
            "add_types": [a[0] for a in add], "add_lon": [float(a[1]) for a in add],
            "add_lat": [float(a[2]) for a in add]}


# --------------------------------------------------------------------------- checks


def require_refreshed(conn: Connection) -> None:
    """Raise :class:`NotFound` unless the coverage has been computed once."""
    if conn.execute(sa.text("SELECT 1 FROM coverage_run LIMIT 1")).first() is None:
        raise NotFound("access.coverage_not_computed")


def validate_points(add: list[tuple[str, float, float]],
                    types: dict[str, TypeInfo]) -> list[Problem]:
    """Problems of ``(type_code, lon, lat)`` items (row = 1-based position)."""
    problems: list[Problem] = []
    for i, item in enumerate(add, start=1):
        if len(item) != 3:
            problems.append(Problem("access.expected_type_lon_lat", row=i))
            continue
        code, lon, lat = item
        if code not in types:
            problems.append(Problem("access.unknown_facility_type", {"code": code}, row=i,
                                    field="type_code"))
        try:
            lo, la = float(lon), float(lat)
        except (TypeError, ValueError):
            problems.append(Problem("access.lon_lat_not_numbers", row=i, field="lon"))
            continue
        if not (-180 <= lo <= 180 and -90 <= la <= 90):
            problems.append(Problem("access.not_lon_lat", {"lon": lo, "lat": la}, row=i,
                                    field="lon"))
    return problems
