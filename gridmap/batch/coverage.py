"""Coverage of one partition (a street's buildings) with a network buffer.

Exact at partition edges: a facility can be within the distance cap of a building on the
network only if it is within the cap as the crow flies (access legs and paths are never
shorter than the straight line), so the sources are the facilities within
``CoverageParams.distance_cap_m`` of the partition's buildings and the multi-source
Dijkstra (stopped at the cap) runs on the whole walking network from them only. The
euclidean distance uses every facility of the type. The rows equal those of
:func:`gridmap.access.coverage.refresh` for the same buildings (tests/batch).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.access.distances import Sources, type_distances
from gridmap.access.graph import load_graph, snap_points
from gridmap.access.inputs import (
    BLOCK_INSERT_SQL,
    CoverageParams,
    block_params,
    facility_types,
    load_buildings,
    load_facilities,
)
from gridmap.access.storage import copy_rows

_COLUMNS = ["building_id", "type_code", "network_m", "euclid_m", "radius_m", "covered",
            "euclid_covered"]


def street_partitions(conn: Connection, residential_only: bool = True
                      ) -> list[tuple[str, list[int]]]:
    """Buildings of the coverage grouped by the street of their community (``street:none``
    for buildings outside every community), as ``(key, building ids)`` in key order."""
    rows = conn.execute(sa.text(
        """
        SELECT COALESCE('street:' || c.street_id, 'street:none') AS k, array_agg(b.id ORDER BY b.id)
        FROM building b LEFT JOIN community c ON c.id = b.community_id
        WHERE NOT :res OR b.residential OR b.residents > 0
           OR NOT EXISTS (SELECT 1 FROM building WHERE residential OR residents > 0)
        GROUP BY 1 ORDER BY 1
        """), {"res": residential_only}).all()
    return [(str(r[0]), [int(i) for i in r[1]]) for r in rows]


def street_coverage(conn: Connection, building_ids: Sequence[int], speed_m_per_min: float,
                    params: CoverageParams | None = None) -> int:
    """Replace the ``building_coverage`` rows of ``building_ids``; returns the rows written.

    Parameters
    ----------
    building_ids:
        The partition's buildings (from :func:`street_partitions`).
    speed_m_per_min:
        Walking speed (timed tiers without a radius).
    params:
        Coverage parameters (distance cap, access legs, residential only).
    """
    params = params or CoverageParams()
    graph = load_graph(conn)
    types = facility_types(conn, speed_m_per_min)
    bld = load_buildings(conn, graph, params.residential_only)
    sel = np.flatnonzero(np.isin(bld.ids, np.asarray(list(building_ids), dtype=np.int64)))
    ids, pts = bld.ids[sel], bld.points_m[sel]
    fac = load_facilities(conn, graph)
    rows: list[tuple[Any, ...]] = []
    if len(ids):
        b_snap = snap_points(graph, pts)
        box = shapely.buffer(shapely.envelope(shapely.multipoints(pts)), params.distance_cap_m)
        near = shapely.intersects(box, fac.points_m) if len(fac.ids) else np.zeros(0, bool)
        for code, info in types.items():
            if info.radius_m is None:
                continue
            of_type = fac.types == code
            src_idx = np.flatnonzero(of_type & near)
            f_snap = snap_points(graph, fac.points_m[src_idx])
            src = Sources.from_snaps(f_snap, params.include_access)
            dist = type_distances(graph, b_snap, src, params.distance_cap_m,
                                  params.include_access)
            eu = np.full(len(ids), np.inf)
            if of_type.any():
                tree = shapely.STRtree(fac.points_m[of_type])
                idx, d = tree.query_nearest(pts, return_distance=True, all_matches=False)
                eu[idx[0]] = d
            rows.extend(_rows(ids, code, info.radius_m, dist, eu))
    conn.execute(sa.text("DELETE FROM building_coverage WHERE building_id = ANY(:ids)"),
                 {"ids": [int(i) for i in building_ids]})
    copy_rows(conn, "building_coverage", _COLUMNS, rows)
    block_types = [c for c, i in types.items() if i.radius_m is None]
    n_block = conn.execute(sa.text(BLOCK_INSERT_SQL),
                           block_params(block_types, ids, [], [])).rowcount
    return len(rows) + max(int(n_block or 0), 0)


def _rows(ids: np.ndarray, code: str, radius: float, dist: np.ndarray, eu: np.ndarray
          ) -> list[tuple[Any, ...]]:
    covered = dist <= radius
    eu_cov = eu <= radius
    return [(int(ids[i]), code, repr(float(dist[i])) if np.isfinite(dist[i]) else None,
             repr(float(eu[i])) if np.isfinite(eu[i]) else None, repr(radius),
             "t" if covered[i] else "f", "t" if eu_cov[i] else "f") for i in range(len(ids))]
