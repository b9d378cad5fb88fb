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
