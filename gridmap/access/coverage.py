"""15-minute life-circle coverage: network distances from every building to the
nearest facility of each type, coverage aggregates and the gap list per estate,
community, grid and street, what-if analysis and greedy maximal-coverage sites.

Method (reference/life_circle.md §5): a building is covered for a facility type
when its walking-network distance to the nearest facility of that type is at most
the type's radius (``facility_type.radius_m``; when blank and the tier is timed,
tier minutes × walking speed). Population coverage weights buildings by residents.
Block-tier (居住街坊) types have no radius: a building is covered when a facility of
the type lies inside its estate (or, without an estate, inside its street block).

Distances for all facilities of one type come from ONE multi-source Dijkstra
(:func:`gridmap.network.node_distances`), never one search per facility.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
import sqlalchemy as sa
from scipy import sparse
from sqlalchemy.engine import Connection

from gridmap.access import network, service_areas
from gridmap.access.network import Floats, Ints, Snaps, Sources, WalkGraph
from gridmap.errors import NotFound, Problem, ValidationError

TIER_MINUTES: dict[str, int] = {"15min": 15, "10min": 10, "5min": 5}
LEVELS: tuple[str, ...] = ("estate", "community", "grid", "street", "all")


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
    service: service_areas.ServiceAreaParams = field(
        default_factory=service_areas.ServiceAreaParams)


@dataclass
class TypeInfo:
    code: str
    name_zh: str
    tier: str
    radius_m: float | None
    required: bool


def facility_types(conn: Connection, speed_m_per_min: float = 60.0) -> dict[str, TypeInfo]:
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
    ids: Ints
    residents: Floats
    community: Ints
    points_m: npt.NDArray[np.object_]


def _load_buildings(conn: Connection, graph: WalkGraph, residential_only: bool) -> Buildings:
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
    pts = network.to_metric(shapely.points(arr[:, 3:5]), graph.metric) if len(arr) else \
        np.empty(0, dtype=object)
    return Buildings(arr[:, 0].astype(np.int64), arr[:, 1], arr[:, 2].astype(np.int64), pts)


@dataclass
class Facilities:
    ids: Ints
    types: npt.NDArray[np.object_]
    points_m: npt.NDArray[np.object_]


def _load_facilities(conn: Connection, graph: WalkGraph) -> Facilities:
    rows = conn.execute(sa.text(
        "SELECT id, type_code, ST_X(location), ST_Y(location) FROM facility ORDER BY id"
    )).all()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    types = np.array([r[1] for r in rows], dtype=object)
    xy = np.array([(r[2], r[3]) for r in rows], dtype=float).reshape(-1, 2)
    pts = network.to_metric(shapely.points(xy), graph.metric) if len(xy) else \
        np.empty(0, dtype=object)
    return Facilities(ids, types, pts)


def facility_fingerprint(conn: Connection) -> str:
    """Hash of facility ids, types and locations (changes when any facility changes)."""
    fp = conn.execute(sa.text(
        "SELECT md5(COALESCE(string_agg(id || ':' || type_code || ':' || ST_AsText(location),"
        " ',' ORDER BY id), '')) FROM facility"
    )).scalar_one()
    return str(fp)


def _edge_index(graph: WalkGraph, edge_ids: Ints) -> Ints:
    pos = np.searchsorted(graph.edge_ids, edge_ids)
    return pos.astype(np.int64)


def _stored_building_snaps(conn: Connection, graph: WalkGraph) -> tuple[Buildings, Snaps]:
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
    edge[snapped] = _edge_index(graph, np.array([r[3] for r in rows if r[3] is not None],
                                                dtype=np.int64))
    offset = np.array([r[4] or 0.0 for r in rows], dtype=float)
    dist = np.array([r[5] if r[5] is not None else np.inf for r in rows], dtype=float)
    return Buildings(ids, res, com, np.empty(0, dtype=object)), Snaps(edge, offset, dist)


def _stored_facility_sources(conn: Connection, graph: WalkGraph, type_code: str,
                             exclude: list[int], include_access: bool) -> Sources:
    rows = conn.execute(sa.text(
        "SELECT s.edge_id, s.offset_m, s.snap_m FROM facility_snap s JOIN facility f "
        "ON f.id = s.facility_id WHERE f.type_code = :t AND NOT (f.id = ANY(:ex))"
    ), {"t": type_code, "ex": exclude}).all()
    edge = _edge_index(graph, np.array([r[0] for r in rows], dtype=np.int64))
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

_BLOCK_INSERT_SQL = (
    "INSERT INTO building_coverage (building_id, type_code, covered, euclid_covered) "  # noqa: S608
    "SELECT building_id, type_code, covered, false FROM (" + _BLOCK_SQL + ") q"  # noqa: S608
)

_BLOCK_SELECT_SQL = "SELECT building_id, covered FROM (" + _BLOCK_SQL + ") q"  # noqa: S608


def _block_params(types: list[str], ids: Ints, remove: list[int],
                  add: list[tuple[str, float, float]]) -> dict[str, Any]:
    return {"types": types, "ids": [int(i) for i in ids], "remove": remove,
            "add_types": [a[0] for a in add], "add_lon": [float(a[1]) for a in add],
            "add_lat": [float(a[2]) for a in add]}


# --------------------------------------------------------------------------- refresh


def type_distances(
    graph: WalkGraph, targets: Snaps, sources: Sources, cap_m: float, include_access: bool = True
) -> Floats:
    """Network distance from each target to the nearest source: one multi-source pass."""
    if len(sources) == 0:
        return np.full(len(targets.edge), np.inf)
    d = network.node_distances(graph, sources, limit=cap_m)
    out = network.point_distances(graph, d, targets, sources, include_access)
    out[out > cap_m] = np.inf
    return out


def refresh(
    conn: Connection, *, speed_m_per_min: float = 60.0, params: CoverageParams | None = None,
    force_service_areas: bool = False,
) -> dict[str, Any]:
    """Snap buildings and facilities, compute distances for every type, store
    ``building_coverage`` and (when network or facilities changed) the service areas.

    Builds the walking network first when none exists. Returns a report: counts,
    unsnapped buildings/facilities, district coverage per type, timings.

    Raises
    ------
    ValidationError
        If the speed is not positive.
    NotFound
        If there is no walkable OSM line to build a network from.
    """
    if not speed_m_per_min > 0 or not math.isfinite(speed_m_per_min):
        raise ValidationError(f"walking speed must be positive (got {speed_m_per_min})",
                              [Problem("walking speed must be positive", field="speed")])
    params = params or CoverageParams()
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    with conn.begin_nested():
        if network.current_build(conn) is None:
            network.build_network(conn)
        graph = network.load_graph(conn)
        timings["load_graph_s"] = time.perf_counter() - t0
        types = facility_types(conn, speed_m_per_min)
        bld = _load_buildings(conn, graph, params.residential_only)
        fac = _load_facilities(conn, graph)
        b_snap = network.snap_points(graph, bld.points_m)
        f_snap = network.snap_points(graph, fac.points_m)
        _store_snaps(conn, graph, "building_snap", "building_id", bld.ids, b_snap)
        _store_snaps(conn, graph, "facility_snap", "facility_id", fac.ids, f_snap)
        timings["snap_s"] = time.perf_counter() - t0 - sum(timings.values())

        t1 = time.perf_counter()
        rows: list[tuple[Any, ...]] = []
        for code, info in types.items():
            if info.radius_m is None:
                continue
            sel = np.flatnonzero(fac.types == code)
            snaps_t = Snaps(f_snap.edge[sel], f_snap.offset[sel], f_snap.dist[sel])
            src = Sources.from_snaps(snaps_t, params.include_access)
            dist = type_distances(graph, b_snap, src, params.distance_cap_m,
                                  params.include_access)
            eu = np.full(len(bld.ids), np.inf)
            if len(sel) and len(bld.ids):
                tree = shapely.STRtree(fac.points_m[sel])
                idx, d = tree.query_nearest(bld.points_m, return_distance=True,
                                            all_matches=False)
                eu[idx[0]] = d
            covered = dist <= info.radius_m
            eu_cov = eu <= info.radius_m
            for i in range(len(bld.ids)):
                rows.append((int(bld.ids[i]), code,
                             repr(float(dist[i])) if np.isfinite(dist[i]) else None,
                             repr(float(eu[i])) if np.isfinite(eu[i]) else None,
                             repr(info.radius_m), "t" if covered[i] else "f",
                             "t" if eu_cov[i] else "f"))
        timings["distances_s"] = time.perf_counter() - t1
        conn.execute(sa.text("DELETE FROM building_coverage"))
        network._copy(conn, "building_coverage",
                      ["building_id", "type_code", "network_m", "euclid_m", "radius_m", "covered",
                       "euclid_covered"], rows)
        block_types = [c for c, i in types.items() if i.radius_m is None]
        conn.execute(sa.text(_BLOCK_INSERT_SQL), _block_params(block_types, bld.ids, [], []))
        timings["store_s"] = time.perf_counter() - t1 - timings["distances_s"]

        t2 = time.perf_counter()
        fac_fp = facility_fingerprint(conn)
        sa_fp = service_areas.fingerprint(graph.fingerprint, fac_fp, speed_m_per_min,
                                          params.service)
        recomputed = False
        if force_service_areas or service_areas.stored_fingerprint(conn) != sa_fp:
            ok = f_snap.snapped
            areas = service_areas.compute(
                graph, fac.ids[ok], list(fac.types[ok]), Sources.from_snaps(f_snap,
                                                                            params.include_access),
                speed_m_per_min, params.service)
            service_areas.store(conn, graph, areas, sa_fp)
            recomputed = True
        timings["service_areas_s"] = time.perf_counter() - t2
        conn.execute(sa.text(
            "INSERT INTO coverage_run (network_fingerprint, facility_fingerprint, speed_m_per_min,"
            " report) VALUES (:n, :f, :s, '{}'::jsonb)"
        ), {"n": graph.fingerprint, "f": fac_fp, "s": speed_m_per_min})
    timings["total_s"] = time.perf_counter() - t0
    return {
        "buildings": int(len(bld.ids)),
        "buildings_snapped": int(b_snap.snapped.sum()),
        "unsnapped_buildings": [int(i) for i in bld.ids[~b_snap.snapped]],
        "facilities": int(len(fac.ids)),
        "facilities_snapped": int(f_snap.snapped.sum()),
        "unsnapped_facilities": [int(i) for i in fac.ids[~f_snap.snapped]],
        "max_snap_m": graph.params.max_snap_m,
        "types": len(types),
        "service_areas_recomputed": recomputed,
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }


def _store_snaps(conn: Connection, graph: WalkGraph, table: str, key: str, ids: Ints,
                 snaps: Snaps) -> None:
    ok = np.flatnonzero(snaps.snapped)
    conn.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608 (fixed table names)
    if len(ok) == 0:
        return
    pts = network.snapped_points(graph, Snaps(snaps.edge[ok], snaps.offset[ok], snaps.dist[ok]))
    from pyproj import Transformer

    tr = Transformer.from_crs(graph.metric, 4326, always_xy=True)
    ll = shapely.transform(np.asarray(pts, dtype=object),
                           lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    hexes = network.ewkb_hex(ll)
    e = snaps.edge[ok]
    length = graph.length[e]
    frac = np.where(length > 0, snaps.offset[ok] / np.where(length > 0, length, 1.0), 0.0)
    network._copy(conn, table, [key, "edge_id", "offset_m", "fraction", "snap_m", "geom"], [
        (int(ids[i]), int(graph.edge_ids[e[j]]), repr(float(snaps.offset[i])),
         repr(float(frac[j])), repr(float(snaps.dist[i])), hexes[j])
        for j, i in enumerate(ok)
    ])


# --------------------------------------------------------------------------- aggregates

_UNIT_SQL: dict[str, str] = {
    "estate": "SELECT b.id AS building_id, e.id AS unit_id, e.name AS unit_name, "
              "e.code AS unit_code FROM building b JOIN estate e ON e.id = b.estate_id",
    "community": "SELECT b.id AS building_id, c.id AS unit_id, c.name AS unit_name, "
                 "c.code AS unit_code FROM building b JOIN community c ON c.id = b.community_id",
    "street": "SELECT b.id AS building_id, s.id AS unit_id, s.name AS unit_name, "
              "s.code AS unit_code FROM building b JOIN community c ON c.id = b.community_id "
              "JOIN street s ON s.id = c.street_id",
    "grid": "SELECT DISTINCT ON (b.id) b.id AS building_id, g.id AS unit_id, "
            "COALESCE(g.name, g.grid_code) AS unit_name, g.grid_code AS unit_code "
            "FROM building b JOIN grid_geometry gg ON ST_Intersects(gg.geom, "
            "ST_PointOnSurface(b.geom)) JOIN grid_version v ON v.id = gg.version_id "
            "AND v.status = 'active' JOIN grid g ON g.id = gg.grid_id ORDER BY b.id, g.id",
    "all": "SELECT b.id AS building_id, 0 AS unit_id, 'all' AS unit_name, "
           "NULL::text AS unit_code FROM building b",
}


def _check_level(level: str) -> None:
    if level not in _UNIT_SQL:
        raise ValidationError(f"unknown level {level!r}; use one of {', '.join(LEVELS)}",
                              [Problem(f"unknown level {level!r}", field="level")])


def _aggregate(conn: Connection, level: str) -> list[dict[str, Any]]:
    _check_level(level)
    sql = f"""
    WITH u AS ({_UNIT_SQL[level]})
    SELECT u.unit_id, u.unit_name, u.unit_code, bc.type_code,
           count(*) AS buildings,
           count(*) FILTER (WHERE bc.covered) AS buildings_covered,
           COALESCE(sum(b.residents), 0) AS residents,
           COALESCE(sum(b.residents) FILTER (WHERE bc.covered), 0) AS residents_covered,
           count(*) FILTER (WHERE bc.euclid_covered AND NOT bc.covered) AS overclaim_buildings,
           COALESCE(sum(b.residents) FILTER (WHERE bc.euclid_covered AND NOT bc.covered), 0)
             AS overclaim_residents
    FROM building_coverage bc
    JOIN building b ON b.id = bc.building_id
    JOIN u ON u.building_id = bc.building_id
    GROUP BY u.unit_id, u.unit_name, u.unit_code, bc.type_code
    ORDER BY u.unit_id, bc.type_code
    """  # noqa: S608 (level comes from the fixed _UNIT_SQL mapping)
    return [dict(r) for r in conn.execute(sa.text(sql)).mappings().all()]


def _require_refreshed(conn: Connection) -> None:
    if conn.execute(sa.text("SELECT 1 FROM coverage_run LIMIT 1")).first() is None:
        raise NotFound("coverage has not been computed: run `gridmap coverage refresh` first")


def life_circle_score(rows: list[dict[str, Any]], required: set[str]) -> float | None:
    """Resident-weighted share of required types covered, for one unit.

    ``score = Σ_required residents_covered(t) / (n_required × residents)``; when the
    unit has no residents, the same with building counts. None without data.
    """
    req = [r for r in rows if r["type_code"] in required]
    if not req or not required:
        return None
    residents = max(int(r["residents"]) for r in req)
    if residents > 0:
        return sum(int(r["residents_covered"]) for r in req) / (len(required) * residents)
    buildings = max(int(r["buildings"]) for r in req)
    if buildings == 0:
        return None
    return sum(int(r["buildings_covered"]) for r in req) / (len(required) * buildings)


def summary(conn: Connection, level: str, type_code: str | None = None) -> list[dict[str, Any]]:
    """Coverage per unit of ``level`` (estate, community, grid, street, all).

    Returns one dict per unit: ``unit_id, unit_name, unit_code, buildings, residents,
    score`` (see :func:`life_circle_score`) and ``types``: per type code
    ``buildings_covered, residents_covered, share`` (residents, or buildings when the
    unit has no residents) and the euclidean over-claim (``overclaim_buildings``,
    ``overclaim_residents``: inside the circle but beyond the network radius).

    Raises
    ------
    ValidationError
        Unknown level or type code.
    NotFound
        Coverage never computed.
    """
    _check_level(level)
    types = facility_types(conn)
    if type_code is not None and type_code not in types:
        raise ValidationError(f"unknown facility type {type_code!r}",
                              [Problem(f"unknown facility type {type_code!r}", field="type")])
    _require_refreshed(conn)
    required = {c for c, t in types.items() if t.required}
    by_unit: dict[int, list[dict[str, Any]]] = {}
    for r in _aggregate(conn, level):
        by_unit.setdefault(int(r["unit_id"]), []).append(r)
    out: list[dict[str, Any]] = []
    for unit_id, rows in by_unit.items():
        buildings = max(int(r["buildings"]) for r in rows)
        residents = max(int(r["residents"]) for r in rows)
        score = life_circle_score(rows, required)
        per_type: dict[str, dict[str, Any]] = {}
        for r in rows:
            if type_code is not None and r["type_code"] != type_code:
                continue
            base = residents if residents > 0 else buildings
            got = int(r["residents_covered"]) if residents > 0 else int(r["buildings_covered"])
            per_type[r["type_code"]] = {
                "buildings_covered": int(r["buildings_covered"]),
                "residents_covered": int(r["residents_covered"]),
                "share": round(got / base, 4) if base else None,
                "overclaim_buildings": int(r["overclaim_buildings"]),
                "overclaim_residents": int(r["overclaim_residents"]),
                "radius_m": types[r["type_code"]].radius_m,
            }
        out.append({
            "level": level, "unit_id": unit_id, "unit_name": rows[0]["unit_name"],
            "unit_code": rows[0]["unit_code"], "buildings": buildings, "residents": residents,
            "score": round(score, 4) if score is not None else None, "types": per_type,
        })
    return out


def gaps(conn: Connection, level: str) -> list[dict[str, Any]]:
    """The gap list: per unit, every required type not reaching all its buildings,
    with the residents (and buildings) affected, largest first.

    ``missing`` is true when no building of the unit is covered for that type.

    Raises
    ------
    ValidationError
        Unknown level.
    NotFound
        Coverage never computed.
    """
    _check_level(level)
    types = facility_types(conn)
    _require_refreshed(conn)
    out: list[dict[str, Any]] = []
    for r in _aggregate(conn, level):
        t = types.get(r["type_code"])
        if t is None or not t.required:
            continue
        b_aff = int(r["buildings"]) - int(r["buildings_covered"])
        if b_aff <= 0:
            continue
        out.append({
            "level": level, "unit_id": int(r["unit_id"]), "unit_name": r["unit_name"],
            "unit_code": r["unit_code"], "type_code": t.code, "type_name": t.name_zh,
            "tier": t.tier, "radius_m": t.radius_m,
            "residents_affected": int(r["residents"]) - int(r["residents_covered"]),
            "buildings_affected": b_aff, "residents": int(r["residents"]),
            "buildings": int(r["buildings"]),
            "missing": int(r["buildings_covered"]) == 0,
        })
    out.sort(key=lambda g: (-g["residents_affected"], -g["buildings_affected"], g["unit_id"],
                            g["type_code"]))
    return out


def euclid_overclaim(conn: Connection) -> list[dict[str, Any]]:
    """Per type: buildings and residents a euclidean circle of the radius claims as
    covered although the walking distance is longer."""
    _require_refreshed(conn)
    rows = conn.execute(sa.text(
        """
        SELECT bc.type_code,
               count(*) FILTER (WHERE bc.euclid_covered) AS euclid_buildings,
               count(*) FILTER (WHERE bc.covered) AS network_buildings,
               count(*) FILTER (WHERE bc.euclid_covered AND NOT bc.covered) AS overclaim_buildings,
               COALESCE(sum(b.residents) FILTER (WHERE bc.euclid_covered AND NOT bc.covered), 0)
                 AS overclaim_residents
        FROM building_coverage bc JOIN building b ON b.id = bc.building_id
        WHERE bc.radius_m IS NOT NULL
        GROUP BY bc.type_code ORDER BY overclaim_buildings DESC, bc.type_code
        """
    )).mappings().all()
    return [dict(r) for r in rows]


# --------------------------------------------------------------------------- what-if


def _validate_points(conn: Connection, add: list[tuple[str, float, float]],
                     types: dict[str, TypeInfo]) -> list[Problem]:
    problems: list[Problem] = []
    for i, item in enumerate(add, start=1):
        if len(item) != 3:
            problems.append(Problem("expected (type_code, lon, lat)", row=i))
            continue
        code, lon, lat = item
        if code not in types:
            problems.append(Problem(f"unknown facility type {code!r}", row=i, field="type_code"))
        try:
            lo, la = float(lon), float(lat)
        except (TypeError, ValueError):
            problems.append(Problem("lon/lat must be numbers", row=i, field="lon"))
            continue
        if not (-180 <= lo <= 180 and -90 <= la <= 90):
            problems.append(Problem(f"({lo}, {la}) is not a lon/lat position (swapped?)",
                                    row=i, field="lon"))
    return problems


def what_if(
    conn: Connection, *, add: list[tuple[str, float, float]] | None = None,
    remove: list[int] | None = None, params: CoverageParams | None = None,
    speed_m_per_min: float = 60.0,
) -> dict[str, Any]:
    """Coverage change if hypothetical facilities were added and/or existing ones removed.

    Nothing is written. Uses the cached graph and the stored snaps; only the affected
    types are recomputed (two multi-source passes per type: before and after).

    Parameters
    ----------
    add:
        ``(type_code, lon, lat)`` per new facility (WGS84).
    remove:
        Ids of existing facilities to take away.

    Returns
    -------
    dict
        ``types``: per affected type ``before``/``after``/``delta`` of buildings and
        residents covered; ``by_community``: non-zero resident deltas per community;
        ``added``: snap result of each new facility; ``elapsed_ms``.

    Raises
    ------
    ValidationError
        Unknown type codes, bad coordinates or unknown facility ids (all reported).
    NotFound
        No network / coverage computed yet.
    """
    t0 = time.perf_counter()
    add = list(add or [])
    remove = [int(r) for r in (remove or [])]
    params = params or CoverageParams()
    types = facility_types(conn, speed_m_per_min)
    problems = _validate_points(conn, add, types)
    found = {int(r[0]): str(r[1]) for r in conn.execute(sa.text(
        "SELECT id, type_code FROM facility WHERE id = ANY(:ids)"), {"ids": remove}).all()}
    for i, fid in enumerate(remove, start=1):
        if fid not in found:
            problems.append(Problem(f"facility {fid} does not exist", row=i, field="remove"))
    if not add and not remove:
        problems.append(Problem("nothing to add or remove"))
    if problems:
        raise ValidationError(f"what-if input has {len(problems)} problem(s)", problems)
    _require_refreshed(conn)
    graph = network.load_graph(conn)
    bld, b_snap = _stored_building_snaps(conn, graph)
    affected = sorted({a[0] for a in add} | set(found.values()))
    add_pts = network.to_metric(shapely.points([(float(a[1]), float(a[2])) for a in add]),
                                graph.metric) if add else np.empty(0, dtype=object)
    a_snap = network.snap_points(graph, add_pts)
    result_types: list[dict[str, Any]] = []
    by_comm: dict[tuple[int, str], int] = {}
    for code in affected:
        info = types[code]
        if info.radius_m is None:
            before_cov, after_cov = _block_before_after(conn, code, bld.ids, remove, add)
        else:
            before_src = _stored_facility_sources(conn, graph, code, [], params.include_access)
            after_src = _stored_facility_sources(conn, graph, code, remove, params.include_access)
            sel = np.flatnonzero(np.array([a[0] == code for a in add], dtype=bool)) if add else \
                np.empty(0, dtype=np.int64)
            extra = Sources.from_snaps(Snaps(a_snap.edge[sel], a_snap.offset[sel],
                                             a_snap.dist[sel]), params.include_access)
            after_src = Sources(np.r_[after_src.edge, extra.edge],
                                np.r_[after_src.offset, extra.offset],
                                np.r_[after_src.extra, extra.extra])
            cap = info.radius_m
            before_cov = type_distances(graph, b_snap, before_src, cap,
                                        params.include_access) <= cap
            after_cov = type_distances(graph, b_snap, after_src, cap,
                                       params.include_access) <= cap
        changed = before_cov != after_cov
        for c in np.unique(bld.community[changed]):
            m = changed & (bld.community == c)
            dr = int(bld.residents[m & after_cov].sum() - bld.residents[m & before_cov].sum())
            if dr:
                by_comm[(int(c), code)] = dr
        b_before = {"buildings": int(before_cov.sum()),
                    "residents": int(bld.residents[before_cov].sum())}
        b_after = {"buildings": int(after_cov.sum()),
                   "residents": int(bld.residents[after_cov].sum())}
        result_types.append({
            "type_code": code, "radius_m": info.radius_m, "before": b_before, "after": b_after,
            "delta": {k: b_after[k] - b_before[k] for k in b_before},
            "buildings_changed": int(changed.sum()),
        })
    return {
        "types": result_types,
        "by_community": [{"community_id": c if c >= 0 else None, "type_code": t,
                          "delta_residents": d} for (c, t), d in sorted(by_comm.items())],
        "added": [{"type_code": a[0], "lon": float(a[1]), "lat": float(a[2]),
                   "snapped": bool(a_snap.snapped[i]),
                   "snap_m": round(float(a_snap.dist[i]), 1) if a_snap.snapped[i] else None}
                  for i, a in enumerate(add)],
        "removed": remove,
        "elapsed_ms": round((time.perf_counter() - t0) * 1000, 1),
    }


def _block_before_after(conn: Connection, code: str, ids: Ints, remove: list[int],
                        add: list[tuple[str, float, float]]) -> tuple[npt.NDArray[np.bool_],
                                                                       npt.NDArray[np.bool_]]:
    def run(rm: list[int], ad: list[tuple[str, float, float]]) -> npt.NDArray[np.bool_]:
        got: dict[int, bool] = {
            int(r[0]): bool(r[1]) for r in conn.execute(
                sa.text(_BLOCK_SELECT_SQL), _block_params([code], ids, rm, ad)).all()
        }
        return np.array([got.get(int(i), False) for i in ids], dtype=np.bool_)

    return run([], []), run(remove, [a for a in add if a[0] == code])


# --------------------------------------------------------------------------- candidates


def greedy_mclp(cover: sparse.csr_matrix, weights: Floats, k: int) -> list[tuple[int, float]]:
    """Greedy maximal covering: ``cover`` is candidates × demand points (1 = covers).

    Returns up to ``k`` (candidate index, weight added) pairs, stopping early when no
    candidate adds anything.
    """
    w = np.asarray(weights, dtype=float).copy()
    cover = sparse.csr_matrix(cover, dtype=float)
    picked: list[tuple[int, float]] = []
    for _ in range(k):
        gains = cover @ w
        if len(gains) == 0:
            break
        best = int(np.argmax(gains))
        if gains[best] <= 0:
            break
        picked.append((best, float(gains[best])))
        w[cover.indices[cover.indptr[best]:cover.indptr[best + 1]]] = 0.0
    return picked


def candidates(
    conn: Connection, type_code: str, k: int,
    candidates: list[tuple[float, float]] | None = None, *,
    params: CoverageParams | None = None, speed_m_per_min: float = 60.0,
) -> list[dict[str, Any]]:
    """The ``k`` sites that add the most covered residents for ``type_code`` (greedy MCLP).

    Candidate sites are the supplied ``(lon, lat)`` points, or else every network node
    of the analysed component. Demand: residents of buildings not yet covered (a
    building without residents weighs 1e-3 so that it still breaks ties).

    Returns one dict per chosen site in order: ``rank, lon, lat, node_id (or None),
    residents_added, buildings_added, cumulative_residents``.

    Raises
    ------
    ValidationError
        Unknown or block-tier type, k < 1, bad candidate coordinates.
    """
    params = params or CoverageParams()
    types = facility_types(conn, speed_m_per_min)
    problems: list[Problem] = []
    if type_code not in types:
        problems.append(Problem(f"unknown facility type {type_code!r}", field="type"))
    elif types[type_code].radius_m is None:
        problems.append(Problem(f"{type_code} is a block-tier type (checked inside the estate); "
                                "candidate siting needs a walking radius", field="type"))
    if k < 1:
        problems.append(Problem("k must be at least 1", field="k"))
    if candidates is not None:
        problems += [p for p in _validate_points(conn, [(type_code, c[0], c[1])
                                                        for c in candidates], types)
                     if p.field != "type_code"]
    if problems:
        raise ValidationError(problems[0].reason if len(problems) == 1 else
                              f"candidate input has {len(problems)} problems", problems)
    _require_refreshed(conn)
    radius = float(types[type_code].radius_m)  # type: ignore[arg-type]
    graph = network.load_graph(conn)
    bld, b_snap = _stored_building_snaps(conn, graph)
    current = _stored_facility_sources(conn, graph, type_code, [], params.include_access)
    covered = type_distances(graph, b_snap, current, radius, params.include_access) <= radius
    demand = np.where(covered, 0.0, np.maximum(bld.residents, 1e-3))
    demand[~b_snap.snapped] = 0.0

    node_ids: Ints | None = None
    if candidates is not None:
        pts = network.to_metric(shapely.points(np.asarray(candidates, dtype=float)), graph.metric)
        c_snap = network.snap_points(graph, pts)
        ok = np.flatnonzero(c_snap.snapped)
        src = Sources.from_snaps(c_snap, params.include_access)
        lonlat = np.asarray(candidates, dtype=float)[ok]
    else:
        ok = np.empty(0, dtype=np.int64)
        usable = np.flatnonzero(graph.component == 0) if graph.params.largest_component_only \
            else np.arange(len(graph.edge_ids))
        nodes, first = np.unique(graph.source[usable], return_index=True)
        e = usable[first]
        src = Sources(e, np.zeros(len(e)), np.zeros(len(e)))
        node_ids = graph.node_ids[nodes]
        from pyproj import Transformer

        tr = Transformer.from_crs(graph.metric, 4326, always_xy=True)
        xy = shapely.get_coordinates(shapely.get_point(graph.geoms[e], 0))
        lonlat = np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))
    if len(src) == 0:
        return []
    need = np.flatnonzero(demand > 0)
    sub = Snaps(b_snap.edge[need], b_snap.offset[need], b_snap.dist[need])
    rows: list[Ints] = []
    cols: list[Ints] = []
    for idx, dmat in network.node_distances_each(graph, src, radius, max_cells=4_000_000):
        dm = network.point_distance_matrix(graph, dmat, sub, src.take(idx), params.include_access)
        r, c = np.nonzero(dm <= radius)
        rows.append(idx[r])
        cols.append(c)
    rr = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
    cc = np.concatenate(cols) if cols else np.empty(0, dtype=np.int64)
    cover = sparse.csr_matrix((np.ones(len(rr)), (rr, cc)), shape=(len(src), len(need)))
    picked = greedy_mclp(cover, demand[need], k)
    out: list[dict[str, Any]] = []
    taken = np.zeros(len(need), dtype=bool)
    cumulative = 0
    for rank, (ci, _gain) in enumerate(picked, start=1):
        cols_i = cover.indices[cover.indptr[ci]:cover.indptr[ci + 1]]
        new = cols_i[~taken[cols_i]]
        taken[new] = True
        res = int(bld.residents[need[new]].sum())
        cumulative += res
        out.append({
            "rank": rank, "lon": round(float(lonlat[ci][0]), 7), "lat": round(float(lonlat[ci][1]), 7),
            "node_id": int(node_ids[ci]) if node_ids is not None else None,
            "candidate_index": int(ok[ci]) if candidates is not None else None,
            "residents_added": res, "buildings_added": int(len(new)),
            "cumulative_residents": cumulative,
        })
    return out

