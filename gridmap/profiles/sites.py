"""Candidate sites of a check-up: for each required type with a gap, the network nodes
inside the area that newly cover the most of the AREA's uncovered residents (greedy maximal
covering, :func:`gridmap.access.siting.greedy_mclp`). The graph and the stored snaps are
loaded once; the uncovered buildings come from the stored coverage; node → building
distances are one batched, capped Dijkstra for every type
(:func:`gridmap.access.fca.pair_distances`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa
from scipy import sparse
from sqlalchemy.engine import Connection

from gridmap import crs as gcrs
from gridmap.access.distances import Sources
from gridmap.access.fca import pair_distances
from gridmap.access.graph import load_graph, snap_points
from gridmap.access.impact import describe_sites
from gridmap.access.inputs import stored_building_snaps
from gridmap.access.siting import greedy_mclp

_UNCOVERED_SQL = sa.text("""
SELECT bc.type_code, array_agg(bc.building_id ORDER BY bc.building_id)
FROM building_coverage bc JOIN building b ON b.id = bc.building_id
WHERE b.community_id = ANY(:ids) AND NOT bc.covered AND bc.type_code = ANY(:types)
GROUP BY bc.type_code
""")


def area_sites(conn: Connection, types: list[dict[str, Any]], nodes: list[tuple[float, float]],
               community_ids: list[int], k: int) -> dict[str, list[dict[str, Any]]]:
    """``{type code: sites}`` for the required radius types with residents affected; each
    site: ``rank, lon, lat, residents_added, buildings_added`` (residents of the area only)
    plus estate, community and nearest road (:func:`gridmap.access.impact.describe_sites`).

    The uncovered buildings come from the stored coverage; the node → building distances
    are computed once, at the largest radius, for every type."""
    todo = {t["code"]: float(t["radius_m"]) for t in types
            if t["required"] and t["radius_m"] and t["residents_affected"] > 0}
    if not nodes or k < 1 or not todo:
        return {}
    graph = load_graph(conn)
    bld, b_snap = stored_building_snaps(conn, graph)
    uncovered: dict[str, list[int]] = {
        r[0]: list(r[1]) for r in conn.execute(_UNCOVERED_SQL, {"ids": community_ids,
                                                                "types": list(todo)})}
    c_snap = snap_points(graph, gcrs.to_metric(shapely.points(np.asarray(nodes, dtype=float)),
                                               graph.metric))
    ok = np.flatnonzero(c_snap.snapped)
    src, lonlat = Sources.from_snaps(c_snap), np.asarray(nodes, dtype=float)[ok]
    need_all = np.flatnonzero(np.isin(bld.ids, [i for v in uncovered.values() for i in v])
                              & b_snap.snapped)
    if len(src) == 0 or len(need_all) == 0:
        return {}
    f, i, d = pair_distances(graph, src, b_snap.take(need_all), max(todo.values()), True)
    out: dict[str, list[dict[str, Any]]] = {}
    for code, radius in todo.items():
        mine = np.isin(bld.ids[need_all], uncovered.get(code, []))
        keep = (d <= radius) & mine[i]
        if not mine.any() or not keep.any():
            continue
        cover = sparse.csr_matrix((np.ones(int(keep.sum())), (f[keep], i[keep])),
                                  shape=(len(src), len(need_all)))
        picked = greedy_mclp(cover, np.where(mine, np.maximum(bld.residents[need_all], 1e-3),
                                             0.0), k)
        out[code] = _ranked(cover, picked, bld.residents[need_all], bld.ids[need_all], lonlat)
    # estate, community and nearest road of every site: one call for all types
    described = iter(describe_sites(conn, [x for got in out.values() for x in got]))
    return {code: [next(described) for _ in got] for code, got in out.items()}


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
