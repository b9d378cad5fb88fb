"""Graded response: raise on request (社区呼叫), when 接单 or handling time runs out, and when
the same problem recurs in the same place; each raise re-targets and is an event."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.dispatch import engine, levels
from gridmap.dispatch.events import dispatch_events
from gridmap.dispatch.params import DispatchParams
from gridmap.errors import IllegalTransition
from tests.fixtures.dispatch_world import MONDAY, DispatchWorld, case

H = dt.timedelta(hours=1)


def test_requested_raise_walks_up_the_tree(conn: Connection, dw: DispatchWorld) -> None:
    i = case(conn, "W1", "E0502")
    engine.file(conn, i, actor="a", at=MONDAY)
    engine.dispatch(conn, i, actor="d", unit_id=dw.org.units["JW-W"], reason="社区先处理",
                    at=MONDAY)
    # 网格 → 社区: the community's 居委会 is already handling; community → street → district
    seen = []
    for _ in range(3):
        r = levels.raise_level(conn, i, actor="ow_jww", note="需要街道协调", at=MONDAY + H)
        seen.append((r["to_level"], engine.view(conn, i)["unit_code"]))
    assert seen == [("community", "JW-W"), ("street", "JD"), ("district", "QU")]
    with pytest.raises(IllegalTransition):
        levels.raise_level(conn, i, actor="x", at=MONDAY)
    ev = [e for e in dispatch_events(conn, i) if e["data"]["kind"] == "dispatch.level_raised"]
    assert [(e["actor"], e["data"]["reason"], e["note"]) for e in ev] == [
        ("ow_jww", "requested", "需要街道协调")] * 3
    # a re-targeted dispatched case must be accepted again by the new unit
    assert engine.view(conn, i)["accepted_at"] is None


def test_a_raise_notifies_the_unit_the_case_moves_to(conn: Connection, dw: DispatchWorld
                                                      ) -> None:
    i = case(conn, "W1", "E0502")
    engine.file(conn, i, actor="a", at=MONDAY)
    engine.dispatch(conn, i, actor="d", unit_id=dw.org.units["JW-W"], reason="社区先处理",
                    at=MONDAY)
    sent: list[tuple[str, list[int], dict[str, object]]] = []

    def notify(_conn: Connection, kind: str, **kw: object) -> None:
        sent.append((kind, list(kw["unit_ids"]), dict(kw["params"])))  # type: ignore[call-overload]

    # grid → community: the 居委会 already handles it, nobody new to tell
    levels.raise_level(conn, i, actor="ow_jww", at=MONDAY + H, notify=notify)
    assert sent == []
    # community → street: the street centre gets the case and is told
    levels.raise_level(conn, i, actor="ow_jww", at=MONDAY + H, notify=notify)
    assert sent == [(levels.LEVEL_RAISED_NOTICE, [dw.org.units["JD"]],
                     {"id": i, "frm": "community", "to": "street"})]


def test_raise_overdue_acceptance_and_handling(conn: Connection, dw: DispatchWorld) -> None:
    params = DispatchParams()
    a = case(conn, "W1", "E0502", urgency="urgent")   # never accepted
    b = case(conn, "W2", "E0502", urgency="urgent")   # accepted, then handling overdue
    c = case(conn, "E2", "E0502", urgency="urgent")   # accepted in time, not overdue
    for i in (a, b, c):
        engine.file(conn, i, actor="a", at=MONDAY)
        engine.dispatch(conn, i, actor="d", at=MONDAY)
    engine.accept(conn, b, actor="h", at=MONDAY + dt.timedelta(minutes=5))
    engine.accept(conn, c, actor="h", at=MONDAY + dt.timedelta(minutes=5))
    conn.execute(sa.text("UPDATE incident SET due_at = :t WHERE id = :i"), {"t": MONDAY, "i": b})
    out = levels.raise_overdue(conn, MONDAY + H, params=params)
    assert sorted((o["incident_id"], o["reason"], o["to_level"]) for o in out) == sorted([
        (a, "accept_overdue", "community"), (b, "handling_overdue", "community")])
    assert engine.view(conn, a)["accept_due_at"] == MONDAY + H + dt.timedelta(minutes=30)
    # handling overdue raises once; acceptance runs out again for the new unit
    again = levels.raise_overdue(conn, MONDAY + 2 * H, params=params)
    assert [(o["incident_id"], o["to_level"]) for o in again] == [(a, "street")]
    assert engine.view(conn, a)["unit_code"] == "JD"


def test_recurrent_problem_raises_the_level(conn: Connection, dw: DispatchWorld) -> None:
    params = DispatchParams(recurrence_count=3, recurrence_radius_m=100, recurrence_days=30)
    ids = [case(conn, "W2", "E0103", at=MONDAY + k * dt.timedelta(days=2)) for k in range(3)]
    far = case(conn, "E1", "E0103", at=MONDAY + dt.timedelta(days=7))     # another place
    lv = [engine.file(conn, i, actor="a", at=MONDAY + dt.timedelta(days=8),
                      params=params)["level"] for i in ids + [far]]
    assert lv == ["grid", "grid", "community", "grid"]
    ev = dispatch_events(conn, ids[2])[-1]
    assert (ev["actor"], ev["data"]["reason"]) == ("system", "recurrence")
    assert engine.view(conn, ids[2])["proposed_unit_code"] == "JW-W"
