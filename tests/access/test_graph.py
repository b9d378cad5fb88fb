"""The walking graph in memory: loading, caching and snapping points onto edges, on the
river town (tests/fixtures/walk_world.py)."""

from __future__ import annotations

import pytest
import shapely
from sqlalchemy.engine import Connection

from gridmap.access import graph, network
from gridmap.crs import to_metric
from gridmap.errors import NotFound
from tests.fixtures.walk_world import ll, river_town


def test_snapping_projects_onto_the_edge_and_respects_the_limit(conn: Connection) -> None:
    river_town(conn)
    network.build_network(conn)
    g = graph.load_graph(conn)
    pts = to_metric(shapely.points([ll(-20, 120), ll(-400, 500), ll(50, 500)]), g.metric)
    s = graph.snap_points(g, pts)
    assert s.snapped.tolist() == [True, False, True]
    # projected onto the west street (not to its nearest node at y=100)
    assert s.dist[0] == pytest.approx(20.0, abs=0.01)
    assert g.length[s.edge[0]] == pytest.approx(900.0, abs=0.01)
    assert min(s.offset[0], 900 - s.offset[0]) == pytest.approx(120.0, abs=0.01)
    # the riverside path is an island: (50, 500) snaps to the west street, not the path
    assert g.component[s.edge[2]] == 0 and s.dist[2] == pytest.approx(50.0, abs=0.01)
    wider = graph.snap_points(g, pts, max_snap_m=500)
    assert wider.snapped.all()


def test_loading_before_any_build_says_what_to_run(conn: Connection) -> None:
    with pytest.raises(NotFound, match="gridmap network build") as err:
        graph.load_graph(conn)
    assert err.value.code == "access.no_network"


def test_the_graph_is_cached_per_build(conn: Connection) -> None:
    river_town(conn)
    network.build_network(conn)
    g = graph.load_graph(conn)
    assert graph.load_graph(conn) is g
    network.build_network(conn)
    g2 = graph.load_graph(conn)
    assert g2 is not g and g2.build_id > g.build_id
