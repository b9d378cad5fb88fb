"""What-if analysis: the coverage change if hypothetical facilities were added and/or
existing ones removed. Nothing is written: the cached graph and the snaps stored by the
last refresh are reused, and only the affected types are recomputed (two multi-source
passes per type: before and after).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import crs as gcrs
from gridmap.access.distances import Sources, type_distances
from gridmap.access.graph import Ints, Snaps, WalkGraph, load_graph, snap_points
from gridmap.access.inputs import (
    BLOCK_SELECT_SQL,
    Buildings,
    CoverageParams,
    TypeInfo,
    block_params,
    facility_types,
    require_refreshed,
    stored_building_snaps,
    stored_facility_sources,
    validate_points,
)
from gridmap.config import Settings
from gridmap.errors import Problem, ValidationError

Bools = npt.NDArray[np.bool_]
Point = tuple[str, float, float]


def _check(conn: Connection, add: list[Point], remove: list[int],
           types: dict[str, TypeInfo]) -> dict[int, str]:
    """The type of each facility to remove; every bad input reported at once."""
    problems = validate_points(add, types)
    found = {int(r[0]): str(r[1]) for r in conn.execute(sa.text(
        "SELECT id, type_code FROM facility WHERE id = ANY(:ids)"), {"ids": remove}).all()}
    for i, fid in enumerate(remove, start=1):
        if fid not in found:
            problems.append(Problem("access.facility_not_found", {"facility": fid}, row=i,
                                    field="remove"))
    if not add and not remove:
        problems.append(Problem("access.nothing_to_change"))
    if problems:
        raise ValidationError("access.whatif_invalid", problems, {"n": len(problems)})
    return found


def what_if(
    conn: Connection, *, add: list[Point] | None = None,
    remove: list[int] | None = None, params: CoverageParams | None = None,
    speed_m_per_min: float = Settings.walking_speed_m_per_min,
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
    cmp = compare(conn, add=add, remove=remove, params=params, speed_m_per_min=speed_m_per_min)
    return summarise(cmp, t0)


def summarise(cmp: Comparison, t0: float) -> dict[str, Any]:
    """The :func:`what_if` answer of a comparison started at ``t0`` (perf_counter)."""
    add, remove, a_snap, bld = cmp.add, cmp.remove, cmp.a_snap, cmp.bld
    result_types: list[dict[str, Any]] = []
    by_comm: dict[tuple[int, str], int] = {}
    for code, (before_cov, after_cov) in cmp.per_type.items():
        by_comm.update(_community_deltas(bld, code, before_cov, after_cov))
        result_types.append(_type_delta(bld, cmp.types[code], before_cov, after_cov))
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


@dataclass
class Comparison:
    """Coverage of every building before and after a change, per affected type."""

    add: list[Point]
    remove: list[int]
    types: dict[str, TypeInfo]
    graph: WalkGraph
    bld: Buildings
    a_snap: Snaps
    per_type: dict[str, tuple[Bools, Bools]]


def compare(
    conn: Connection, *, add: list[Point] | None = None, remove: list[int] | None = None,
    params: CoverageParams | None = None,
    speed_m_per_min: float = Settings.walking_speed_m_per_min,
) -> Comparison:
    """Per affected type, the covered flags of every analysed building before and after
    adding ``add`` and removing ``remove`` (nothing is written; see :func:`what_if`).

    Raises
    ------
    ValidationError
        Unknown type codes, bad coordinates or unknown facility ids (all reported).
    NotFound
        No network / coverage computed yet.
    """
    add = list(add or [])
    remove = [int(r) for r in (remove or [])]
    params = params or CoverageParams()
    types = facility_types(conn, speed_m_per_min)
    found = _check(conn, add, remove, types)
    require_refreshed(conn)
    graph = load_graph(conn)
    bld, b_snap = stored_building_snaps(conn, graph)
    add_pts = gcrs.to_metric(shapely.points([(float(a[1]), float(a[2])) for a in add]),
                             graph.metric) if add else np.empty(0, dtype=object)
    a_snap = snap_points(graph, add_pts)
    per_type: dict[str, tuple[Bools, Bools]] = {}
    for code in sorted({a[0] for a in add} | set(found.values())):
        info = types[code]
        if info.radius_m is None:
            per_type[code] = _block_before_after(conn, code, bld.ids, remove, add)
        else:
            per_type[code] = _network_before_after(
                conn, graph, b_snap, code, info.radius_m, remove,
                a_snap.take(np.array([a[0] == code for a in add], dtype=bool)), params)
    return Comparison(add, remove, types, graph, bld, a_snap, per_type)


def _network_before_after(conn: Connection, graph: WalkGraph, b_snap: Snaps, code: str,
                          radius: float, remove: list[int], added: Snaps,
                          params: CoverageParams) -> tuple[Bools, Bools]:
    """Buildings covered for a radius type before and after the change."""
    before_src = stored_facility_sources(conn, graph, code, [], params.include_access)
    after_src = stored_facility_sources(conn, graph, code, remove, params.include_access)
    after_src = after_src.plus(Sources.from_snaps(added, params.include_access))
    before = type_distances(graph, b_snap, before_src, radius, params.include_access) <= radius
    after = type_distances(graph, b_snap, after_src, radius, params.include_access) <= radius
    return before, after


def _block_before_after(conn: Connection, code: str, ids: Ints, remove: list[int],
                        add: list[Point]) -> tuple[Bools, Bools]:
    """Buildings covered for a block-tier type before and after the change."""
    def run(rm: list[int], ad: list[Point]) -> Bools:
        got: dict[int, bool] = {
            int(r[0]): bool(r[1]) for r in conn.execute(
                sa.text(BLOCK_SELECT_SQL), block_params([code], ids, rm, ad)).all()
        }
        return np.array([got.get(int(i), False) for i in ids], dtype=np.bool_)

    return run([], []), run(remove, [a for a in add if a[0] == code])


def _community_deltas(bld: Buildings, code: str, before: Bools,
                      after: Bools) -> dict[tuple[int, str], int]:
    """Non-zero changes of covered residents per community (-1: no community)."""
    out: dict[tuple[int, str], int] = {}
    changed = before != after
    for c in np.unique(bld.community[changed]):
        m = changed & (bld.community == c)
        dr = int(bld.residents[m & after].sum() - bld.residents[m & before].sum())
        if dr:
            out[(int(c), code)] = dr
    return out


def _type_delta(bld: Buildings, info: TypeInfo, before: Bools, after: Bools) -> dict[str, Any]:
    b_before = {"buildings": int(before.sum()), "residents": int(bld.residents[before].sum())}
    b_after = {"buildings": int(after.sum()), "residents": int(bld.residents[after].sum())}
    return {
        "type_code": info.code, "radius_m": info.radius_m, "before": b_before, "after": b_after,
        "delta": {k: b_after[k] - b_before[k] for k in b_before},
        "buildings_changed": int((before != after).sum()),
    }
