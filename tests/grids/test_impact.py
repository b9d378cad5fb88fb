"""Impact of a draft (gridmap.grids.impact): changed grids before/after and units moving."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import grids
from tests.fixtures.grids import border_building


def test_impact_lists_changed_grids_and_moves(conn: Connection, community: int,
                                              active_plan: int) -> None:
    draft = grids.create_draft(conn, community, actor="o")
    bid, src, dst = border_building(conn, draft)
    conn.execute(sa.text(
        "INSERT INTO facility (type_code, name, geom, location) SELECT t.code, 'f',"
        " ST_PointOnSurface(b.geom), ST_PointOnSurface(b.geom) FROM facility_type t,"
        " building b WHERE b.id = :b LIMIT 1"), {"b": bid})
    grids.move_units(conn, draft, [("building", bid)], dst, actor="o")
    imp = grids.impact(conn, draft)
    assert imp["against"] == active_plan
    by_id = {g["grid_id"]: g for g in imp["grids"]}
    assert set(by_id) == {src, dst}
    assert by_id[src]["after"]["households"] == by_id[src]["before"]["households"] - 50
    assert by_id[dst]["after"]["buildings"] == by_id[dst]["before"]["buildings"] + 1
    assert by_id[dst]["after"]["facilities"] == by_id[dst]["before"]["facilities"] + 1
    assert imp["moves"] == [pytest.approx(imp["moves"][0])]
    assert imp["moves"][0]["unit_id"] == bid
    assert (imp["moves"][0]["from_grid"], imp["moves"][0]["to_grid"]) == (src, dst)


def test_moves_and_units_carry_estate_and_building_number(conn: Connection, community: int,
                                                          active_plan: int) -> None:
    """Issue #16: the impact list named a building "building 1182"; an unnamed building is
    named by its estate and its 楼号 from the address register."""
    draft = grids.create_draft(conn, community, actor="o")
    bid, _, dst = border_building(conn, draft)
    est = conn.execute(sa.text(
        "INSERT INTO estate (code, name, community_id, geom) SELECT 'EX1', '幸福小区', :c,"
        " ST_Multi(ST_Buffer(ST_PointOnSurface(geom), 0.001)) FROM building WHERE id = :b"
        " RETURNING id"), {"c": community, "b": bid}).scalar_one()
    conn.execute(sa.text("UPDATE building SET name = NULL, estate_id = :e WHERE id = :b"),
                 {"e": est, "b": bid})
    conn.execute(sa.text(
        "INSERT INTO address_entry (kind, text, entry_key, building_no, building_id, geom, source)"
        " SELECT 'door', '幸福小区7号楼', 'k7', 7, id, ST_PointOnSurface(geom), 'test'"
        " FROM building WHERE id = :b"), {"b": bid})
    grids.move_units(conn, draft, [("building", bid)], dst, actor="o")
    move = grids.impact(conn, draft)["moves"][0]
    assert (move["name"], move["estate_name"], move["building_no"]) == (None, "幸福小区", 7)
    unit = next(f["properties"] for f in grids.units_geojson(conn, draft)["features"]
                if f["properties"]["unit_id"] == bid and f["properties"]["unit_type"] == "building")
    assert (unit["estate_name"], unit["building_no"]) == ("幸福小区", 7)
