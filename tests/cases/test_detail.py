"""A case for its page: masked fields, timeline, comments, the buttons this viewer may use,
and the steps behind them (reasons, 延期 days, second 延期 approval, stale versions)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Connection

from gridmap.accounts import scope as scopes
from gridmap.cases import detail
from gridmap.errors import Conflict, PermissionDenied, ValidationError
from tests.fixtures.dispatch_world import MONDAY, DispatchWorld, case


def _s(conn: Connection, dw: DispatchWorld, name: str) -> scopes.Scope:
    return scopes.staff_scope(conn, dw.org.users[name])


def _to(view: dict) -> list[str]:
    return [a["to"] for a in view["actions"]]


def test_buttons_follow_posts_and_the_loop_runs(conn: Connection, dw: DispatchWorld) -> None:
    i = case(conn, "W2", "E0101", reporter_phone="13900001111", reporter_name="王五")
    acceptor, dispatcher, cg = (_s(conn, dw, n) for n in ("ow_acceptor", "ow_dispatch", "ow_cg"))
    v = detail.view(conn, acceptor, i)
    assert _to(v) == ["filed", "voided"] and v["case"]["reporter_phone"] == "139****1111"
    detail.act(conn, acceptor, i, "filed", actor="ow_acceptor", at=MONDAY)
    v = detail.view(conn, dispatcher, i)
    assert _to(v) == ["dispatched"] and v["actions"][0]["needs"] == ["unit"]
    assert v["case"]["proposed_unit_name"] == "和平城管中队"
    assert {u["code"] for u in v["units"]} >= {"CG", "JD"}
    detail.act(conn, dispatcher, i, "dispatched", actor="ow_dispatch", at=MONDAY)
    assert _to(detail.view(conn, dispatcher, i)) == []
    v = detail.view(conn, cg, i)
    assert _to(v) == ["handling", "returned"] and v["case"]["reporter_phone"] == "13900001111"
    version = v["case"]["lock_version"]
    detail.act(conn, cg, i, "handling", actor="ow_cg", at=MONDAY, expected_version=version)
    with pytest.raises(Conflict):
        detail.act(conn, cg, i, "handled", actor="ow_cg", expected_version=version)
    hist = detail.view(conn, cg, i)["history"]
    assert [h["to_state"] for h in hist if h["from_state"] != h["to_state"]][-3:] == [
        "filed", "dispatched", "handling"]
    assert hist[-1]["actor"] == "ow_cg" and hist[-1]["to_label"] == "处置"


def test_extension_needs_days_reason_and_approval_the_second_time(
        conn: Connection, dw: DispatchWorld) -> None:
    i = case(conn, "W2", "E0101")
    lead, cg = _s(conn, dw, "ow_lead"), _s(conn, dw, "ow_cg")
    detail.act(conn, lead, i, "filed", actor="ow_lead", at=MONDAY)
    detail.act(conn, lead, i, "dispatched", actor="ow_lead", at=MONDAY)
    detail.act(conn, cg, i, "handling", actor="ow_cg", at=MONDAY)
    with pytest.raises(ValidationError) as e:
        detail.act(conn, cg, i, "extended", actor="ow_cg", extension=0)
    assert {p.field for p in e.value.problems} == {"note", "extension"}
    detail.act(conn, cg, i, "extended", actor="ow_cg", note="材料未到", extension=2)
    v = detail.view(conn, cg, i)
    ext = next(a for a in v["actions"] if a["to"] == "extended")
    assert "approval" in ext["needs"] and not v["may_approve_extension"]
    with pytest.raises(PermissionDenied):
        detail.act(conn, cg, i, "extended", actor="ow_cg", note="再等", extension=1,
                   higher_approval=True)
    assert detail.may_approve_extension(lead, v["case"])


def test_comments(conn: Connection, dw: DispatchWorld) -> None:
    i = case(conn, "E1", "E0102")
    jwe = _s(conn, dw, "ow_jwe")
    with pytest.raises(ValidationError):
        detail.add_comment(conn, jwe, i, author="ow_jwe", body="  ")
    detail.add_comment(conn, jwe, i, author="ow_jwe", body="<b>已联系物业</b>")
    assert [c["body"] for c in detail.view(conn, jwe, i)["comments"]] == ["<b>已联系物业</b>"]
    with pytest.raises(PermissionDenied):      # 西社区 staff: not their case
        detail.add_comment(conn, _s(conn, dw, "ow_jww"), i, author="ow_jww", body="x")
