"""Walking network build: foot filter, noding (bridges do not connect to the streets they
cross), components and islands, on hand-made lines and the river town
(tests/fixtures/walk_world.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.access import network
from gridmap.errors import NotFound
from tests.fixtures.walk_world import river_town


def test_walkable_mask_excludes_motorways_foot_no_and_private_ways() -> None:
    hw = ["footway", "motorway", "trunk", "primary", "service", "residential", "motorway",
          "construction", "steps"]
    tags: list[dict[str, Any]] = [{}, {}, {"foot": "yes"}, {}, {"access": "private"},
                                  {"foot": "no"}, {"foot": "designated"}, {}, {}]
    keep, reasons = network.walkable_mask(hw, tags)
    assert keep.tolist() == [True, False, True, True, False, False, True, False, True]
    assert reasons[1] == "highway=motorway"
    assert reasons[4] == "access=private"
    assert reasons[5] == "foot=no"


def test_sidewalk_rule_for_major_roads_is_configurable() -> None:
    keep, _ = network.walkable_mask(["primary"], [{"sidewalk": "no"}])
    assert keep.tolist() == [True]
    keep, reasons = network.walkable_mask(["primary"], [{"sidewalk": "no"}],
                                          require_sidewalk_on_major=True)
    assert keep.tolist() == [False] and reasons == ["major road without sidewalk"]


def test_bridge_crossing_a_street_is_not_connected_but_ground_crossing_is() -> None:
    lines = np.array([
        shapely.LineString([(0, 0), (100, 0)]),        # ground street
        shapely.LineString([(50, -50), (50, 50)]),     # ground street crossing it
        shapely.LineString([(80, -50), (80, 50)]),     # bridge over it
    ], dtype=object)
    edges, parent = network.node_lines(lines, np.array([0, 0, 1]))
    topo = network.topology(edges)
    # the ground crossing splits both streets into two (4 edges), the bridge stays whole
    assert sorted(np.bincount(parent).tolist()) == [1, 2, 2]
    assert len(set(topo.component.tolist())) == 2  # the bridge is an island here
    assert np.isclose(topo.length.sum(), 300.0)


def test_ways_sharing_a_vertex_are_connected_at_any_level() -> None:
    lines = np.array([
        shapely.LineString([(0, 0), (50, 0), (100, 0)]),
        shapely.LineString([(50, 0), (50, 80)]),       # bridge starting at a shared vertex
    ], dtype=object)
    edges, _ = network.node_lines(lines, np.array([0, 1]))
    topo = network.topology(edges)
    assert len(edges) == 3
    assert set(topo.component.tolist()) == {0}


def test_way_level_from_bridge_tunnel_and_layer() -> None:
    assert network.way_level({}) == 0
    assert network.way_level({"bridge": "yes"}) == 1
    assert network.way_level({"tunnel": "yes"}) == -1
    assert network.way_level({"bridge": "viaduct", "layer": "2"}) == 2
    assert network.way_level({"layer": "x"}) == 0


def test_build_network_excludes_barriers_and_reports_the_island(conn: Connection) -> None:
    river_town(conn)
    rep = network.build_network(conn)
    assert rep.lines_read == 7 and rep.lines_used == 4
    assert rep.lines_excluded == {"foot=no": 1, "highway=motorway": 1, "access=private": 1}
    # west and east streets split at the bridge ends (2 + 2), bridge 1, riverside path 1;
    # the excluded foot=no way does not split the streets at y=100
    assert rep.edges == 6
    assert rep.components == 2
    assert len(rep.islands) == 1
    assert rep.islands[0]["edges"] == 1 and rep.islands[0]["length_m"] == pytest.approx(900, abs=0.5)
    lengths = conn.execute(sa.text(
        "SELECT highway, round(sum(length_m)) FROM network_edge GROUP BY 1 ORDER BY 1")).all()
    assert dict(lengths) == {"footway": 1100, "residential": 2000}
    n_gist = conn.execute(sa.text(
        "SELECT count(*) FROM pg_indexes WHERE tablename IN ('network_edge', 'network_node', "
        "'service_area', 'building_snap', 'facility_snap') AND indexdef ILIKE '%gist%'"
    )).scalar_one()
    assert n_gist == 5


def test_build_network_without_lines_is_a_clear_error(conn: Connection) -> None:
    with pytest.raises(NotFound, match="osm_line is empty") as err:
        network.build_network(conn)
    assert err.value.code == "access.no_osm_lines"
    assert "OSM" in err.value.render("zh")
