"""The 督办 scan on the hand-made street: an unaccepted 应急单 turns yellow, then red, and is
escalated to the parent unit and the street centre; reminders are rate-limited; lights clear
when the clock stops. Time passes explicitly (``now=``), nothing sleeps."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.dispatch import engine, levels
from gridmap.errors import ValidationError
from gridmap.supervision import notify, scan
from gridmap.supervision.params import ScanParams
from tests.fixtures.incident_world import new_incident
from tests.fixtures.supervision_world import build_street, dispatched_case

T = dt.datetime(2025, 11, 20, 1, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


def _entry(conn: Connection, iid: int) -> dict[str, Any]:
    return dict(conn.execute(sa.text("SELECT * FROM supervision WHERE incident_id = :i"),
                             {"i": iid}).mappings().one())


def _notes(conn: Connection, iid: int) -> list[tuple[int, str]]:
    return [(r[0], r[1]) for r in conn.execute(sa.text(
        "SELECT unit_id, kind FROM notification WHERE incident_id = :i ORDER BY id"),
        {"i": iid})]


def _auto_events(conn: Connection, iid: int) -> list[dict[str, Any]]:
    return [dict(r[0]) for r in conn.execute(sa.text(
        "SELECT data FROM incident_event WHERE incident_id = :i AND actor = 'system' "
        "ORDER BY id"), {"i": iid})]


def test_unaccepted_urgent_case_turns_yellow_then_red_and_escalates(conn: Connection) -> None:
    ids = build_street(conn)
    iid = dispatched_case(conn, ids["CG"], T, accept_minutes=30)
    # 10 of 30 minutes gone: 67 % left, no light
    assert scan.scan(conn, T + 10 * MIN)["yellow"] == 0
    assert conn.execute(sa.text("SELECT count(*) FROM supervision")).scalar_one() == 0
    # 25 minutes gone: 17 % < 20 % left → yellow, the unit is reminded once
    out = scan.scan(conn, T + 25 * MIN)
    assert (out["yellow"], out["red"], out["reminded"], out["escalated"]) == (1, 0, 1, 0)
    assert _entry(conn, iid)["light"] == "yellow"
    assert _notes(conn, iid) == [(ids["CG"], "supervise.yellow")]
    # another scan a minute later: same light, no new reminder
    assert scan.scan(conn, T + 26 * MIN)["reminded"] == 0
    # 31 minutes: overdue → red, reminder to the unit, escalation to parent SC (the street
    # centre too, which here is the same unit: one notice)
    out = scan.scan(conn, T + 31 * MIN)
    assert (out["red"], out["reminded"], out["escalated"]) == (1, 1, 1)
    entry = _entry(conn, iid)
    assert (entry["light"], entry["escalated_to"], entry["reminders"]) == ("red", ids["SC"], 2)
    assert _notes(conn, iid)[1:] == [(ids["CG"], "supervise.red"),
                                     (ids["SC"], "supervise.escalated")]
    events = _auto_events(conn, iid)
    assert [e["kind"] for e in events] == ["supervise.light", "supervise.light",
                                           "supervise.escalated"]
    assert events[1]["reason"] == "supervise.reason.accept_overdue"
    # escalated once only
    assert scan.scan(conn, T + 40 * MIN)["escalated"] == 0


def test_escalation_reaches_parent_and_street_centre(conn: Connection) -> None:
    ids = build_street(conn)
    iid = dispatched_case(conn, ids["CU1"], T, accept_minutes=30)
    # the community unit's parent is SC; put a grid-level unit under CU1 to see both targets
    sub = int(conn.execute(sa.text(
        "INSERT INTO org_unit (code, name, kind, line, level, parent_id) "
        "VALUES ('U-G1', 'G1', 'grid', 'kuai', 'grid', :p) RETURNING id"), {"p": ids["CU1"]}
    ).scalar_one())
    conn.execute(sa.text("UPDATE incident SET unit_id = :u WHERE id = :i"), {"u": sub, "i": iid})
    scan.scan(conn, T + 45 * MIN)
    assert _entry(conn, iid)["escalated_to"] == ids["CU1"]
    esc = [u for u, k in _notes(conn, iid) if k == "supervise.escalated"]
    assert sorted(esc) == sorted([ids["CU1"], ids["SC"]])


def test_reminders_repeat_after_the_interval_and_clear_when_accepted(conn: Connection) -> None:
    ids = build_street(conn)
    iid = dispatched_case(conn, ids["CG"], T, accept_minutes=30, due=dt.timedelta(hours=10))
    params = ScanParams(supervise_remind_hours=1)
    scan.scan(conn, T + 31 * MIN, params)
    assert scan.scan(conn, T + 60 * MIN, params)["reminded"] == 0
    assert scan.scan(conn, T + 92 * MIN, params)["reminded"] == 1
    assert _entry(conn, iid)["reminders"] == 2
    # accepted: the handling clock (10 h, 8.5 h left) has no light → cleared
    conn.execute(sa.text("UPDATE incident SET accepted_at = :t, state = 'handling' "
                         "WHERE id = :i"), {"t": T + 93 * MIN, "i": iid})
    out = scan.scan(conn, T + 94 * MIN, params)
    assert out["cleared"] == 1 and _entry(conn, iid)["cleared_at"] == T + 94 * MIN
    assert _auto_events(conn, iid)[-1] == {"kind": "supervise.cleared", "light": "red",
                                           "reason": "supervise.reason.in_time"}
    # handling deadline near: lit again (yellow), escalation starts afresh
    out = scan.scan(conn, T + 9 * 60 * MIN + 10 * MIN, params)
    assert out["yellow"] == 1 and out["changed"] == 1
    entry = _entry(conn, iid)
    assert entry["cleared_at"] is None and entry["escalated_at"] is None


def test_closed_cases_leave_the_list(conn: Connection) -> None:
    ids = build_street(conn)
    iid = dispatched_case(conn, ids["CG"], T, accept_minutes=None)
    assert scan.scan(conn, T + 3 * 60 * MIN)["red"] == 1
    conn.execute(sa.text("UPDATE incident SET state = 'closed', closed_at = :t WHERE id = :i"),
                 {"t": T + 4 * 60 * MIN, "i": iid})
    out = scan.scan(conn, T + 5 * 60 * MIN)
    assert (out["red"], out["cleared"]) == (0, 1)
    assert _auto_events(conn, iid)[-1]["reason"] == "supervise.reason.clock_stopped"


def test_unit_webhook_is_queued_with_each_notice(conn: Connection) -> None:
    ids = build_street(conn)
    conn.execute(sa.text("UPDATE org_unit SET webhook_url = 'http://127.0.0.1:9/h', "
                         "webhook_secret = 's' WHERE id = :u"), {"u": ids["CG"]})
    dispatched_case(conn, ids["CG"], T)
    out = scan.scan(conn, T + 31 * MIN)
    assert (out["notifications"], out["webhooks"]) == (2, 1)  # CG red (hook), SC escalated
    assert notify.unread_by_unit(conn, [ids["CG"], ids["SC"]]) == {ids["CG"]: 1, ids["SC"]: 1}


@pytest.mark.parametrize("share", [0, 1, -0.5])
def test_bad_share_is_refused(share: float) -> None:
    with pytest.raises(ValidationError):
        ScanParams(supervise_yellow_share=share)


def test_case_dispatched_by_the_engine_turns_yellow_red_and_escalates(conn: Connection) -> None:
    """The whole path with the dispatch engine: 立案, 派遣 of an 应急单 to the 城管中队 (the unit
    is notified), no 接单 → yellow → red → escalated to the street centre; 接单 clears it."""
    ids = build_street(conn)
    iid = int(new_incident(conn, urgency="urgent")["id"])  # type: ignore[call-overload]
    engine.file(conn, iid, actor="acc", at=T)
    engine.dispatch(conn, iid, actor="disp", unit_id=ids["CG"], reason="城管执法", at=T,
                    notify=notify.send)
    due = conn.execute(sa.text("SELECT accept_due_at FROM incident WHERE id = :i"),
                       {"i": iid}).scalar_one()
    assert due == T + 30 * MIN  # 应急单: 30 minutes to accept
    assert _notes(conn, iid) == [(ids["CG"], "dispatch.new_case")]
    assert scan.scan(conn, T + 20 * MIN)["yellow"] == 0
    assert scan.scan(conn, T + 25 * MIN)["yellow"] == 1
    out = scan.scan(conn, T + 30 * MIN)
    assert (out["red"], out["escalated"]) == (1, 1)
    assert _entry(conn, iid)["escalated_to"] == ids["SC"]
    assert [k for u, k in _notes(conn, iid)] == [
        "dispatch.new_case", "supervise.yellow", "supervise.red", "supervise.escalated"]
    assert [e["kind"] for e in _auto_events(conn, iid)] == [
        "dispatch.proposed", "supervise.light", "supervise.light", "supervise.escalated"]
    engine.accept(conn, iid, actor="cg1", at=T + 40 * MIN)
    assert scan.scan(conn, T + 41 * MIN)["cleared"] == 1


def test_escalation_hook_raises_the_handling_level(conn: Connection) -> None:
    """``gridmap supervise scan --raise-level``: escalated cases go up one level (分级响应)."""
    ids = build_street(conn)
    iid = dispatched_case(conn, ids["CG"], T, accept_minutes=30)
    seen: list[list[int]] = []

    def hook(c: Connection, escalated: list[int], now: dt.datetime) -> None:
        seen.append(escalated)
        levels.raise_overdue(c, now)

    scan.scan(conn, T + 25 * MIN, on_escalated=hook)
    assert seen == []  # yellow only: nothing escalated, no hook call
    scan.scan(conn, T + 31 * MIN, on_escalated=hook)
    assert seen == [[iid]]
    level = conn.execute(sa.text("SELECT level FROM incident WHERE id = :i"),
                         {"i": iid}).scalar_one()
    assert level == "community"
