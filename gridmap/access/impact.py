"""What a planner sees of a change: the estates or communities whose coverage changes
with a what-if (before/after share, residents newly covered), the walking service area
of each hypothetical site at its type's tier radius, and a description of candidate
sites (address: estate, community and nearest named road; the estates each serves).

Builds on :func:`gridmap.access.whatif.compare` and the candidates of
:mod:`gridmap.access.siting`; nothing is written.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import crs as gcrs
from gridmap.access.distances import Sources, node_distances
from gridmap.access.inputs import CoverageParams
from gridmap.access.service_areas import ServiceAreaParams, area_polygon
from gridmap.access.whatif import Comparison, Point, compare, summarise
from gridmap.config import Settings
from gridmap.errors import Problem, ValidationError

UNIT_LEVELS: tuple[str, ...] = ("estate", "community")

# fixed mappings (never formatted from input): the building's unit column and unit table
_UNIT_OF_BUILDING = {
    "estate": sa.text("SELECT id, COALESCE(estate_id, -1) FROM building ORDER BY id"),
    "community": sa.text("SELECT id, COALESCE(community_id, -1) FROM building ORDER BY id"),
}
_UNIT_NAMES = {
    "estate": sa.text("SELECT id, name FROM estate WHERE id = ANY(:ids)"),
    "community": sa.text("SELECT id, name FROM community WHERE id = ANY(:ids)"),
}

_SITE_SQL = sa.text(
    """
    WITH p AS (
      SELECT t.i, ST_SetSRID(ST_MakePoint(t.x, t.y), 4326) AS g
      FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) WITH ORDINALITY AS t(x, y, i)
    )
    SELECT p.i, e.name AS estate, c.name AS community, r.name AS road, r.d AS road_m
    FROM p
    LEFT JOIN LATERAL (SELECT name FROM estate WHERE ST_Intersects(geom, p.g)
                       ORDER BY id LIMIT 1) e ON true
    LEFT JOIN LATERAL (SELECT name FROM community WHERE ST_Intersects(geom, p.g)
                       ORDER BY id LIMIT 1) c ON true
    LEFT JOIN LATERAL (SELECT name, ST_Distance(geom::geography, p.g::geography) AS d
                       FROM osm_line WHERE name IS NOT NULL AND name <> ''
                       ORDER BY geom <-> p.g LIMIT 1) r ON true
    ORDER BY p.i
    """
)
_SERVED_SQL = sa.text(
    """
    SELECT s.k, e.id AS estate_id, e.name AS estate, COALESCE(sum(b.residents), 0) AS residents,
           count(*) AS buildings
    FROM unnest(CAST(:ks AS int[]), CAST(:ids AS bigint[])) AS s(k, bid)
    JOIN building b ON b.id = s.bid
    LEFT JOIN estate e ON e.id = b.estate_id
    GROUP BY s.k, e.id, e.name
    ORDER BY s.k, residents DESC, buildings DESC, e.id
    """
)


def _check(level: str, type_code: str | None, cmp_types: set[str]) -> None:
    problems: list[Problem] = []
    if level not in UNIT_LEVELS:
        problems.append(Problem("planner.unknown_level", {"level": level}, field="level"))
    if type_code is not None and type_code not in cmp_types:
        problems.append(Problem("planner.focus_not_changed", {"code": type_code}, field="type"))
    if problems:
        raise ValidationError("planner.whatif_detail_invalid", problems, {"n": len(problems)})


def what_if_detail(
    conn: Connection, *, add: list[Point] | None = None, remove: list[int] | None = None,
    level: str = "estate", type_code: str | None = None, params: CoverageParams | None = None,
    speed_m_per_min: float = Settings.walking_speed_m_per_min,
    street_width_m: float = ServiceAreaParams.street_width_m,
) -> dict[str, Any]:
    """:func:`gridmap.access.whatif.what_if` plus what changes on the map.

    Parameters
    ----------
    level:
        ``estate`` or ``community``: the units listed in ``units``.
    type_code:
        The type whose unit changes are listed (default: the first affected type).

    Returns
    -------
    dict
        The what-if answer plus ``focus`` (type code), ``units`` (see
        :func:`unit_changes`) and ``service_areas`` (GeoJSON FeatureCollection, one
        feature per added site at its type's tier radius, EPSG:4326).

    Raises
    ------
    ValidationError
        Bad points, unknown level, or a focus type the change does not affect.
    NotFound
        No network / coverage computed yet.
    """
    t0 = time.perf_counter()
    params = params or CoverageParams()
    cmp = compare(conn, add=add, remove=remove, params=params, speed_m_per_min=speed_m_per_min)
    _check(level, type_code, set(cmp.per_type))
    focus = type_code or next(iter(cmp.per_type))
    out = summarise(cmp, t0)
    out["focus"] = focus
    out["level"] = level
    out["units"] = unit_changes(conn, cmp, level, focus)
    out["service_areas"] = added_service_areas(cmp, params, street_width_m)
    out["elapsed_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    return out


def unit_changes(conn: Connection, cmp: Comparison, level: str,
                 type_code: str) -> list[dict[str, Any]]:
    """Units of ``level`` whose coverage of ``type_code`` changes, most residents gained
    first: ``unit_id, unit_name, residents, buildings, residents_covered_before/_after,
    share_before/_after`` (residents, or buildings without residents),
    ``residents_gained`` (negative: lost) and ``buildings_gained``."""
    before, after = cmp.per_type[type_code]
    changed = before != after
    if not changed.any():
        return []
    rows = np.array(conn.execute(_UNIT_OF_BUILDING[level]).all(), dtype=np.int64).reshape(-1, 2)
    pos = np.clip(np.searchsorted(rows[:, 0], cmp.bld.ids), 0, max(len(rows) - 1, 0))
    unit = np.where(rows[pos, 0] == cmp.bld.ids, rows[pos, 1], -1)
    touched = [int(u) for u in np.unique(unit[changed]) if u >= 0]
    names = {int(r[0]): r[1] for r in conn.execute(_UNIT_NAMES[level], {"ids": touched}).all()}
    res = cmp.bld.residents
    out: list[dict[str, Any]] = []
    for u in touched:
        m = unit == u
        residents, buildings = float(res[m].sum()), int(m.sum())
        cb, ca = float(res[m & before].sum()), float(res[m & after].sum())
        nb, na = int((m & before).sum()), int((m & after).sum())
        out.append({
            "unit_id": u, "unit_name": names.get(u), "residents": int(residents),
            "buildings": buildings, "residents_covered_before": int(cb),
            "residents_covered_after": int(ca),
            "share_before": _share(cb, nb, residents, buildings),
            "share_after": _share(ca, na, residents, buildings),
            "residents_gained": int(ca - cb), "buildings_gained": na - nb,
        })
    out.sort(key=lambda r: (-r["residents_gained"], -r["buildings_gained"], r["unit_id"]))
    return out


def _share(cov_res: float, cov_bld: int, residents: float, buildings: int) -> float | None:
    if residents > 0:
        return round(cov_res / residents, 4)
    return round(cov_bld / buildings, 4) if buildings else None


def added_service_areas(cmp: Comparison, params: CoverageParams,
                        street_width_m: float) -> dict[str, Any]:
    """Walking service area of each added site at its type's tier radius (GeoJSON,
    EPSG:4326). Block-tier types and sites off the network get ``geometry: null``."""
    feats: list[dict[str, Any]] = []
    for i, (code, lon, lat) in enumerate(cmp.add):
        radius = cmp.types[code].radius_m
        geom: dict[str, Any] | None = None
        if radius is not None and bool(cmp.a_snap.snapped[i]):
            src = Sources.from_snaps(cmp.a_snap.take(np.array([i])), params.include_access)
            d = node_distances(cmp.graph, src, limit=radius)
            poly = area_polygon(cmp.graph, d, src, radius, street_width_m)
            if not poly.is_empty:
                g = gcrs.from_metric(np.array([poly], dtype=object), cmp.graph.metric)[0]
                geom = json.loads(shapely.to_geojson(shapely.set_precision(g, 1e-7)))
        feats.append({"type": "Feature", "geometry": geom, "properties": {
            "index": i, "type_code": code, "radius_m": radius, "lon": lon, "lat": lat}})
    return {"type": "FeatureCollection", "features": feats}


def describe_sites(conn: Connection, sites: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Candidate sites (``lon, lat`` and optionally ``building_ids`` newly covered) with
    ``estate``, ``community``, ``road`` (nearest named OSM line) and ``road_m``, and
    ``serves``: per estate (``estate: None`` = outside any estate) the residents and
    buildings newly covered. ``building_ids`` is dropped from the answer."""
    if not sites:
        return []
    where = conn.execute(_SITE_SQL, {"xs": [float(s["lon"]) for s in sites],
                                     "ys": [float(s["lat"]) for s in sites]}).mappings().all()
    ks: list[int] = []
    ids: list[int] = []
    for k, s in enumerate(sites):
        got = list(s.get("building_ids") or [])
        ks += [k] * len(got)
        ids += got
    serves: dict[int, list[dict[str, Any]]] = {k: [] for k in range(len(sites))}
    for r in conn.execute(_SERVED_SQL, {"ks": ks, "ids": ids}).mappings().all():
        serves[int(r["k"])].append({"estate_id": r["estate_id"], "estate": r["estate"],
                                    "residents": int(r["residents"]),
                                    "buildings": int(r["buildings"])})
    out: list[dict[str, Any]] = []
    for k, (s, w) in enumerate(zip(sites, where, strict=True)):
        row = {key: v for key, v in s.items() if key != "building_ids"}
        row.update(estate=w["estate"], community=w["community"], road=w["road"],
                   road_m=round(float(w["road_m"]), 1) if w["road_m"] is not None else None,
                   serves=serves[k])
        out.append(row)
    return out
