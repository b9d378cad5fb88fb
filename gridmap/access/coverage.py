"""15-minute life-circle coverage: network distances from every building to the
nearest facility of each type (stored by :func:`refresh`), coverage aggregates and the
gap list per estate, community, grid and street, and the euclidean over-claim.

Method (reference/life_circle.md §5): a building is covered for a facility type
when its walking-network distance to the nearest facility of that type is at most
the type's radius (``facility_type.radius_m``; when blank and the tier is timed,
tier minutes × walking speed). Population coverage weights buildings by residents.
Block-tier (居住街坊) types have no radius: a building is covered when a facility of
the type lies inside its estate (or, without an estate, inside its street block).

Distances for all facilities of one type come from ONE multi-source Dijkstra
(:func:`gridmap.access.distances.node_distances`), never one search per facility.

What-if analysis (:mod:`gridmap.access.whatif`) and candidate sites
(:mod:`gridmap.access.siting`) are part of this module's public API: ``what_if``,
``candidates`` and ``greedy_mclp`` are re-exported here.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import crs as gcrs
from gridmap.access import service_areas
from gridmap.access.distances import Sources, type_distances
from gridmap.access.graph import (
    Ints,
    Snaps,
    WalkGraph,
    current_build,
    load_graph,
    snap_points,
    snapped_points,
)
from gridmap.access.inputs import (
    BLOCK_INSERT_SQL,
    Buildings,
    CoverageParams,
    Facilities,
    TypeInfo,
    block_params,
    facility_fingerprint,
    facility_types,
    load_buildings,
    load_facilities,
    require_refreshed,
)
from gridmap.access.network import build_network
from gridmap.access.siting import candidates as candidates
from gridmap.access.siting import greedy_mclp as greedy_mclp
from gridmap.access.storage import copy_rows, ewkb_hex
from gridmap.access.whatif import what_if as what_if
from gridmap.config import Settings
from gridmap.errors import Problem, ValidationError

LEVELS: tuple[str, ...] = ("estate", "community", "grid", "street", "all")


# --------------------------------------------------------------------------- refresh


def refresh(
    conn: Connection, *, speed_m_per_min: float = Settings.walking_speed_m_per_min,
    params: CoverageParams | None = None, force_service_areas: bool = False,
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
        raise ValidationError("access.speed_not_positive_got",
                              [Problem("access.speed_not_positive", field="speed")],
                              {"speed": speed_m_per_min})
    params = params or CoverageParams()
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    with conn.begin_nested():
        if current_build(conn) is None:
            build_network(conn)
        graph = load_graph(conn)
        timings["load_graph_s"] = time.perf_counter() - t0
        types = facility_types(conn, speed_m_per_min)
        bld = load_buildings(conn, graph, params.residential_only)
        fac = load_facilities(conn, graph)
        b_snap = snap_points(graph, bld.points_m)
        f_snap = snap_points(graph, fac.points_m)
        _store_snaps(conn, graph, "building_snap", "building_id", bld.ids, b_snap)
        _store_snaps(conn, graph, "facility_snap", "facility_id", fac.ids, f_snap)
        timings["snap_s"] = time.perf_counter() - t0 - sum(timings.values())

        t1 = time.perf_counter()
        rows = _coverage_rows(graph, types, bld, fac, b_snap, f_snap, params)
        timings["distances_s"] = time.perf_counter() - t1
        _store_coverage(conn, rows, types, bld.ids)
        timings["store_s"] = time.perf_counter() - t1 - timings["distances_s"]

        t2 = time.perf_counter()
        fac_fp = facility_fingerprint(conn)
        recomputed = _refresh_service_areas(conn, graph, fac, f_snap, fac_fp, speed_m_per_min,
                                            params, force_service_areas)
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


def _coverage_rows(graph: WalkGraph, types: dict[str, TypeInfo], bld: Buildings,
                   fac: Facilities, b_snap: Snaps, f_snap: Snaps,
                   params: CoverageParams) -> list[tuple[Any, ...]]:
    """``building_coverage`` rows of every radius type: network and euclidean distances."""
    rows: list[tuple[Any, ...]] = []
    for code, info in types.items():
        if info.radius_m is None:
            continue
        sel = np.flatnonzero(fac.types == code)
        src = Sources.from_snaps(f_snap.take(sel), params.include_access)
        dist = type_distances(graph, b_snap, src, params.distance_cap_m, params.include_access)
        eu = np.full(len(bld.ids), np.inf)
        if len(sel) and len(bld.ids):
            tree = shapely.STRtree(fac.points_m[sel])
            idx, d = tree.query_nearest(bld.points_m, return_distance=True, all_matches=False)
            eu[idx[0]] = d
        covered = dist <= info.radius_m
        eu_cov = eu <= info.radius_m
        for i in range(len(bld.ids)):
            rows.append((int(bld.ids[i]), code,
                         repr(float(dist[i])) if np.isfinite(dist[i]) else None,
                         repr(float(eu[i])) if np.isfinite(eu[i]) else None,
                         repr(info.radius_m), "t" if covered[i] else "f",
                         "t" if eu_cov[i] else "f"))
    return rows


def _store_coverage(conn: Connection, rows: list[tuple[Any, ...]], types: dict[str, TypeInfo],
                    building_ids: Ints) -> None:
    """Replace ``building_coverage``: the radius rows, then the block-tier rule."""
    conn.execute(sa.text("DELETE FROM building_coverage"))
    copy_rows(conn, "building_coverage",
              ["building_id", "type_code", "network_m", "euclid_m", "radius_m", "covered",
               "euclid_covered"], rows)
    block_types = [c for c, i in types.items() if i.radius_m is None]
    conn.execute(sa.text(BLOCK_INSERT_SQL), block_params(block_types, building_ids, [], []))


def _refresh_service_areas(conn: Connection, graph: WalkGraph, fac: Facilities, f_snap: Snaps,
                           fac_fp: str, speed_m_per_min: float, params: CoverageParams,
                           force: bool) -> bool:
    """Recompute the stored service areas when their fingerprint changed (or ``force``)."""
    sa_fp = service_areas.fingerprint(graph.fingerprint, fac_fp, speed_m_per_min,
                                      params.service)
    if not force and service_areas.stored_fingerprint(conn) == sa_fp:
        return False
    ok = f_snap.snapped
    areas = service_areas.compute(
        graph, fac.ids[ok], list(fac.types[ok]), Sources.from_snaps(f_snap, params.include_access),
        speed_m_per_min, params.service)
    service_areas.store(conn, graph, areas, sa_fp)
    return True


def _store_snaps(conn: Connection, graph: WalkGraph, table: str, key: str, ids: Ints,
                 snaps: Snaps) -> None:
    """Replace ``table`` (building_snap / facility_snap) by the snapped points."""
    ok = np.flatnonzero(snaps.snapped)
    conn.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608 (fixed table names)
    if len(ok) == 0:
        return
    pts = snapped_points(graph, snaps.take(ok))
    hexes = ewkb_hex(gcrs.from_metric(pts, graph.metric))
    e = snaps.edge[ok]
    length = graph.length[e]
    frac = np.where(length > 0, snaps.offset[ok] / np.where(length > 0, length, 1.0), 0.0)
    copy_rows(conn, table, [key, "edge_id", "offset_m", "fraction", "snap_m", "geom"], [
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
        raise ValidationError("access.unknown_level_use_one_of",
                              [Problem("access.unknown_level", {"level": level}, field="level")],
                              {"level": level, "levels": list(LEVELS)})


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
        raise ValidationError("access.unknown_facility_type",
                              [Problem("access.unknown_facility_type", {"code": type_code},
                                       field="type")], {"code": type_code})
    require_refreshed(conn)
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
    with the residents (and buildings) affected and the covered ``share``, largest first.

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
    require_refreshed(conn)
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
            "residents_covered": int(r["residents_covered"]),
            "share": _gap_share(r),
            "missing": int(r["buildings_covered"]) == 0,
        })
    out.sort(key=lambda g: (-g["residents_affected"], -g["buildings_affected"], g["unit_id"],
                            g["type_code"]))
    return out


def _gap_share(r: dict[str, Any]) -> float | None:
    """Covered share of a unit for a type: residents, or buildings without residents."""
    if int(r["residents"]) > 0:
        return round(int(r["residents_covered"]) / int(r["residents"]), 4)
    b = int(r["buildings"])
    return round(int(r["buildings_covered"]) / b, 4) if b else None


def euclid_overclaim(conn: Connection) -> list[dict[str, Any]]:
    """Per type: buildings and residents a euclidean circle of the radius claims as
    covered although the walking distance is longer."""
    require_refreshed(conn)
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
