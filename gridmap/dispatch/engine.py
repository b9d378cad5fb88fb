"""The case loop with its people (研交办督结): 立案 with a proposed unit, 派遣 to it or to
another unit with a reason, 接单 within the order type's limit, handling, 回退 → 改派.

Each step wraps :func:`gridmap.incidents.workflow.transition` (only legal transitions; the
due time starts at dispatch) and adds what the dispatch engine knows:

- :func:`file` (立案): the routing rules propose a unit (:func:`gridmap.dispatch.rules.propose`;
  属地兜底 when none matches) and the initial handling level is set (the rule's level, else
  the category's); both are an automatic event with their reason; a recurring problem raises
  the level (:func:`gridmap.dispatch.levels.raise_recurrent`).
- :func:`dispatch` (派遣 / 改派 after 回退): to the proposed unit, or an override with a
  mandatory reason; the 接单 clock starts (应急单/重点单/常规单 limits of
  :class:`~gridmap.dispatch.params.DispatchParams`). A dispatch after 回退 is marked
  ``redispatch`` in its event (准确派遣率 counts them).
- :func:`accept` (接单): the unit takes the case (dispatched → handling), recorded with
  whether it was late.
- :func:`return_case` (回退): the unit returns a wrongly dispatched case, reason mandatory.
- :func:`act`: any transition by name, routed to the functions above when they apply.

Every function takes ``expected_version`` (optimistic locking on ``incident.lock_version``:
a stale value raises :class:`~gridmap.errors.Conflict` and nothing changes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.dispatch import events, levels, rules
from gridmap.dispatch.params import DispatchParams
from gridmap.dispatch.units import unit_exists
from gridmap.errors import Conflict, IllegalTransition, NotFound, Problem, ValidationError
from gridmap.incidents import workflow
from gridmap.incidents.intake import IntakeParams
from gridmap.incidents.states import check_transition
from gridmap.reference import workcal

Notifier = Callable[..., Any]
"""``notify(conn, kind, *, unit_ids, incident_id, params, at)``: how a new 派单 reaches the
unit (:func:`gridmap.supervision.notify.send`, passed in by the API and the CLI: the
notification queue lives in the supervision package, which may itself call this one)."""
NEW_CASE = "dispatch.new_case"
"""Notification kind (a message code) of a case dispatched to a unit."""

VIEW_SQL = """
SELECT i.id, i.state, i.urgency, i.category_code, i.level, i.unit_id, u.code AS unit_code,
       u.name AS unit_name, i.proposed_unit_id, p.code AS proposed_unit_code,
       p.name AS proposed_unit_name, i.accept_due_at, i.accepted_at, i.dispatched_at, i.due_at,
       i.street_id, i.community_id, i.grid_id, i.lock_version
FROM incident i
LEFT JOIN org_unit u ON u.id = i.unit_id
LEFT JOIN org_unit p ON p.id = i.proposed_unit_id
WHERE i.id = :id
"""


def view(conn: Connection, incident_id: int) -> dict[str, Any]:
    """A case's dispatch state: level, handling and proposed unit, 接单 clock, lock version.

    Raises
    ------
    NotFound
        Unknown case.
    """
    row = conn.execute(sa.text(VIEW_SQL), {"id": incident_id}).mappings().first()
    if row is None:
        raise NotFound("incidents.not_found", {"id": incident_id})
    return dict(row)


def _lock(conn: Connection, incident_id: int, expected_version: int | None) -> Any:
    """Lock the case row; :class:`Conflict` if ``expected_version`` is stale."""
    cur = conn.execute(sa.text(
        "SELECT id, state, urgency, category_code, level, unit_id, proposed_unit_id, "
        "accept_due_at, accepted_at, lock_version FROM incident WHERE id = :id FOR UPDATE"),
        {"id": incident_id}).first()
    if cur is None:
        raise NotFound("incidents.not_found", {"id": incident_id})
    if expected_version is not None and expected_version != cur.lock_version:
        raise Conflict("dispatch.stale_case", {"id": incident_id, "expected": expected_version,
                                               "current": cur.lock_version})
    return cur


def file(conn: Connection, incident_id: int, *, actor: str | None, note: str | None = None,
         at: dt.datetime | None = None, expected_version: int | None = None,
         params: DispatchParams | None = None, intake: IntakeParams | None = None
         ) -> dict[str, Any]:
    """立案: file the case, propose its unit and set its initial level (automatic events)."""
    params = params or DispatchParams()
    at = at or dt.datetime.now(dt.UTC)
    with conn.begin_nested():
        cur = _lock(conn, incident_id, expected_version)
        check_transition(cur.state, "filed")
        prop = rules.propose(conn, [incident_id])[incident_id]
        level = prop["rule_level"] or params.initial_level(cur.category_code)
        workflow.transition(conn, incident_id, "filed", actor=actor, note=note, at=at,
                            params=intake, extra_sets={"proposed_unit_id": prop["unit_id"],
                                                       "level": level})
        events.record(conn, at, [{"incident_id": incident_id, "state": "filed", "data": {
            "kind": "dispatch.proposed", "unit_id": prop["unit_id"], "reason": prop["reason"],
            "rule_set_id": prop["set_id"], "rule_position": prop["position"], "level": level,
            "level_reason": "rule" if prop["rule_level"] else "category"}}])
        levels.raise_recurrent(conn, [incident_id], at=at, params=params)
    return view(conn, incident_id)


def _override_check(conn: Connection, unit_id: int | None, proposed: int | None,
                    reason: str | None) -> int:
    """The target unit of a dispatch; problems for an unknown unit or a missing reason."""
    target = unit_id if unit_id is not None else proposed
    if target is None:
        raise ValidationError("dispatch.invalid_dispatch", [
            Problem("dispatch.no_unit", {}, field="unit_id")])
    problems: list[Problem] = []
    if unit_id is not None and not unit_exists(conn, unit_id):
        problems.append(Problem("dispatch.unknown_unit", {"value": unit_id}, field="unit_id"))
    if target != proposed and not (reason or "").strip():
        problems.append(Problem("dispatch.override_reason_required", {}, field="reason"))
    if problems:
        raise ValidationError("dispatch.invalid_dispatch", problems)
    return target


def dispatch(conn: Connection, incident_id: int, *, actor: str | None,
             unit_id: int | None = None, reason: str | None = None, note: str | None = None,
             at: dt.datetime | None = None, expected_version: int | None = None,
             params: DispatchParams | None = None, intake: IntakeParams | None = None,
             calendar: workcal.WorkCalendar | None = None, notify: Notifier | None = None
             ) -> dict[str, Any]:
    """派遣 (or 改派 after 回退) to the proposed unit, or to ``unit_id`` with a ``reason``;
    the unit is notified through ``notify`` (kind :data:`NEW_CASE`) when one is given.

    Raises
    ------
    ValidationError
        No unit to dispatch to, an unknown unit, or an override without a reason (all at once).
    IllegalTransition
        The case cannot be dispatched from its state.
    """
    params = params or DispatchParams()
    intake = intake or IntakeParams()
    at = at or dt.datetime.now(dt.UTC)
    with conn.begin_nested():
        cur = _lock(conn, incident_id, expected_version)
        check_transition(cur.state, "dispatched")
        target = _override_check(conn, unit_id, cur.proposed_unit_id, reason)
        cal = calendar or workcal.calendar_from_db(conn, intake.calendar)
        limit, unit = params.accept_limit(cur.urgency)
        accept_due = cal.due(at, limit, unit, urgent=cur.urgency == "urgent")
        workflow.transition(
            conn, incident_id, "dispatched", actor=actor, note=note or reason, at=at,
            calendar=cal, params=intake,
            extra_sets={"unit_id": target, "accept_due_at": accept_due, "accepted_at": None},
            event_data={"kind": "dispatch.dispatched", "unit_id": target,
                        "proposed_unit_id": cur.proposed_unit_id,
                        "override": target != cur.proposed_unit_id, "reason": reason,
                        "redispatch": cur.state == "returned",
                        "accept_due_at": accept_due.isoformat()})
        if notify is not None:
            notify(conn, NEW_CASE, unit_ids=[target], incident_id=incident_id, at=at,
                   params={"id": incident_id, "urgency": cur.urgency,
                           "accept_due_at": accept_due.isoformat()})
    return view(conn, incident_id)


def accept(conn: Connection, incident_id: int, *, actor: str | None, note: str | None = None,
           at: dt.datetime | None = None, expected_version: int | None = None,
           intake: IntakeParams | None = None) -> dict[str, Any]:
    """接单: the handling unit takes the case (dispatched → handling); the event says whether
    the acceptance limit was kept."""
    at = at or dt.datetime.now(dt.UTC)
    with conn.begin_nested():
        cur = _lock(conn, incident_id, expected_version)
        check_transition(cur.state, "handling")
        if cur.state != "dispatched":
            raise IllegalTransition("dispatch.not_dispatched", {"state": cur.state})
        late = cur.accept_due_at is not None and at > cur.accept_due_at
        workflow.transition(conn, incident_id, "handling", actor=actor, note=note, at=at,
                            params=intake, extra_sets={"accepted_at": at},
                            event_data={"kind": "dispatch.accepted", "unit_id": cur.unit_id,
                                        "late": late})
    return view(conn, incident_id)


def return_case(conn: Connection, incident_id: int, *, actor: str | None, reason: str | None,
                at: dt.datetime | None = None, expected_version: int | None = None,
                intake: IntakeParams | None = None) -> dict[str, Any]:
    """回退: the unit returns a wrongly dispatched case (the reason is mandatory); the
    值班长 then 改派 (:func:`dispatch`) or voids it."""
    if not (reason or "").strip():
        raise ValidationError("dispatch.invalid_return", [
            Problem("dispatch.return_reason_required", {}, field="reason")])
    with conn.begin_nested():
        cur = _lock(conn, incident_id, expected_version)
        check_transition(cur.state, "returned")
        workflow.transition(conn, incident_id, "returned", actor=actor, note=reason, at=at,
                            params=intake, event_data={"kind": "dispatch.returned",
                                                       "unit_id": cur.unit_id})
    return view(conn, incident_id)


def act(conn: Connection, incident_id: int, to_state: str, *, actor: str | None,
        note: str | None = None, unit_id: int | None = None, at: dt.datetime | None = None,
        expected_version: int | None = None, params: DispatchParams | None = None,
        intake: IntakeParams | None = None, notify: Notifier | None = None, **kwargs: Any
        ) -> dict[str, Any]:
    """Any transition by target state: 立案, 派遣, 接单 (dispatched → handling) and 回退 go
    through the functions above; the rest (反馈, 核查结案, 返工, 延期 …) through
    :func:`gridmap.incidents.workflow.transition` (``kwargs`` passed on) after the
    optimistic-lock check."""
    state = view(conn, incident_id)["state"]
    if to_state == "filed":
        return file(conn, incident_id, actor=actor, note=note, at=at,
                    expected_version=expected_version, params=params, intake=intake)
    if to_state == "dispatched":
        return dispatch(conn, incident_id, actor=actor, unit_id=unit_id, reason=note, at=at,
                        expected_version=expected_version, params=params, intake=intake,
                        notify=notify)
    if to_state == "handling" and state == "dispatched":
        return accept(conn, incident_id, actor=actor, note=note, at=at,
                      expected_version=expected_version, intake=intake)
    if to_state == "returned":
        return return_case(conn, incident_id, actor=actor, reason=note, at=at,
                           expected_version=expected_version, intake=intake)
    with conn.begin_nested():
        _lock(conn, incident_id, expected_version)
        workflow.transition(conn, incident_id, to_state, actor=actor, note=note, at=at,
                            params=intake, **kwargs)
    return view(conn, incident_id)
