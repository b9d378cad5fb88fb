"""Editing drafts (gridmap.grids.edit): locks, freehand polygons snapped and kept a partition."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from shapely.geometry import mapping
from sqlalchemy.engine import Connection

from gridmap import grids
from gridmap.errors import Conflict
from tests.fixtures.grids import border_building, building_id, grid_of, lonlat_box, make_community


def test_locked_grid_cannot_change(conn: Connection, community: int) -> None:
    vid = grids.auto_partition(conn, community, seed=0)
    bid, src, dst = border_building(conn, vid)
    grids.set_grid_attrs(conn, vid, src, actor="o", locked=True)
    with pytest.raises(Conflict, match="locked"):
        grids.move_units(conn, vid, [("building", bid)], dst, actor="o")


def test_freehand_edit_with_sliver_gap_is_snapped_closed(conn: Connection) -> None:
    # 2 x 1 blocks: two grids split along the road centre line x = 200 m.
    cid = make_community(conn, blocks=(2, 1), buildings=(2, 2), households=(90, 90))
    vid = grids.auto_partition(conn, cid, seed=0)
    rows = grids.version_grids(conn, vid)
    assert len(rows) == 2
    west = grid_of(conn, vid, building_id(conn, cid, "0-0-0-0"))
    # Officer redraws the west grid bigger, to the edge between the east block's building
    # columns (x = 300 m), but draws 1.5 m short of it and misses the community boundary
    # by 0.3 m: both hair-line gaps must be snapped closed.
    drawn = lonlat_box(0.3, 0.3, 298.5, 199.7)
    res = grids.set_grid_geometry(conn, vid, west, mapping(drawn), actor="o")
    assert res["grid_id"] == west
    problems = grids.validate(conn, vid)
    assert not [p for p in problems if "gap" in p.reason or "overlap" in p.reason
                or "outside the community" in p.reason or "pieces" in p.reason], problems
    share = conn.execute(sa.text(
        "SELECT ST_Area(gg.geom) / ST_Area(c.geom) FROM grid_geometry gg, community c"
        " WHERE gg.version_id = :v AND gg.grid_id = :g AND c.id = :c"),
        {"v": vid, "g": west, "c": cid}).scalar_one()
    assert share == pytest.approx(300 / 400, abs=0.001)
    # units re-derived: the west column of the east block now belongs to the west grid
    east_bld = building_id(conn, cid, "1-0-0-0")
    assert grid_of(conn, vid, east_bld) == west


def test_freehand_new_grid_then_undo_restores_the_plan(conn: Connection) -> None:
    cid = make_community(conn, code="310107005004", blocks=(2, 1), buildings=(2, 2),
                         households=(90, 90))
    vid = grids.auto_partition(conn, cid, seed=0)
    before = {r["grid_id"]: r["households"] for r in grids.version_grids(conn, vid)}
    # draw a new grid over the middle of the community, across the road
    res = grids.set_grid_geometry(conn, vid, None, mapping(lonlat_box(150, 0, 250, 200)),
                                  actor="o")
    rows = {r["grid_id"]: r for r in grids.version_grids(conn, vid)}
    assert len(rows) == 3 and res["grid_id"] in rows
    problems = grids.validate(conn, vid)
    assert not [p for p in problems if "gap" in p.reason or "overlap" in p.reason]
    assert sum(r["households"] for r in rows.values()) == sum(before.values())
    grids.undo(conn, vid, actor="o")
    assert {r["grid_id"]: r["households"] for r in grids.version_grids(conn, vid)} == before
