"""On-site tasks: 核实 for reported cases of the worker's grids/areas (not their own), 核查
for handled ones; verification is an event that keeps the state; the photo rule."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts import scope as scopes
from gridmap.accounts.users import get
from gridmap.errors import IllegalTransition, NotFound, PermissionDenied
from gridmap.field import access, area, tasks
from tests.fixtures.dispatch_world import POINTS, build_dispatch_world, case


def _scope(conn: Connection, uid: int) -> scopes.Scope:
    return scopes.scope_for(conn, get(conn, uid))


def test_tasks_follow_grids_and_states(conn: Connection) -> None:
    ids = build_dispatch_world(conn).org.users
    east, west = case(conn, grid="E1"), case(conn, grid="W1")
    done = case(conn, grid="E2")
    conn.execute(sa.text("UPDATE incident SET state = 'handled', handled_at = now()"
                         " WHERE id = :i"), {"i": done})
    gw_e = _scope(conn, ids["ow_gw_e"])
    got = [(t["id"], t["task"]) for t in tasks.my_tasks(conn, gw_e, ids["ow_gw_e"])]
    assert got == [(east, "verify"), (done, "check")]
    gw_w = _scope(conn, ids["ow_gw_w"])
    assert [t["id"] for t in tasks.my_tasks(conn, gw_w, ids["ow_gw_w"])] == [west]
    event = tasks.verify(conn, gw_e, east, actor="ow_gw_e", found=True, note="属实")
    assert event["kind"] == "field.verified"
    row = conn.execute(sa.text("SELECT state FROM incident WHERE id = :i"), {"i": east}).one()
    assert row[0] == "reported"
    assert tasks.my_tasks(conn, gw_e, ids["ow_gw_e"])[0]["verified"] == 1
    again = tasks.verify(conn, gw_e, east, actor="ow_gw_e", found=True, note="属实")
    assert again["repeat"] and again["at"] == event["at"]     # a queued repeat: once
    assert tasks.my_tasks(conn, gw_e, ids["ow_gw_e"])[0]["verified"] == 1
    with pytest.raises(PermissionDenied):
        tasks.verify(conn, gw_w, east, actor="ow_gw_w", found=True)
    with pytest.raises(IllegalTransition):
        tasks.verify(conn, gw_e, done, actor="ow_gw_e", found=True)


def test_photos_follow_the_case(conn: Connection) -> None:
    ids = build_dispatch_world(conn).org.users
    east = case(conn, grid="E1")
    assert access.case_photos(conn, _scope(conn, ids["ow_gw_e"]), ids["ow_gw_e"], east) == []
    with pytest.raises(PermissionDenied):
        access.case_photos(conn, _scope(conn, ids["ow_gw_w"]), ids["ow_gw_w"], east)
    with pytest.raises(NotFound):
        access.photo(conn, _scope(conn, ids["ow_gw_e"]), ids["ow_gw_e"], 12345)


def test_common_categories_and_nearby_open_cases(conn: Connection) -> None:
    ids = build_dispatch_world(conn).org.users
    now = dt.datetime.now(dt.UTC)
    first = case(conn, grid="E1", category="E0101", at=now)
    case(conn, grid="E1", category="E0101", at=now)
    cats = area.categories(conn, _scope(conn, ids["ow_gw_e"]))
    assert cats[0]["code"] == "E0101" and cats[0]["count"] == 2 and cats[0]["common"]
    lon, lat = POINTS["E1"]
    near = area.nearby_open(conn, lon + 0.0001, lat, "E0101", radius_m=50)
    assert near[0]["id"] == first and 5 < near[0]["distance_m"] < 15
    assert area.nearby_open(conn, lon, lat, "E0102", radius_m=50) == []
    home = area.home_point(conn, _scope(conn, ids["ow_gw_e"]))
    assert home is not None and 121.5 < home[0] < 121.51
