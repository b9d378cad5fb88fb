"""Staff scope (issue #13): unit staff see the cases of their units' areas and of their units,
act only where a post allows it, and see reporter data only for cases their unit handles
(or supervises in its area) — the same library functions for the API and the CLI."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Connection

from gridmap.accounts import scope as scopes
from gridmap.accounts import users
from gridmap.errors import PermissionDenied
from tests.fixtures.dispatch_world import MONDAY, DispatchWorld, build_dispatch_world, case


@pytest.fixture
def dw(conn: Connection) -> DispatchWorld:
    return build_dispatch_world(conn)


def _scope(conn: Connection, username: str) -> scopes.Scope:
    return scopes.scope_for(conn, users.by_username(conn, username))


def test_staff_see_their_area_and_their_cases(conn: Connection, dw: DispatchWorld) -> None:
    west = case(conn, "W1", "E0101", reporter_name="张三", reporter_phone="13812345678")
    east = case(conn, "E1", "E0102")
    jwe, cg = _scope(conn, "ow_jwe"), _scope(conn, "ow_cg")
    assert jwe.community_ids == frozenset({dw.org.communities["E"]})
    scopes.get_incident(conn, jwe, east)
    with pytest.raises(PermissionDenied):
        scopes.get_incident(conn, jwe, west)
    scopes.get_incident(conn, cg, west)                  # 城管 serves the whole street
    wy = _scope(conn, "ow_wy")                            # 物业 serves grid E1 only
    scopes.get_incident(conn, wy, east)
    with pytest.raises(PermissionDenied):
        scopes.get_incident(conn, wy, case(conn, "E2", "E0102"))
    # the reporter's data: masked for 城管 until the case is theirs
    assert scopes.masked(scopes.get_incident(conn, cg, west), cg)["reporter_phone"] == \
        "138****5678"
    scopes.dispatch_act(conn, scopes.ALL, west, "filed", actor="a", at=MONDAY)
    scopes.dispatch_act(conn, scopes.ALL, west, "dispatched", actor="d", at=MONDAY)
    assert scopes.masked(scopes.get_incident(conn, cg, west), cg)["reporter_phone"] == \
        "13812345678"
    lead = _scope(conn, "ow_lead")                        # 值班长 supervises the street
    assert scopes.masked(scopes.get_incident(conn, lead, west), lead)["reporter_name"] == "张三"
    fg = _scope(conn, "ow_fg")
    assert scopes.masked(scopes.get_incident(conn, fg, west), fg)["reporter_name"] == "张*"


def test_posts_decide_who_acts(conn: Connection, dw: DispatchWorld) -> None:
    i = case(conn, "W1", "E0101")
    with pytest.raises(PermissionDenied) as exc:
        scopes.dispatch_act(conn, _scope(conn, "ow_dispatch"), i, "filed", actor="x",
                            at=MONDAY)                    # a dispatcher does not file
    assert exc.value.params["action"] == "file"
    scopes.dispatch_act(conn, _scope(conn, "ow_acceptor"), i, "filed", actor="x", at=MONDAY)
    scopes.dispatch_act(conn, _scope(conn, "ow_dispatch"), i, "dispatched", actor="x",
                        at=MONDAY)
    for who in ("ow_fg", "ow_lead"):                      # not the handling unit / no post
        with pytest.raises(PermissionDenied):
            scopes.dispatch_act(conn, _scope(conn, who), i, "handling", actor=who, at=MONDAY)
    v = scopes.dispatch_act(conn, _scope(conn, "ow_cg"), i, "handling", actor="ow_cg",
                            at=MONDAY)
    assert v["state"] == "handling"
    with pytest.raises(PermissionDenied):                 # grid workers do not raise levels
        scopes.raise_level(conn, _scope(conn, "ow_gw_w"), i, actor="ow_gw_w", at=MONDAY)
    assert scopes.raise_level(conn, _scope(conn, "ow_cg"), i, actor="ow_cg",
                              at=MONDAY)["to_level"] == "community"
