"""我的待办: the buckets each post has, with counts, for unit and community staff alike."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from gridmap.accounts import scope as scopes
from gridmap.accounts.scope import Scope
from gridmap.cases import worklist
from gridmap.dispatch import engine
from tests.fixtures.dispatch_world import MONDAY, DispatchWorld, case


def _s(conn: Connection, dw: DispatchWorld, name: str) -> Scope:
    return scopes.staff_scope(conn, dw.org.users[name])


def test_each_post_sees_its_work(conn: Connection, dw: DispatchWorld) -> None:
    new = case(conn, "E1", "E0102")
    wall = case(conn, "W2", "E0101")
    engine.file(conn, wall, actor="a", at=MONDAY)
    engine.dispatch(conn, wall, actor="a", at=MONDAY)          # → CG
    east = case(conn, "E1", "E0102")
    engine.file(conn, east, actor="a", at=MONDAY)
    engine.dispatch(conn, east, actor="a", unit_id=dw.org.units["JW-E"], reason="社区自办",
                    at=MONDAY)
    engine.accept(conn, east, actor="ow_jwe", at=MONDAY)
    engine.act(conn, east, "handled", actor="ow_jwe", at=MONDAY)

    assert worklist.counts(conn, _s(conn, dw, "ow_acceptor")) == {
        "file": 1, "check": 1, "evaluate": 0}
    assert worklist.counts(conn, _s(conn, dw, "ow_cg")) == {"accept": 1, "handle": 0}
    assert worklist.counts(conn, _s(conn, dw, "ow_gw_e"))["check"] == 1   # community staff
    assert worklist.counts(conn, _s(conn, dw, "ow_gw_w"))["check"] == 0
    assert worklist.counts(conn, _s(conn, dw, "ow_leader")) == {}
    page = worklist.items(conn, _s(conn, dw, "ow_cg"), "accept")
    assert [r["id"] for r in page["items"]] == [wall] and page["items"][0]["state_label"] == "派遣"
    assert [r["id"] for r in worklist.items(conn, _s(conn, dw, "ow_acceptor"), "file")["items"]
            ] == [new]
    assert worklist.counts(conn, Scope(None, role="supervisor"))["accept"] == 1
