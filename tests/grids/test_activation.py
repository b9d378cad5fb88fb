"""Future-dated activation (gridmap.grids.activation, issue #16): a plan activated with a
later date is 待生效 and changes nothing in force until its date; at its date it is
promoted (incidents re-assigned, codes given, old plan retired)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import grids, incidents
from gridmap.errors import Conflict
from gridmap.grids import activation
from gridmap.incidents import locate
from tests.fixtures.grids import border_building, building_point

DAY = dt.timedelta(days=1)


def _now(conn: Connection) -> dt.datetime:
    return conn.execute(sa.text("SELECT now()")).scalar_one()


def _moved_draft(conn: Connection, community: int) -> tuple[int, float, float, int, int]:
    draft = grids.create_draft(conn, community, actor="officer1")
    bid, old, other = border_building(conn, draft)
    lon, lat = building_point(conn, bid)
    grids.move_units(conn, draft, [("building", bid)], other, actor="officer1")
    return draft, lon, lat, old, other


def test_future_plan_is_not_in_force_before_its_date_and_is_after(
    conn: Connection, community: int, active_plan: int
) -> None:
    draft, lon, lat, old, other = _moved_draft(conn, community)
    case = incidents.create(conn, {"category": "E0102", "lon": lon, "lat": lat,
                                   "reported_at": _now(conn) - dt.timedelta(hours=1)}, actor="t")
    assert case["grid_id"] == old
    future = _now(conn) + 10 * DAY
    assert grids.activate(conn, draft, effective=future, actor="officer1") == "scheduled"

    # before its date: the plan in force is unchanged for every "current grids" query
    assert grids.active_version(conn, community) == active_plan
    assert incidents.get(conn, case["id"])["grid_id"] == old
    phases = {v["id"]: (v["status"], v["phase"]) for v in grids.list_versions(conn, community)}
    assert phases[draft] == ("scheduled", "pending")
    assert phases[active_plan] == ("active", "current")
    # date-aware answers already know both sides of the date
    assert grids.grid_at(conn, lon, lat, future - DAY)["grid_id"] == old  # type: ignore[index]
    assert grids.grid_at(conn, lon, lat, future + DAY)["grid_id"] == other  # type: ignore[index]
    assert activation.activate_due(conn) == [] and activation.due_count(conn) == 0
    # published with its codes before it takes effect (公示): no provisional grid left
    assert all(not g["provisional"] and g["grid_code"].isdigit()
               for g in grids.version_grids(conn, draft))

    # a case reported after the date, before anyone promoted the plan: in the new grid
    when = future + dt.timedelta(hours=1)
    assert locate.locate_point(conn, lon, lat, when)["grid_id"] == other
    assert locate.assign_points(conn, [lon], [lat], [when])["grid_id"].iloc[0] == other
    assert locate.locate_point(conn, lon, lat, future - DAY)["grid_id"] == old

    # at its date: promoted, the case follows its building, the old plan is history
    assert activation.due_count(conn, future) == 1
    assert activation.activate_due(conn, at=future + dt.timedelta(seconds=1)) == [draft]
    assert grids.active_version(conn, community) == draft
    assert incidents.get(conn, case["id"])["grid_id"] == other
    statuses = {v["id"]: v["status"] for v in grids.list_versions(conn, community)}
    assert statuses[draft] == "active" and statuses[active_plan] == "retired"
    actions = conn.execute(sa.text(
        "SELECT action, actor FROM audit_log WHERE object_type = 'grid_version'"
        " AND object_id = :v ORDER BY id"), {"v": str(draft)}).all()
    assert [tuple(a) for a in actions][-2:] == [("grid.schedule", "officer1"),
                                                ("grid.activate", activation.SYSTEM_ACTOR)]
    assert activation.activate_due(conn, at=future + DAY) == []  # nothing twice


def test_one_scheduled_plan_at_a_time_and_withdrawing_it(
    conn: Connection, community: int, active_plan: int
) -> None:
    draft, *_ = _moved_draft(conn, community)
    other = grids.create_draft(conn, community, actor="b")
    future = _now(conn) + 5 * DAY
    grids.activate(conn, draft, effective=future, actor="a")
    with pytest.raises(Conflict, match="already scheduled"):
        grids.activate(conn, other, effective=future + DAY, actor="b")
    with pytest.raises(Conflict, match="already scheduled"):
        grids.activate(conn, other, effective=_now(conn), actor="b")
    with pytest.raises(Conflict, match="only a scheduled plan"):
        activation.cancel_schedule(conn, active_plan, actor="a")

    activation.cancel_schedule(conn, draft, actor="a")
    versions = {v["id"]: v for v in grids.list_versions(conn, community)}
    assert versions[draft]["status"] == "draft" and versions[draft]["valid_from"] is None
    assert versions[active_plan]["valid_to"] is None
    assert activation.activate_due(conn, at=future + DAY) == []
    # the other draft may now go ahead, today
    assert grids.activate(conn, other, effective=_now(conn), actor="b") == "active"


def test_now_from_the_caller_is_now(conn: Connection, community: int, active_plan: int
                                    ) -> None:
    """A caller's "now" is later than its transaction's start: still activated at once."""
    draft, *_ = _moved_draft(conn, community)
    assert grids.activate(conn, draft, effective=dt.datetime.now(dt.UTC), actor="o") == "active"
    assert grids.active_version(conn, community) == draft
