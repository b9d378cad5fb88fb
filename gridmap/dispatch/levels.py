"""Graded response (分级响应): every case has a handling level — grid, community, street,
district — and the level is raised one step (网格发现、社区呼叫 → street → district units)

- when the current level asks for it (:func:`raise_level`, reason ``requested``);
- when the acceptance (接单) time or the handling time runs out (:func:`raise_overdue`,
  reasons ``accept_overdue`` / ``handling_overdue``; the 督办 scan may call it);
- when the same problem recurs in the same place: at least ``recurrence_count`` cases of the
  same category within ``recurrence_radius_m`` in ``recurrence_days`` (:func:`raise_recurrent`,
  reason ``recurrence``).

A raise re-targets the case to the unit answering at the new level
(:func:`gridmap.dispatch.units.units_at_levels`): a case not yet dispatched gets it as its
proposal, a dispatched one as its handling unit (which must accept it again). Each raise is an
event with who and why. Everything here is set-based (a fixed number of statements).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.dispatch import events
from gridmap.dispatch.params import LEVELS, DispatchParams
from gridmap.dispatch.units import units_at_levels
from gridmap.errors import Conflict, IllegalTransition, NotFound
from gridmap.incidents.states import CLOSED_STATES
from gridmap.reference import workcal

REASONS: tuple[str, ...] = ("requested", "accept_overdue", "handling_overdue", "recurrence")
NOT_DISPATCHED: tuple[str, ...] = ("reported", "filed", "returned")
"""States in which the case has no handling unit yet (a raise changes the proposal)."""


def next_level(level: str) -> str | None:
    """The level above ``level`` (``None`` at district)."""
    i = LEVELS.index(level)
    return LEVELS[i + 1] if i + 1 < len(LEVELS) else None


def _accept_due(conn: Connection, rows: Sequence[Any], at: dt.datetime,
                params: DispatchParams, calendar: workcal.WorkCalendar | None
                ) -> list[dt.datetime | None]:
    """New 接单 deadlines (vectorised) for the re-targeted cases still to be accepted."""
    due: list[dt.datetime | None] = [None] * len(rows)
    todo = [k for k, r in enumerate(rows) if r.state == "dispatched"]
    if not todo:
        return due
    cal = calendar or workcal.calendar_from_db(conn)
    lim = [params.accept_limit(rows[k].urgency) for k in todo]
    out = cal.due_many(np.array([np.datetime64(at.astimezone(dt.UTC).replace(tzinfo=None), "m")
                                 ] * len(todo)),
                       np.array([x[0] for x in lim], dtype=float), np.array([x[1] for x in lim]),
                       np.array([rows[k].urgency == "urgent" for k in todo]))
    for k, d in zip(todo, out, strict=True):
        due[k] = d.astype("datetime64[us]").astype(dt.datetime).replace(tzinfo=dt.UTC)
    return due


def raise_many(conn: Connection, incident_ids: Sequence[int], *, reason: str,
               actor: str | None = None, note: str | None = None, at: dt.datetime | None = None,
               params: DispatchParams | None = None,
               calendar: workcal.WorkCalendar | None = None) -> list[dict[str, Any]]:
    """Raise open cases one level each and re-target them (cases at district are skipped).

    Returns one ``{"incident_id", "from_level", "to_level", "unit_id", "previous_unit_id"}``
    per raised case. Events: kind ``dispatch.level_raised`` with the reason, by ``actor``
    (``system`` when ``None``).
    """
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    params = params or DispatchParams()
    at = at or dt.datetime.now(dt.UTC)
    rows = [r for r in conn.execute(sa.text(
        "SELECT id, state, urgency, level, unit_id, proposed_unit_id FROM incident "
        "WHERE id = ANY(:ids) AND NOT (state = ANY(:closed)) AND level <> 'district' "
        "ORDER BY id FOR UPDATE"), {"ids": list(incident_ids), "closed": list(CLOSED_STATES)})]
    if not rows:
        return []
    to_levels = [str(next_level(r.level)) for r in rows]
    targets = units_at_levels(conn, [r.id for r in rows], to_levels)
    due = _accept_due(conn, rows, at, params, calendar)
    conn.execute(sa.text(
        "UPDATE incident i SET level = t.lvl, proposed_unit_id = t.unit, "
        "unit_id = CASE WHEN i.state = ANY(:nd) THEN i.unit_id ELSE t.unit END, "
        "accept_due_at = CASE WHEN i.state = 'dispatched' THEN t.due ELSE i.accept_due_at END, "
        "accepted_at = CASE WHEN i.state = 'dispatched' THEN NULL ELSE i.accepted_at END, "
        "lock_version = i.lock_version + 1 "
        "FROM unnest(CAST(:ids AS bigint[]), CAST(:lvls AS text[]), CAST(:units AS int[]), "
        "CAST(:dues AS timestamptz[])) AS t(id, lvl, unit, due) WHERE i.id = t.id"),
        {"ids": [r.id for r in rows], "lvls": to_levels, "nd": list(NOT_DISPATCHED),
         "units": [targets.get(r.id) for r in rows], "dues": due})
    out = [{"incident_id": r.id, "from_level": r.level, "to_level": lvl,
            "unit_id": targets.get(r.id),
            "previous_unit_id": r.proposed_unit_id if r.state in NOT_DISPATCHED else r.unit_id}
           for r, lvl in zip(rows, to_levels, strict=True)]
    events.record(conn, at, [
        {"incident_id": o["incident_id"], "state": r.state, "actor": actor, "note": note,
         "data": {"kind": "dispatch.level_raised", "reason": reason, **o}}
        for r, o in zip(rows, out, strict=True)])
    return out


LEVEL_RAISED_NOTICE = "dispatch.raised_to_unit"
"""Notification kind: a raised case now waits for the unit answering at the new level."""


def raise_level(conn: Connection, incident_id: int, *, actor: str | None, reason: str = "requested",
                note: str | None = None, at: dt.datetime | None = None,
                params: DispatchParams | None = None, expected_version: int | None = None,
                notify: Callable[..., Any] | None = None) -> dict[str, Any]:
    """Raise one case one level (社区呼叫: the current level asks; C2b's 督办 scan may call it
    with an overdue reason).

    ``notify`` (e.g. :func:`gridmap.supervision.notify.send`): tells the unit the case was
    re-targeted to (kind :data:`LEVEL_RAISED_NOTICE`).

    Raises
    ------
    NotFound
        Unknown case.
    Conflict
        ``expected_version`` is not the case's ``lock_version`` (someone changed it).
    IllegalTransition
        The case is closed (``dispatch.closed_case``) or already at district level
        (``dispatch.top_level``).
    """
    cur = conn.execute(sa.text("SELECT state, level, lock_version FROM incident WHERE id = :id"
                               " FOR UPDATE"), {"id": incident_id}).first()
    if cur is None:
        raise NotFound("incidents.not_found", {"id": incident_id})
    if expected_version is not None and expected_version != cur.lock_version:
        raise Conflict("dispatch.stale_case", {"id": incident_id, "expected": expected_version,
                                               "current": cur.lock_version})
    if cur.state in CLOSED_STATES:
        raise IllegalTransition("dispatch.closed_case", {"state": cur.state})
    if cur.level == LEVELS[-1]:
        raise IllegalTransition("dispatch.top_level", {"level": cur.level})
    out = raise_many(conn, [incident_id], reason=reason, actor=actor, note=note, at=at,
                     params=params)[0]
    if notify is not None and out["unit_id"] is not None \
            and out["unit_id"] != out["previous_unit_id"]:
        notify(conn, LEVEL_RAISED_NOTICE, unit_ids=[out["unit_id"]], incident_id=incident_id,
               at=at, params={"id": incident_id, "frm": out["from_level"],
                              "to": out["to_level"]})
    return out


OVERDUE_SQL = """
SELECT i.id, CASE WHEN i.state = 'dispatched' THEN 'accept_overdue' ELSE 'handling_overdue' END
       AS reason
FROM incident i
WHERE i.level <> 'district' AND NOT (i.state = ANY(:closed))
  AND ((i.state = 'dispatched' AND i.accepted_at IS NULL AND i.accept_due_at < :now)
       OR (i.state IN ('handling', 'extended', 'rework') AND i.due_at < :now
           AND NOT EXISTS (SELECT 1 FROM incident_event e WHERE e.incident_id = i.id
                           AND e.data->>'kind' = 'dispatch.level_raised'
                           AND e.data->>'reason' = 'handling_overdue')))
"""


def raise_overdue(conn: Connection, now: dt.datetime, *, params: DispatchParams | None = None,
                  calendar: workcal.WorkCalendar | None = None) -> list[dict[str, Any]]:
    """Raise every open case whose 接单 time ran out (again after each raise: the new unit has
    a new acceptance clock) or whose handling time ran out (once per case).

    Returns the raises (:func:`raise_many`), each with its ``reason``.
    """
    rows = conn.execute(sa.text(OVERDUE_SQL), {"now": now, "closed": list(CLOSED_STATES)}).all()
    out: list[dict[str, Any]] = []
    for reason in ("accept_overdue", "handling_overdue"):
        ids = [r.id for r in rows if r.reason == reason]
        if ids:
            out.extend({**o, "reason": reason} for o in raise_many(
                conn, ids, reason=reason, at=now, params=params, calendar=calendar))
    return out


RECURRENT_SQL = """
SELECT i.id, count(o.id) AS n
FROM incident i
JOIN incident o ON o.category_code = i.category_code AND o.state <> 'voided'
 AND o.reported_at BETWEEN i.reported_at - make_interval(days => :days) AND i.reported_at
 AND ST_DWithin(o.geom, i.geom, :deg) AND ST_DistanceSphere(o.geom, i.geom) <= :radius
WHERE i.id = ANY(:ids)
GROUP BY i.id HAVING count(o.id) >= :count
"""


def recurrent(conn: Connection, incident_ids: Sequence[int], params: DispatchParams
              ) -> dict[int, int]:
    """Cases among ``incident_ids`` that recur: id → number of same-category cases (itself
    included) within the radius in the window before it (only those reaching the count)."""
    if not incident_ids:
        return {}
    rows = conn.execute(sa.text(RECURRENT_SQL), {
        "ids": list(incident_ids), "days": params.recurrence_days,
        "deg": params.recurrence_radius_m / 60_000.0,  # degrees ≥ the radius up to 57° N
        "radius": params.recurrence_radius_m, "count": params.recurrence_count}).all()
    return {int(r.id): int(r.n) for r in rows}


def raise_recurrent(conn: Connection, incident_ids: Sequence[int], *,
                    at: dt.datetime | None = None, params: DispatchParams | None = None
                    ) -> list[dict[str, Any]]:
    """Raise the cases among ``incident_ids`` whose problem recurs in the same place (once per
    case: a case raised for recurrence is not raised again for it)."""
    params = params or DispatchParams()
    found = recurrent(conn, incident_ids, params)
    if not found:
        return []
    done = {int(r[0]) for r in conn.execute(sa.text(
        "SELECT DISTINCT incident_id FROM incident_event WHERE incident_id = ANY(:ids) "
        "AND data->>'kind' = 'dispatch.level_raised' AND data->>'reason' = 'recurrence'"),
        {"ids": list(found)})}
    todo = [i for i in found if i not in done]
    out = raise_many(conn, todo, reason="recurrence", at=at, params=params)
    return [{**o, "recurrences": found[o["incident_id"]]} for o in out]
