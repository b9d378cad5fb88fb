"""Candidate sites of a check-up: for each required type with a gap, the network nodes
inside the area that newly cover the most of the AREA's uncovered residents (greedy maximal
covering, :func:`gridmap.access.siting.greedy_mclp`). The graph and the stored snaps are
loaded once for every type; distances are one batched, capped Dijkstra per type
(:func:`gridmap.access.fca.pair_distances`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from scipy import sparse
from sqlalchemy.engine import Connection

from gridmap import crs as gcrs
from gridmap.access.distances import Sources, type_distances
from gridmap.access.fca import pair_distances
from gridmap.access.graph import load_graph, snap_points
from gridmap.access.impact import describe_sites
from gridmap.access.inputs import stored_building_snaps, stored_facility_sources
from gridmap.access.siting import greedy_mclp


def area_sites(conn: Connection, types: list[dict[str, Any]], nodes: list[tuple[float, float]],
               community_ids: list[int], k: int) -> dict[str, list[dict[str, Any]]]:
    """``{type code: sites}`` for the required radius types with residents affected; each
    site: ``rank, lon, lat, residents_added, buildings_added`` (residents of the area only)
    plus estate, community and nearest road (:func:`gridmap.access.impact.describe_sites`)."""
    todo = [t for t in types if t["required"] and t["radius_m"] and t["residents_affected"] > 0]
    if not nodes or k < 1 or not todo:
        return {}
    graph = load_graph(conn)
    bld, b_snap = stored_building_snaps(conn, graph)
    pts = gcrs.to_metric(shapely.points(np.asarray(nodes, dtype=float)), graph.metric)
    c_snap = snap_points(graph, pts)
    ok = np.flatnonzero(c_snap.snapped)
    src = Sources.from_snaps(c_snap)
    lonlat = np.asarray(nodes, dtype=float)[ok]
    mine = np.isin(bld.community, np.asarray(community_ids, dtype=np.int64)) & b_snap.snapped
    out: dict[str, list[dict[str, Any]]] = {}
    for t in todo:
        radius = float(t["radius_m"])
        current = stored_facility_sources(conn, graph, t["code"], [], True)
        covered = type_distances(graph, b_snap, current, radius) <= radius
        need = np.flatnonzero(mine & ~covered)
        if len(need) == 0 or len(src) == 0:
            continue
        f, i, _d = pair_distances(graph, src, b_snap.take(need), radius, True)
        cover = sparse.csr_matrix((np.ones(len(f)), (f, i)), shape=(len(src), len(need)))
        cover.data[:] = 1.0
        picked = greedy_mclp(cover, np.maximum(bld.residents[need], 1e-3), k)
        out[t["code"]] = describe_sites(conn, _ranked(cover, picked, bld.residents[need],
                                                      bld.ids[need], lonlat))
    return out


def _ranked(cover: sparse.csr_matrix, picked: list[tuple[int, float]], residents: Any,
            ids: Any, lonlat: Any) -> list[dict[str, Any]]:
    taken = np.zeros(cover.shape[1], dtype=bool)
    out: list[dict[str, Any]] = []
    for rank, (ci, _gain) in enumerate(picked, start=1):
        cols = cover.indices[cover.indptr[ci]:cover.indptr[ci + 1]]
        new = cols[~taken[cols]]
        taken[new] = True
        out.append({"rank": rank, "lon": round(float(lonlat[ci][0]), 7),
                    "lat": round(float(lonlat[ci][1]), 7),
                    "residents_added": int(residents[new].sum()),
                    "buildings_added": int(len(new)),
                    "building_ids": [int(b) for b in ids[new]]})
    return out
