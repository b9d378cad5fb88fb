"""Areas: codes resolved to ids; units serving a place, narrowest first."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from gridmap.org import areas
from gridmap.org.unit_input import Area
from tests.fixtures.org_world import COMMUNITY, GRID, STREET, OrgWorld


def test_resolution_goes_down_to_active_grids(conn: Connection, world: OrgWorld) -> None:
    ids = areas.resolve_areas(conn, [Area("street", STREET)])
    assert ids.street_ids == (world.street,)
    assert set(ids.community_ids) == set(world.communities.values())
    assert set(ids.grid_ids) == set(world.grids.values())
    one = areas.resolve_areas(conn, [Area("community", COMMUNITY["W"]), Area("grid", GRID["E1"])])
    assert one.street_ids == ()
    assert set(one.grid_ids) == {world.grids["W1"], world.grids["W2"], world.grids["E1"]}
    assert areas.unit_area_ids(conn, world.units["WY"]).grid_ids == (world.grids["E1"],)


def test_units_serving_a_grid_narrowest_first(conn: Connection, world: OrgWorld) -> None:
    serving = areas.units_serving(conn, "grid", GRID["E1"])
    assert [(s.unit_code, s.area_level) for s in serving] == [
        ("WY", "grid"), ("JW-E", "community"), ("CG", "street"), ("FG", "street"),
        ("JD", "street"), ("QU", "district")]
    assert [s.unit_code for s in areas.units_serving(conn, "grid", GRID["W2"], line="tiao")] \
        == ["CG", "FG"]
    assert [s.unit_code for s in areas.units_serving(conn, "community", COMMUNITY["W"],
                                                     kind="community")] == ["JW-W"]
