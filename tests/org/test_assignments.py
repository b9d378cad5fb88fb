"""Grid assignments and the coverage report."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError
from gridmap.org import assignments as asg
from gridmap.org.assignment_input import validate_assignments
from tests.fixtures.org_world import COMMUNITY, ESTATE, GRID, STREET, OrgWorld

DAY = dt.date(2026, 3, 1)


def test_coverage_per_community_and_street(conn: Connection, world: OrgWorld) -> None:
    by_comm = {c.code: (c.covered, c.grids) for c in asg.coverage(conn, on=DAY)}
    assert by_comm == {COMMUNITY["E"]: (2, 2), COMMUNITY["W"]: (1, 2)}
    [street] = asg.coverage(conn, level="street", on=DAY)
    assert (street.code, street.share) == (STREET, 0.75)
    assert [g.grid_code for g in asg.unassigned_grids(conn, on=DAY)] == [GRID["W2"]]


def test_assigning_the_gap_reaches_100_percent(conn: Connection, world: OrgWorld) -> None:
    a = asg.assign_grid(conn, world.users["ow_gw_w"], GRID["W2"], duty="周末 09:00-17:00",
                        valid_from=DAY)
    assert (a.role, a.duty, a.username) == ("grid_worker", "周末 09:00-17:00", "ow_gw_w")
    assert asg.unassigned_grids(conn, on=DAY) == []
    assert asg.coverage(conn, level="street", on=DAY)[0].share == 1.0
    asg.end_assignment(conn, a.id, on=DAY)
    assert asg.unassigned_grids(conn, on=DAY + dt.timedelta(days=1))[0].grid_code == GRID["W2"]


def test_building_heads_do_not_cover_a_grid(conn: Connection, world: OrgWorld) -> None:
    asg.assign_grid(conn, world.users["ow_louzhang"], GRID["W2"], role="楼长", valid_from=DAY)
    assert [g.grid_code for g in asg.unassigned_grids(conn, on=DAY)] == [GRID["W2"]]


def test_every_problem_at_once(conn: Connection, world: OrgWorld) -> None:
    inputs, problems = validate_assignments(conn, [
            {"username": "nobody", "grid_code": "000", "role": "厨师"},
            {"user_id": world.users["ow_gw_w"], "grid_code": GRID["W1"],
             "estate": ESTATE["E"], "valid_from": "2026-02-30"},
            {"user_id": world.users["ow_gw_w"], "grid_code": GRID["W1"],
             "valid_from": "2026-03-01", "valid_to": "2026/2/1"},
        ], first_row=2)
    got = sorted((p.row, p.code) for p in problems)
    assert got == [(2, "org.bad_role"), (2, "org.no_user"), (2, "org.unknown_grid"),
                   (3, "org.bad_date"), (3, "org.estate_outside_grid"),
                   (4, "org.dates_reversed")]
    assert inputs == []
    with pytest.raises(ValidationError):
        asg.save_assignments(conn, [{"username": "nobody", "grid_code": GRID["W2"]}])


def test_same_assignment_twice_updates_the_duty(conn: Connection, world: OrgWorld) -> None:
    row = {"user_id": world.users["ow_gw_w"], "grid_code": GRID["W1"], "estate": "西苑小区",
           "valid_from": "2026-01-01", "duty": "夜班"}
    assert asg.save_assignments(conn, [row]) == (0, 1)
    [a] = asg.list_assignments(conn, grid_code=GRID["W1"])
    assert (a.duty, a.estate_code) == ("夜班", ESTATE["W"])


def test_assign_returns_the_assignment_it_wrote(conn: Connection, world: OrgWorld) -> None:
    u = world.users["ow_gw_e"]
    head = asg.assign_grid(conn, u, GRID["E2"], role="楼长", valid_from=DAY)
    again = asg.assign_grid(conn, u, GRID["E1"], estate="东苑小区", duty="早班",
                            valid_from=DAY)
    assert (head.role, head.grid_code) == ("building_head", GRID["E2"])
    assert (again.role, again.grid_code, again.duty, again.estate_code) == (
        "grid_worker", GRID["E1"], "早班", ESTATE["E"])
    assert len(asg.list_assignments(conn, user_id=u, grid_code=GRID["E1"])) == 1
