"""Case transitions on the database: due times at dispatch (working and natural clock),
挂账 and 延期 moving the deadline, every illegal transition refused."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import incidents
from gridmap.errors import IllegalTransition, ValidationError
from gridmap.reference.workcal import LOCAL_TZ
from tests.fixtures.incident_world import new_incident


def test_full_loop_sets_due_time_at_dispatch(conn: Connection, world: dict[str, int]) -> None:
    row = new_incident(conn)
    iid = int(row["id"])  # type: ignore[arg-type]
    fri = dt.datetime(2025, 11, 21, 17, 0, tzinfo=LOCAL_TZ)
    incidents.transition(conn, iid, "filed", actor="受理员", at=fri)
    r = incidents.transition(conn, iid, "dispatched", actor="派遣员", at=fri)
    # E0102 暴露垃圾: 4 working hours from Fri 17:00: 0.5 h Friday + 3.5 h Monday → 12:00
    assert r["due_at"] == dt.datetime(2025, 11, 24, 12, 0, tzinfo=LOCAL_TZ)
    for s in ("handling", "handled", "rework", "handling", "handled", "closed", "evaluated"):
        r = incidents.transition(conn, iid, s, actor="x", note=f"to {s}", at=fri)
    assert r["status"] == "evaluated" and r["rework_count"] == 1 and r["closed_at"] == fri
    hist = incidents.history(conn, iid)
    assert len(hist) == 10 and hist[-1]["from_state"] == "closed"
    assert hist[-1]["note"] == "to evaluated" and hist[-1]["to_label"] == "评价"


def test_urgent_case_runs_on_natural_clock(conn: Connection, world: dict[str, int]) -> None:
    row = new_incident(conn, urgency="urgent")
    iid = int(row["id"])  # type: ignore[arg-type]
    fri = dt.datetime(2025, 11, 21, 17, 0, tzinfo=LOCAL_TZ)
    incidents.transition(conn, iid, "filed", actor="a", at=fri)
    r = incidents.transition(conn, iid, "dispatched", actor="a", at=fri)
    assert r["due_at"] == fri + dt.timedelta(hours=4)


def test_parked_time_and_extension_move_the_deadline(conn: Connection,
                                                     world: dict[str, int]) -> None:
    iid = int(new_incident(conn, category="E0105")["id"])  # type: ignore[arg-type]  # 15 working days
    t = dt.datetime(2025, 11, 3, 9, 0, tzinfo=LOCAL_TZ)
    incidents.transition(conn, iid, "filed", actor="a", at=t)
    due0 = incidents.transition(conn, iid, "dispatched", actor="a", at=t)["due_at"]
    incidents.transition(conn, iid, "handling", actor="a", at=t)
    incidents.transition(conn, iid, "parked", actor="a", at=t + dt.timedelta(days=1))
    r = incidents.transition(conn, iid, "handling", actor="a", at=t + dt.timedelta(days=11))
    assert r["due_at"] == due0 + dt.timedelta(days=10)  # type: ignore[operator]
    with pytest.raises(IllegalTransition):
        incidents.transition(conn, iid, "extended", actor="a")  # no approved extension
    r2 = incidents.transition(conn, iid, "extended", actor="a", extension=2)
    assert r2["due_at"] > r["due_at"] and r2["extensions"] == 1  # type: ignore[operator]
    with pytest.raises(IllegalTransition, match="higher approval"):
        incidents.transition(conn, iid, "extended", actor="a", extension=1)
    r3 = incidents.transition(conn, iid, "extended", actor="a", extension=1, higher_approval=True)
    assert r3["extensions"] == 2


def test_every_illegal_transition_is_refused(conn: Connection, world: dict[str, int]) -> None:
    iid = int(new_incident(conn)["id"])  # type: ignore[arg-type]
    refused = 0
    for frm in incidents.STATES:
        conn.execute(sa.text("UPDATE incident SET state = :s WHERE id = :id"),
                     {"s": frm, "id": iid})
        for to in incidents.STATES:
            if to in incidents.TRANSITIONS[frm]:
                continue
            with pytest.raises(IllegalTransition):
                incidents.transition(conn, iid, to, actor="a", extension=1)
            refused += 1
        assert incidents.get(conn, iid)["status"] == frm  # nothing changed
    assert refused == 144 - sum(len(v) for v in incidents.TRANSITIONS.values())
    assert len(incidents.history(conn, iid)) == 1


def test_evaluation_records_satisfaction_and_solved(conn: Connection,
                                                    world: dict[str, int]) -> None:
    """评价 (closed → evaluated) stores satisfaction 1–5 and solved; bad values are all
    reported at once and change nothing; other transitions refuse them."""
    iid = int(new_incident(conn)["id"])  # type: ignore[call-overload]
    at = dt.datetime(2025, 11, 21, 9, 0, tzinfo=LOCAL_TZ)
    for s in ("filed", "dispatched", "handling", "handled"):
        incidents.transition(conn, iid, s, actor="x", at=at)
    with pytest.raises(ValidationError) as err:
        incidents.transition(conn, iid, "closed", actor="x", at=at, satisfaction=3)
    assert [p.code for p in err.value.problems] == ["supervise.evaluation_only"]
    incidents.transition(conn, iid, "closed", actor="x", at=at)
    with pytest.raises(ValidationError) as err:
        incidents.transition(conn, iid, "evaluated", actor="x", at=at, satisfaction=6,
                             solved="yes")  # type: ignore[arg-type]
    assert [p.field for p in err.value.problems] == ["satisfaction", "solved"]
    assert incidents.get(conn, iid)["status"] == "closed"
    incidents.transition(conn, iid, "evaluated", actor="x", at=at, satisfaction=5, solved=True)
    row = conn.execute(sa.text("SELECT satisfaction_score, solved, evaluated_at FROM incident "
                               "WHERE id = :i"), {"i": iid}).one()
    assert tuple(row) == (5, True, at)
