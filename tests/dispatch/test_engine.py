"""The case loop with people: 立案 proposes, 派遣 (override needs a reason), 接单 clock per
order type, 回退 → 改派 (counted), optimistic locking, events in the history."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.dispatch import engine
from gridmap.dispatch.events import dispatch_events
from gridmap.dispatch.params import DispatchParams
from gridmap.errors import Conflict, IllegalTransition, ValidationError
from gridmap.incidents import query
from gridmap.supervision import notify
from tests.fixtures.dispatch_world import MONDAY, DispatchWorld, case

H = dt.timedelta(hours=1)


def test_full_loop_with_proposal_acceptance_and_events(conn: Connection,
                                                       dw: DispatchWorld) -> None:
    i = case(conn, "W1", "E0101", urgency="urgent")
    v = engine.file(conn, i, actor="ow_acceptor", at=MONDAY)
    assert (v["state"], v["proposed_unit_code"], v["level"]) == ("filed", "CG", "grid")
    v = engine.dispatch(conn, i, actor="ow_dispatch", at=MONDAY + H)
    assert (v["state"], v["unit_code"]) == ("dispatched", "CG")
    assert v["accept_due_at"] == MONDAY + H + dt.timedelta(minutes=30)   # 应急单: 30 minutes
    v = engine.accept(conn, i, actor="ow_cg", at=MONDAY + H + dt.timedelta(minutes=10))
    assert v["state"] == "handling" and v["accepted_at"] is not None
    for to in ("handled", "closed"):
        v = engine.act(conn, i, to, actor="ow_lead", at=MONDAY + 2 * H)
    assert v["state"] == "closed"
    kinds = [(e["actor"], e["data"]["kind"]) for e in dispatch_events(conn, i)]
    assert kinds == [("system", "dispatch.proposed"), ("ow_dispatch", "dispatch.dispatched"),
                     ("ow_cg", "dispatch.accepted")]
    ev = dispatch_events(conn, i)
    assert ev[0]["data"]["reason"] == "rule" and ev[0]["data"]["rule_position"] == 1
    assert ev[2]["data"]["late"] is False
    assert [h["to_state"] for h in query.history(conn, i)][-2:] == ["handled", "closed"]


def test_override_needs_reason_and_known_unit(conn: Connection, dw: DispatchWorld) -> None:
    i = case(conn, "W1", "E0101")
    engine.file(conn, i, actor="a", at=MONDAY)
    with pytest.raises(ValidationError) as exc:
        engine.dispatch(conn, i, actor="d", unit_id=dw.org.units["FG"], at=MONDAY)
    assert [p.code for p in exc.value.problems] == ["dispatch.override_reason_required"]
    with pytest.raises(ValidationError) as exc:
        engine.dispatch(conn, i, actor="d", unit_id=987654, at=MONDAY)
    assert {p.code for p in exc.value.problems} == {"dispatch.unknown_unit",
                                                    "dispatch.override_reason_required"}
    assert engine.view(conn, i)["state"] == "filed"          # unchanged
    v = engine.dispatch(conn, i, actor="d", unit_id=dw.org.units["FG"], reason="房屋结构问题",
                        at=MONDAY)
    assert v["unit_code"] == "FG"
    ev = dispatch_events(conn, i)[-1]
    assert ev["data"]["override"] is True and ev["note"] == "房屋结构问题"


def test_return_then_redispatch_is_counted(conn: Connection, dw: DispatchWorld) -> None:
    i = case(conn, "E2", "E0501")
    engine.file(conn, i, actor="a", at=MONDAY)
    engine.dispatch(conn, i, actor="d", at=MONDAY)
    with pytest.raises(ValidationError):
        engine.return_case(conn, i, actor="h", reason=" ", at=MONDAY)
    engine.return_case(conn, i, actor="h", reason="不属本单位", at=MONDAY + H)
    v = engine.dispatch(conn, i, actor="d", unit_id=dw.org.units["JW-E"], reason="社区处理",
                        at=MONDAY + 2 * H)
    assert (v["state"], v["unit_code"]) == ("dispatched", "JW-E")
    flags = [e["data"].get("redispatch") for e in dispatch_events(conn, i)
             if e["data"]["kind"] == "dispatch.dispatched"]
    assert flags == [False, True]


def test_acceptance_limits_by_order_type(conn: Connection, dw: DispatchWorld) -> None:
    params = DispatchParams()
    dues = {}
    for urgency in ("urgent", "key", "normal"):
        i = case(conn, "E2", "E0501", urgency=urgency)
        engine.file(conn, i, actor="a", at=MONDAY, params=params)
        dues[urgency] = engine.dispatch(conn, i, actor="d", at=MONDAY,
                                        params=params)["accept_due_at"] - MONDAY
    assert dues["urgent"] == dt.timedelta(minutes=30)
    assert dues["key"] == dt.timedelta(hours=2)
    assert dues["normal"] == dt.timedelta(days=1)      # 1 working day: Monday → Tuesday 09:00


def test_late_acceptance_and_illegal_steps(conn: Connection, dw: DispatchWorld) -> None:
    i = case(conn, "E2", "E0501", urgency="urgent")
    with pytest.raises(IllegalTransition):
        engine.accept(conn, i, actor="h", at=MONDAY)
    engine.file(conn, i, actor="a", at=MONDAY)
    engine.dispatch(conn, i, actor="d", at=MONDAY)
    engine.accept(conn, i, actor="h", at=MONDAY + H)
    assert dispatch_events(conn, i)[-1]["data"]["late"] is True


def test_stale_version_is_a_conflict_and_changes_nothing(conn: Connection,
                                                          dw: DispatchWorld) -> None:
    i = case(conn, "E2", "E0501")
    v0 = engine.view(conn, i)["lock_version"]
    engine.file(conn, i, actor="a", at=MONDAY, expected_version=v0)
    with pytest.raises(Conflict):
        engine.dispatch(conn, i, actor="d", at=MONDAY, expected_version=v0)
    assert engine.view(conn, i)["state"] == "filed"


def test_initial_level_from_category(conn: Connection, dw: DispatchWorld) -> None:
    i = case(conn, "E2", "E0401")   # 突发事件 starts at street level (E04=street)
    assert engine.file(conn, i, actor="a", at=MONDAY)["level"] == "street"
    j = case(conn, "E1", "E0102")   # rule 2 sets level grid
    assert engine.file(conn, j, actor="a", at=MONDAY)["level"] == "grid"


def test_dispatch_notifies_the_unit(conn: Connection, dw: DispatchWorld) -> None:
    i = case(conn, "W1", "E0101", urgency="urgent")
    engine.file(conn, i, actor="a", at=MONDAY)
    engine.dispatch(conn, i, actor="d", at=MONDAY, notify=notify.send)
    rows = conn.execute(sa.text("SELECT unit_id, kind, params FROM notification "
                                "WHERE incident_id = :i"), {"i": i}).all()
    assert [(r.unit_id, r.kind) for r in rows] == [(dw.org.units["CG"], engine.NEW_CASE)]
    assert notify.unread_count(conn, dw.org.users["ow_cg"]) == 1
