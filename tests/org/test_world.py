"""The shared org world inserts cleanly and has what its docstring promises."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tests.fixtures.org_world import GRID, STAFF, OrgWorld


def test_world_has_every_post_and_one_uncovered_grid(conn: Connection, world: OrgWorld) -> None:
    posts = {r[0] for r in conn.execute(sa.text("SELECT DISTINCT post FROM staff_post"))}
    assert posts == {"grid_worker", "inspector", "acceptor", "dispatcher", "shift_lead",
                     "handler", "leader"}
    covered = {r[0] for r in conn.execute(sa.text(
        "SELECT grid_code FROM grid_assignment WHERE role = 'grid_worker'"))}
    assert set(GRID.values()) - covered == {GRID["W2"]}
    assert len(world.users) == len(STAFF) + 1
    parent = conn.execute(sa.text("SELECT parent_id FROM org_unit WHERE id = :i"),
                          {"i": world.units["CG"]}).scalar_one()
    assert parent == world.units["JD"]
