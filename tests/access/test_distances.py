"""Network distances: one multi-source pass, access legs, same-edge walks, per-source
batches, on the river town (tests/fixtures/walk_world.py)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from sqlalchemy.engine import Connection

from gridmap.access import distances, graph, network
from gridmap.crs import to_metric
from tests.fixtures.walk_world import ll, river_town


def test_multi_source_distances_cross_only_at_the_bridge(conn: Connection) -> None:
    river_town(conn)
    network.build_network(conn)
    g = graph.load_graph(conn)
    assert graph.load_graph(conn) is g  # cached
    fac = graph.snap_points(g, to_metric(shapely.points([ll(-20, 120)]), g.metric))
    bld = graph.snap_points(g, to_metric(
        shapely.points([ll(-30, 100), ll(230, 100), ll(-10, 600)]), g.metric))
    src = distances.Sources.from_snaps(fac)
    d = distances.node_distances(g, src)
    dist = distances.point_distances(g, d, bld, src)
    # A: 30 (door) + 20 along the street + 20 (facility access)
    assert dist[0] == pytest.approx(70.0, abs=0.05)
    # B: 30 + 800 up the east street + 200 bridge + 780 down + 20
    assert dist[1] == pytest.approx(1830.0, abs=0.05)
    # same edge as the facility: directly along the edge (10 + 480 + 20)
    assert dist[2] == pytest.approx(510.0, abs=0.05)


def test_batched_per_source_distances_match_single_passes(conn: Connection) -> None:
    river_town(conn)
    network.build_network(conn)
    g = graph.load_graph(conn)
    pts = to_metric(shapely.points([ll(-20, 120), ll(210, 500), ll(0, 800)]), g.metric)
    src = distances.Sources.from_snaps(graph.snap_points(g, pts))
    targets = graph.snap_points(g, to_metric(shapely.points([ll(-30, 100), ll(230, 100)]),
                                             g.metric))
    rows = []
    for idx, dmat in distances.node_distances_each(g, src, 5000.0, max_cells=g.n_nodes):
        assert len(idx) == 1  # one source per batch here
        rows.append(distances.point_distance_matrix(g, dmat, targets, src.take(idx))[0])
    for i, row in enumerate(rows):
        one = src.take(np.array([i]))
        single = distances.point_distances(g, distances.node_distances(g, one, 5000.0),
                                           targets, one)
        assert np.allclose(row, single)
    nearest = distances.type_distances(g, targets, src, 5000.0)
    assert np.allclose(nearest, np.min(rows, axis=0))
    assert distances.type_distances(g, targets, src, 50.0).tolist() == [np.inf, np.inf]
