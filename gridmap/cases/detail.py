"""One case for its page: all fields (personal data masked by scope), the history as a
timeline, comments, and the transitions this viewer may take, each with what it needs.

:func:`act` is the one entry of the page's buttons: it checks the viewer's scope and posts
(:func:`gridmap.accounts.scope.dispatch_act`), that a second 延期 is approved by someone who
may approve it, and what each step needs (a 延期 reason and days, a 回退/作废/返工 reason), then
moves the case through the dispatch engine with optimistic locking.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts import scope as scopes
from gridmap.accounts.scope import Scope
from gridmap.errors import PermissionDenied, Problem, ValidationError
from gridmap.incidents.states import STATE_LABELS, TRANSITIONS

MAX_COMMENT = 2000
MAX_EXTENSION_DAYS = 60
REASON_REQUIRED: tuple[str, ...] = ("returned", "extended", "voided", "rework", "parked")
"""Steps that need a reason (the note)."""

_EXTRA = """
SELECT u.name AS unit_name, u.code AS unit_code, p.name AS proposed_unit_name,
       cm.name AS community_name, st.name AS street_name, s.light, s.since AS light_since,
       i.satisfaction_score, i.solved, i.evaluated_at
FROM incident i
LEFT JOIN org_unit u ON u.id = i.unit_id
LEFT JOIN org_unit p ON p.id = i.proposed_unit_id
LEFT JOIN community cm ON cm.id = i.community_id
LEFT JOIN street st ON st.id = i.street_id
LEFT JOIN supervision s ON s.incident_id = i.id AND s.cleared_at IS NULL
WHERE i.id = :id
"""


def _may(scope: Scope, row: Mapping[str, Any], to_state: str) -> bool:
    try:
        scopes.check_action(scope, row, to_state)
    except PermissionDenied:
        return False
    return True


def may_approve_extension(scope: Scope, row: Mapping[str, Any]) -> bool:
    """Whether the viewer may approve a second 延期 of case ``row`` (a post allowing
    ``approve_extension`` in a unit covering the case; supervisors and admins)."""
    if scope.staff is not None:
        return scope.staff.covers(row, scope.staff.units_for("approve_extension"))
    return scope.role in ("supervisor", "admin")


def actions(scope: Scope, row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The transitions of case ``row`` the viewer may take: ``to``, ``label``, ``needs``
    (``unit``, ``reason``, ``days``, ``approval``, ``photo``, ``satisfaction``)."""
    out = []
    for to in TRANSITIONS.get(row["state"], ()):
        if not _may(scope, row, to):
            continue
        needs: list[str] = []
        if to == "dispatched":
            needs.append("unit")
        if to in REASON_REQUIRED:
            needs.append("reason")
        if to == "extended":
            needs.append("days")
            if row.get("extensions", 0) >= 1:
                needs.append("approval")
        if to in ("closed", "handled"):
            needs.append("photo")
        if to == "evaluated":
            needs.append("satisfaction")
        out.append({"to": to, "label": STATE_LABELS[to], "needs": needs})
    return out


def history(conn: Connection, incident_id: int) -> list[dict[str, Any]]:
    """Every event of a case, oldest first, with labels (automatic steps included)."""
    rows = conn.execute(sa.text(
        "SELECT id, at, actor, from_state, to_state, note, data FROM incident_event "
        "WHERE incident_id = :id ORDER BY at, id"), {"id": incident_id}).mappings().all()
    return [dict(r, from_label=STATE_LABELS.get(r["from_state"] or ""),
                 to_label=STATE_LABELS.get(r["to_state"]),
                 kind=(r["data"] or {}).get("kind") if isinstance(r["data"], dict) else None)
            for r in rows]


def comments(conn: Connection, incident_id: int) -> list[dict[str, Any]]:
    """The comments of a case, oldest first."""
    return [dict(r) for r in conn.execute(sa.text(
        "SELECT id, at, author, body FROM case_comment WHERE incident_id = :id "
        "ORDER BY at, id"), {"id": incident_id}).mappings()]


def units(conn: Connection) -> list[dict[str, Any]]:
    """The active units a case may be dispatched to (id, code, name, level)."""
    return [dict(r) for r in conn.execute(sa.text(
        "SELECT id, code, name, level FROM org_unit WHERE active ORDER BY level, code"
    )).mappings()]


def view(conn: Connection, scope: Scope, incident_id: int) -> dict[str, Any]:
    """A case for its page: ``case`` (masked by scope), ``history``, ``comments``,
    ``actions`` and, when it may be dispatched, the ``units`` to choose from.

    Raises
    ------
    NotFound
        Unknown case.
    PermissionDenied
        The case is outside the viewer's scope.
    """
    row = scopes.get_incident(conn, scope, incident_id)
    extra = conn.execute(sa.text(_EXTRA), {"id": incident_id}).mappings().first()
    case = {**scopes.masked(row, scope), **dict(extra or {})}
    acts = actions(scope, row)
    out = {"case": case, "history": history(conn, incident_id),
           "comments": comments(conn, incident_id), "actions": acts,
           "may_approve_extension": may_approve_extension(scope, row)}
    if any(a["to"] == "dispatched" for a in acts):
        out["units"] = units(conn)
    return out


def add_comment(conn: Connection, scope: Scope, incident_id: int, *, author: str,
                body: str) -> dict[str, Any]:
    """Add a comment to a case the viewer may see.

    Raises
    ------
    ValidationError
        Empty or too long a comment.
    PermissionDenied
        The case is outside the viewer's scope, or the viewer's role does not work on cases.
    """
    text = (body or "").strip()
    if not text:
        raise ValidationError("cases.bad_comment", [
            Problem("cases.comment_empty", {}, field="body")])
    if len(text) > MAX_COMMENT:
        raise ValidationError("cases.bad_comment", [
            Problem("cases.comment_too_long", {"max": MAX_COMMENT}, field="body")])
    if scope.role is not None and scope.role not in scopes.CASE_ROLES:
        raise PermissionDenied("scope.post_denied", {"action": "comment"})
    scopes.get_incident(conn, scope, incident_id)
    row = conn.execute(sa.text(
        "INSERT INTO case_comment (incident_id, author, body) VALUES (:id, :a, :b) "
        "RETURNING id, at, author, body"), {"id": incident_id, "a": author, "b": text}
    ).mappings().one()
    return dict(row)


def _check_act(to_state: str, note: str | None, extension: float | None) -> None:
    problems: list[Problem] = []
    if to_state in REASON_REQUIRED and not (note or "").strip():
        problems.append(Problem("cases.reason_required", {"to": STATE_LABELS.get(to_state,
                                                                                 to_state)},
                                field="note"))
    if to_state == "extended" and (extension is None
                                   or not 0 < extension <= MAX_EXTENSION_DAYS):
        problems.append(Problem("cases.bad_extension", {"max": MAX_EXTENSION_DAYS},
                                field="extension"))
    if problems:
        raise ValidationError("cases.bad_action", problems)


def act(conn: Connection, scope: Scope, incident_id: int, to_state: str, *,
        actor: str | None, note: str | None = None, extension: float | None = None,
        higher_approval: bool = False, **kwargs: Any) -> dict[str, Any]:
    """A button of the case page: the step to ``to_state`` through the dispatch engine
    (``kwargs``: ``unit_id``, ``expected_version``, ``params``, ``intake``, ``notify``,
    ``satisfaction``, ``solved``).

    Raises
    ------
    ValidationError
        A missing reason, or 延期 days out of range (all at once).
    PermissionDenied
        Outside the viewer's scope or posts; an approval by someone who may not approve.
    Conflict, IllegalTransition
        A stale version or a step the case's state does not allow.
    """
    _check_act(to_state, note, extension)
    extra: dict[str, Any] = {}
    if to_state == "extended":
        extra["extension"] = extension
        if higher_approval:
            row = scopes.get_incident(conn, scope, incident_id)
            if not may_approve_extension(scope, row):
                raise PermissionDenied("cases.approval_denied")
            extra["higher_approval"] = True
    return scopes.dispatch_act(conn, scope, incident_id, to_state, actor=actor, note=note,
                               **extra, **kwargs)
