"""Case workflow on the database: :func:`transition` moves a case along the state machine of
:mod:`gridmap.incidents.states`, records the event in ``incident_event`` and keeps the due
time (reference/cases.md §5).

The due time is set at dispatch from the category's time limit (:func:`limit_for`) on the
working clock of :mod:`gridmap.reference.workcal`; 挂账 time and approved 延期 extend it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import IllegalTransition, NotFound, Problem, ValidationError
from gridmap.incidents.intake import IntakeParams
from gridmap.incidents.query import get
from gridmap.incidents.states import check_state, check_transition
from gridmap.reference import workcal


def limit_for(cat: Mapping[Any, Any], urgent: bool, params: IntakeParams
              ) -> tuple[float, str]:
    """The time limit and its unit of a category (urgent limit for urgent cases; the
    default of ``params`` when the category has none)."""
    if urgent and cat.get("urgent_time_limit"):
        return float(cat["urgent_time_limit"]), str(cat["urgent_time_unit"] or cat["time_unit"])
    if cat.get("time_limit"):
        return float(cat["time_limit"]), str(cat["time_unit"])
    return params.default_time_limit, params.default_time_unit


def _extend(cur: Mapping[Any, Any], extension: float | None, higher_approval: bool,
            cal: workcal.WorkCalendar, unit: str, urgent: bool) -> dict[str, Any]:
    """The changes of an approved 延期."""
    if extension is None or extension <= 0:
        raise IllegalTransition("incidents.extension_required")
    if cur["extensions"] >= 1 and not higher_approval:
        raise IllegalTransition("incidents.second_extension")
    return {"due_at": cal.due(cur["due_at"], extension, unit, urgent=urgent),
            "extensions": cur["extensions"] + 1}


def _changes(cur: Mapping[Any, Any], to_state: str, at: dt.datetime,
             cal: workcal.WorkCalendar | None, limit: float, unit: str, *,
             extension: float | None, higher_approval: bool) -> dict[str, Any]:
    """The columns a transition of case ``cur`` to ``to_state`` at ``at`` sets."""
    frm = cur["state"]
    urgent = cur["urgency"] == "urgent"
    sets: dict[str, Any] = {}
    if to_state == "filed":
        sets["filed_at"] = at
    elif to_state == "dispatched":   # the clock starts (again, after 回退) at dispatch
        assert cal is not None
        sets["dispatched_at"] = at
        sets["due_at"] = cal.due(at, limit, unit, urgent=urgent)
    elif to_state == "extended":
        assert cal is not None
        sets.update(_extend(cur, extension, higher_approval, cal, unit, urgent))
    elif to_state == "parked":
        sets["parked_at"] = at
    elif frm == "parked":            # 挂账 time is added to the deadline
        if cur["due_at"] is not None and cur["parked_at"] is not None:
            sets["due_at"] = cur["due_at"] + (at - cur["parked_at"])
        sets["parked_at"] = None
    elif to_state == "handled":
        sets["handled_at"] = at
    elif to_state == "rework":
        sets["rework_count"] = cur["rework_count"] + 1
    elif to_state == "closed":
        sets["closed_at"] = at
    elif to_state == "evaluated":
        sets["evaluated_at"] = at
    sets["state"] = to_state
    return sets


def _evaluation(to_state: str, satisfaction: int | None, solved: bool | None
                ) -> dict[str, Any]:
    """The columns of the 评价 stage: satisfaction 1–5 and whether the problem was solved
    (only on closed → evaluated; every problem reported at once)."""
    if satisfaction is None and solved is None:
        return {}
    problems = []
    if to_state != "evaluated":
        problems.append(Problem("supervise.evaluation_only", {"state": to_state},
                                field="satisfaction"))
    if satisfaction is not None and (isinstance(satisfaction, bool)
                                     or not isinstance(satisfaction, int)
                                     or not 1 <= satisfaction <= 5):
        problems.append(Problem("supervise.bad_satisfaction", {"value": satisfaction},
                                field="satisfaction"))
    if solved is not None and not isinstance(solved, bool):
        problems.append(Problem("supervise.bad_solved", {"value": solved}, field="solved"))
    if problems:
        raise ValidationError("supervise.bad_evaluation", problems)
    return {k: v for k, v in (("satisfaction_score", satisfaction), ("solved", solved))
            if v is not None}


def _record(conn: Connection, incident_id: int, sets: Mapping[str, Any],
            event: Mapping[str, Any]) -> None:
    """Write the changes and the ``incident_event`` row."""
    assign = ", ".join(f"{k} = :{k}" for k in sets)
    conn.execute(sa.text(f"UPDATE incident SET {assign}, lock_version = lock_version + 1 "  # noqa: S608
                         "WHERE id = :id"), {**sets, "id": incident_id})
    conn.execute(sa.text(
        "INSERT INTO incident_event (incident_id, at, actor, from_state, to_state, note, data) "
        "VALUES (:id, :at, :actor, :frm, :to, :note, CAST(:data AS jsonb))"),
        {"id": incident_id, **event})


def transition(conn: Connection, incident_id: int, to_state: str, *, actor: str | None,
               note: str | None = None, at: dt.datetime | None = None,
               extension: float | None = None, higher_approval: bool = False,
               calendar: workcal.WorkCalendar | None = None,
               params: IntakeParams | None = None, extra_sets: Mapping[str, Any] | None = None,
               event_data: Mapping[str, Any] | None = None, satisfaction: int | None = None,
               solved: bool | None = None) -> dict[str, Any]:
    """Move a case to ``to_state`` if the state machine allows it; record the event.

    Parameters
    ----------
    extension:
        For ``extended`` (延期): approved extra time in the category's time unit.
    higher_approval:
        Required for a second 延期 (reference/cases.md §4).
    calendar:
        Working calendar for due times (default: the ``work_calendar`` table with the work
        periods and weekend of ``params.calendar``).
    satisfaction, solved:
        The 评价 stage (closed → evaluated): satisfaction 1–5 and whether the problem was
        solved (feed the hotline 三率 of :mod:`gridmap.supervision.indicators`).
    extra_sets, event_data:
        Hooks for callers that wrap a transition (:mod:`gridmap.dispatch.engine`): more
        columns to set (trusted column names, never input) and data merged into the event.

    Raises
    ------
    IllegalTransition
        If ``to_state`` is not reachable from the current state.
    NotFound
        If the incident does not exist.
    """
    params = params or IntakeParams()
    check_state(to_state)
    evaluation = _evaluation(to_state, satisfaction, solved)
    at = at or dt.datetime.now(dt.UTC)
    with conn.begin_nested():
        cur = conn.execute(sa.text(
            "SELECT i.*, c.time_limit, c.time_unit, c.urgent_time_limit, c.urgent_time_unit "
            "FROM incident i JOIN event_category c ON c.code = i.category_code "
            "WHERE i.id = :id FOR UPDATE OF i"), {"id": incident_id}).mappings().first()
        if cur is None:
            raise NotFound("incidents.not_found", {"id": incident_id})
        frm = cur["state"]
        check_transition(frm, to_state)
        limit, unit = limit_for(cur, cur["urgency"] == "urgent", params)
        cal = calendar
        if to_state in ("dispatched", "extended") and cal is None:
            cal = workcal.calendar_from_db(conn, params.calendar)
        sets = _changes(cur, to_state, at, cal, limit, unit, extension=extension,
                        higher_approval=higher_approval)
        sets.update(extra_sets or {})
        sets.update(evaluation)
        data = {"extension": extension, "unit": unit} if to_state == "extended" else None
        if event_data:
            data = {**(data or {}), **event_data}
        _record(conn, incident_id, sets, {
            "at": at, "actor": actor, "frm": frm, "to": to_state, "note": note,
            "data": json.dumps(data) if data else None})
    return get(conn, incident_id)
