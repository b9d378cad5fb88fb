"""Edit history of drafts (gridmap.grids.history): undo/redo and optimistic locking."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import grids
from gridmap.errors import Conflict
from tests.fixtures.grids import border_building, errors_of, grid_of


def test_unit_moves_keep_a_partition_and_undo_redo(conn: Connection, community: int) -> None:
    vid = grids.auto_partition(conn, community, seed=0)
    lock = grids.get_version(conn, vid)["lock_version"]
    bid, src, dst = border_building(conn, vid)
    before = {r["grid_id"]: r["households"] for r in grids.version_grids(conn, vid)}
    res = grids.move_units(conn, vid, [("building", bid)], dst, actor="o",
                           expected_lock_version=lock)
    assert res["lock_version"] == lock + 1
    assert grid_of(conn, vid, bid) == dst
    assert errors_of(grids.validate(conn, vid)) == []
    after = {r["grid_id"]: r["households"] for r in grids.version_grids(conn, vid)}
    assert after[src] == before[src] - 50 and after[dst] == before[dst] + 50

    grids.undo(conn, vid, actor="o")
    assert grid_of(conn, vid, bid) == src
    assert {r["grid_id"]: r["households"] for r in grids.version_grids(conn, vid)} == before
    grids.redo(conn, vid, actor="o")
    assert grid_of(conn, vid, bid) == dst
    with pytest.raises(Conflict, match="nothing to redo"):
        grids.redo(conn, vid, actor="o")


def test_concurrent_edit_second_save_conflicts(conn: Connection, community: int) -> None:
    vid = grids.auto_partition(conn, community, seed=0)
    lock = grids.get_version(conn, vid)["lock_version"]
    b1, g1, g2 = border_building(conn, vid)
    b2 = next(int(b) for b in conn.execute(sa.text(
        "SELECT unit_id FROM grid_member WHERE version_id = :v AND grid_id = :g"
        " ORDER BY unit_id"), {"v": vid, "g": g2}).scalars())
    grids.move_units(conn, vid, [("building", b1)], g2, actor="alice",
                     expected_lock_version=lock)
    with pytest.raises(Conflict, match="alice"):
        grids.move_units(conn, vid, [("building", b2)], g1, actor="bob",
                         expected_lock_version=lock)
    assert grid_of(conn, vid, b2) == g2  # bob's change was not written
