"""Candidate sites for a new facility: greedy maximal covering (MCLP) of the residents
not yet within the walking radius of a facility type.

Candidates are supplied ``(lon, lat)`` points or every network node of the analysed
component; coverage of each candidate comes from batched single-source passes
(:func:`gridmap.access.distances.node_distances_each`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from scipy import sparse
from sqlalchemy.engine import Connection

from gridmap import crs as gcrs
from gridmap.access.distances import (
    Sources,
    node_distances_each,
    point_distance_matrix,
    type_distances,
)
from gridmap.access.graph import Floats, Ints, Snaps, WalkGraph, load_graph, snap_points
from gridmap.access.inputs import (
    Buildings,
    CoverageParams,
    TypeInfo,
    facility_types,
    require_refreshed,
    stored_building_snaps,
    stored_facility_sources,
    validate_points,
)
from gridmap.config import Settings
from gridmap.errors import Problem, ValidationError


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


def _check(types: dict[str, TypeInfo], type_code: str, k: int,
           candidates: list[tuple[float, float]] | None) -> None:
    """Every problem of the request at once."""
    problems: list[Problem] = []
    if type_code not in types:
        problems.append(Problem("access.unknown_facility_type", {"code": type_code},
                                field="type"))
    elif types[type_code].radius_m is None:
        problems.append(Problem("access.block_tier_no_radius", {"code": type_code},
                                field="type"))
    if k < 1:
        problems.append(Problem("access.k_at_least_one", field="k"))
    if candidates is not None:
        problems += [p for p in validate_points([(type_code, c[0], c[1]) for c in candidates],
                                                types)
                     if p.field != "type_code"]
    if len(problems) == 1:
        raise ValidationError(problems[0].code, problems, problems[0].params)
    if problems:
        raise ValidationError("access.candidates_invalid", problems, {"n": len(problems)})


def candidates(
    conn: Connection, type_code: str, k: int,
    candidates: list[tuple[float, float]] | None = None, *,
    params: CoverageParams | None = None,
    speed_m_per_min: float = Settings.walking_speed_m_per_min,
) -> list[dict[str, Any]]:
    """The ``k`` sites that add the most covered residents for ``type_code`` (greedy MCLP).

    Candidate sites are the supplied ``(lon, lat)`` points, or else every network node
    of the analysed component. Demand: residents of buildings not yet covered (a
    building without residents weighs 1e-3 so that it still breaks ties).

    Returns one dict per chosen site in order: ``rank, lon, lat, node_id (or None),
    residents_added, buildings_added, cumulative_residents, building_ids`` (the
    buildings it newly covers).

    Raises
    ------
    ValidationError
        Unknown or block-tier type, k < 1, bad candidate coordinates.
    """
    params = params or CoverageParams()
    types = facility_types(conn, speed_m_per_min)
    _check(types, type_code, k, candidates)
    require_refreshed(conn)
    radius = float(types[type_code].radius_m)  # type: ignore[arg-type]
    graph = load_graph(conn)
    bld, b_snap = stored_building_snaps(conn, graph)
    current = stored_facility_sources(conn, graph, type_code, [], params.include_access)
    covered = type_distances(graph, b_snap, current, radius, params.include_access) <= radius
    demand = np.where(covered, 0.0, np.maximum(bld.residents, 1e-3))
    demand[~b_snap.snapped] = 0.0

    node_ids: Ints | None = None
    if candidates is not None:
        src, lonlat, ok = _site_sources(graph, candidates, params)
    else:
        src, lonlat, node_ids = _node_sources(graph)
        ok = np.empty(0, dtype=np.int64)
    if len(src) == 0:
        return []
    need = np.flatnonzero(demand > 0)
    cover = _cover(graph, src, b_snap.take(need), radius, params)
    picked = greedy_mclp(cover, demand[need], k)
    out = _ranked(cover, picked, bld, need)
    for row, (ci, _gain) in zip(out, picked, strict=True):
        row["lon"] = round(float(lonlat[ci][0]), 7)
        row["lat"] = round(float(lonlat[ci][1]), 7)
        row["node_id"] = int(node_ids[ci]) if node_ids is not None else None
        row["candidate_index"] = int(ok[ci]) if candidates is not None else None
    return out


def _site_sources(graph: WalkGraph, sites: list[tuple[float, float]],
                  params: CoverageParams) -> tuple[Sources, Floats, Ints]:
    """Supplied sites snapped as sources, their lon/lat and their input positions."""
    pts = gcrs.to_metric(shapely.points(np.asarray(sites, dtype=float)), graph.metric)
    c_snap = snap_points(graph, pts)
    ok = np.flatnonzero(c_snap.snapped)
    return (Sources.from_snaps(c_snap, params.include_access),
            np.asarray(sites, dtype=float)[ok], ok)


def _node_sources(graph: WalkGraph) -> tuple[Sources, Floats, Ints]:
    """Every node of the usable component as a source, its lon/lat and its node id."""
    usable = graph.usable_edges()
    nodes, first = np.unique(graph.source[usable], return_index=True)
    e = usable[first]
    xy = shapely.get_coordinates(shapely.get_point(graph.geoms[e], 0))
    lon, lat = gcrs.project_xy(xy[:, 0], xy[:, 1], graph.metric, 4326)
    return (Sources(e, np.zeros(len(e)), np.zeros(len(e))), np.column_stack([lon, lat]),
            graph.node_ids[nodes])


def _cover(graph: WalkGraph, src: Sources, targets: Snaps, radius: float,
           params: CoverageParams) -> sparse.csr_matrix:
    """Candidates × demand points: 1 where the candidate reaches the point within ``radius``."""
    rows: list[Ints] = []
    cols: list[Ints] = []
    for idx, dmat in node_distances_each(graph, src, radius, max_cells=4_000_000):
        dm = point_distance_matrix(graph, dmat, targets, src.take(idx), params.include_access)
        r, c = np.nonzero(dm <= radius)
        rows.append(idx[r])
        cols.append(c)
    rr = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
    cc = np.concatenate(cols) if cols else np.empty(0, dtype=np.int64)
    return sparse.csr_matrix((np.ones(len(rr)), (rr, cc)), shape=(len(src), len(targets.edge)))


def _ranked(cover: sparse.csr_matrix, picked: list[tuple[int, float]], bld: Buildings,
            need: Ints) -> list[dict[str, Any]]:
    """Residents and buildings each picked site adds (in order), with the running total."""
    out: list[dict[str, Any]] = []
    taken = np.zeros(len(need), dtype=bool)
    cumulative = 0
    for rank, (ci, _gain) in enumerate(picked, start=1):
        cols_i = cover.indices[cover.indptr[ci]:cover.indptr[ci + 1]]
        new = cols_i[~taken[cols_i]]
        taken[new] = True
        res = int(bld.residents[need[new]].sum())
        cumulative += res
        out.append({"rank": rank, "lon": None, "lat": None, "node_id": None,
                    "candidate_index": None, "residents_added": res,
                    "buildings_added": int(len(new)), "cumulative_residents": cumulative,
                    "building_ids": [int(i) for i in bld.ids[need[new]]]})
    return out
