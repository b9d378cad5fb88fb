"""三张清单 of a community: 问题清单 (open cases and recurrent problems), 服务清单 (the
facilities of its life circle from the coverage data and its own, editable service list) and
解决清单 (closed cases with their outcome and satisfaction); one XLSX with three sheets.

A community outside the viewer's scope raises ``scope.incident_outside``-like errors
(:func:`gridmap.accounts.scope.check`); editing the service list needs a supervisor of the
area, an administrator, or a staff post that files or supervises in a unit covering it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts import scope as scopes
from gridmap.accounts.scope import Scope
from gridmap.errors import NotFound, PermissionDenied, Problem, ValidationError
from gridmap.incidents.states import CLOSED_STATES, STATE_LABELS

LIMIT = 1000
SERVICE_FIELDS: tuple[str, ...] = ("name", "kind", "provider", "contact", "hours", "note")
MAX_FIELD = 500
DEFAULT_RADIUS_M = 1000

_OPEN = """
SELECT i.id, i.case_no, i.category_code AS category, c.name_zh AS category_name, i.state,
       i.urgency, i.address, left(i.description, 200) AS description, i.reported_at, i.due_at,
       g.grid_code, u.name AS unit_name
FROM incident i JOIN event_category c ON c.code = i.category_code
LEFT JOIN grid g ON g.id = i.grid_id LEFT JOIN org_unit u ON u.id = i.unit_id
WHERE i.community_id = :cid AND i.state <> ALL(:closed)
ORDER BY i.reported_at DESC, i.id DESC LIMIT :lim
"""
_RECURRENT = """
SELECT i.category_code AS category, c.name_zh AS category_name, g.grid_code,
       count(*) AS cases, count(*) FILTER (WHERE i.state <> ALL(:closed)) AS open_cases,
       max(i.reported_at) AS last_reported_at
FROM incident i JOIN event_category c ON c.code = i.category_code
LEFT JOIN grid g ON g.id = i.grid_id
WHERE i.community_id = :cid AND i.reported_at >= :since AND i.state <> 'voided'
GROUP BY i.category_code, c.name_zh, g.grid_code HAVING count(*) >= :n
ORDER BY count(*) DESC, i.category_code
"""
_FACILITIES = """
SELECT t.code AS type_code, t.name_zh AS type_name, t.tier, f.id, f.name,
       round(ST_Distance(f.location::geography, cm.geom::geography)::numeric, 0) AS distance_m
FROM community cm
JOIN facility f ON ST_DWithin(f.location::geography, cm.geom::geography,
                              COALESCE(:radius, (SELECT COALESCE(t2.radius_m, :default_r)
                                                 FROM facility_type t2
                                                 WHERE t2.code = f.type_code)))
JOIN facility_type t ON t.code = f.type_code
WHERE cm.id = :cid
ORDER BY t.code, distance_m, f.id LIMIT :lim
"""
_SOLVED = """
SELECT i.id, i.case_no, i.category_code AS category, c.name_zh AS category_name, i.state,
       i.address, left(i.description, 200) AS description, i.reported_at, i.closed_at,
       i.satisfaction_score, i.solved, u.name AS unit_name,
       (SELECT e.note FROM incident_event e WHERE e.incident_id = i.id
          AND e.to_state IN ('closed', 'handled') AND e.from_state <> e.to_state
          AND e.note IS NOT NULL
        ORDER BY e.at DESC, e.id DESC LIMIT 1) AS outcome
FROM incident i JOIN event_category c ON c.code = i.category_code
LEFT JOIN org_unit u ON u.id = i.unit_id
WHERE i.community_id = :cid AND i.state IN ('closed', 'evaluated')
  AND i.closed_at >= :since
ORDER BY i.closed_at DESC, i.id DESC LIMIT :lim
"""


def community(conn: Connection, scope: Scope, community_id: int) -> dict[str, Any]:
    """A community of the viewer's scope (id, code, name, street).

    Raises
    ------
    NotFound
        Unknown community.
    PermissionDenied
        Outside the scope.
    """
    row = conn.execute(sa.text(
        "SELECT cm.id, cm.code, cm.name, st.name AS street_name FROM community cm "
        "JOIN street st ON st.id = cm.street_id WHERE cm.id = :id"), {"id": community_id}
    ).mappings().first()
    if row is None:
        raise NotFound("cases.unknown_community", {"id": community_id})
    scopes.check(scope, community_id)
    return dict(row)


def communities(conn: Connection, scope: Scope) -> list[dict[str, Any]]:
    """The communities of the viewer's scope (for the page's picker)."""
    return [dict(r) for r in conn.execute(sa.text(
        "SELECT cm.id, cm.code, cm.name FROM community cm "
        "WHERE CAST(:ids AS int[]) IS NULL OR cm.id = ANY(:ids) ORDER BY cm.code"),
        {"ids": scope.ids()}).mappings()]


def services(conn: Connection, community_id: int) -> list[dict[str, Any]]:
    """The community's own service list."""
    return [dict(r) for r in conn.execute(sa.text(
        "SELECT id, name, kind, provider, contact, hours, note, updated_at, updated_by "
        "FROM community_service WHERE community_id = :cid ORDER BY kind NULLS LAST, name, id"),
        {"cid": community_id}).mappings()]


def three_lists(conn: Connection, scope: Scope, community_id: int, *,
                now: dt.datetime | None = None, recurrence_days: int = 30,
                recurrence_count: int = 3, solved_days: int = 90,
                radius_m: float | None = None) -> dict[str, Any]:
    """问题清单, 服务清单 and 解决清单 of a community.

    ``radius_m``: the life-circle distance for facilities (default: each facility type's
    radius, else :data:`DEFAULT_RADIUS_M`); recurrent problems are categories reported at
    least ``recurrence_count`` times in one grid within ``recurrence_days``.
    """
    com = community(conn, scope, community_id)
    now = now or dt.datetime.now(dt.UTC)
    p = {"cid": community_id, "closed": list(CLOSED_STATES), "lim": LIMIT}
    open_rows = [dict(r, state_label=STATE_LABELS.get(r["state"])) for r in conn.execute(
        sa.text(_OPEN), p).mappings()]
    recurrent = [dict(r) for r in conn.execute(sa.text(_RECURRENT), {
        **p, "since": now - dt.timedelta(days=recurrence_days), "n": recurrence_count}
    ).mappings()]
    facilities = [dict(r) for r in conn.execute(sa.text(_FACILITIES), {
        "cid": community_id, "radius": radius_m, "default_r": DEFAULT_RADIUS_M, "lim": LIMIT}
    ).mappings()]
    solved = [dict(r, state_label=STATE_LABELS.get(r["state"])) for r in conn.execute(
        sa.text(_SOLVED), {**p, "since": now - dt.timedelta(days=solved_days)}).mappings()]
    return {"community": com,
            "problems": {"open": open_rows, "recurrent": recurrent},
            "services": {"facilities": facilities, "own": services(conn, community_id)},
            "solved": solved}


def may_edit(scope: Scope, community_id: int) -> bool:
    """Whether the viewer may edit the community's service list."""
    if not scope.allows(community_id):
        return False
    if scope.staff is not None:
        units = scope.staff.units_for("file") | scope.staff.units_for("supervise")
        return scope.staff.covers({"community_id": community_id}, units)
    return scope.role in ("supervisor", "admin")


def _clean(data: Mapping[str, Any]) -> dict[str, Any]:
    problems: list[Problem] = []
    out: dict[str, Any] = {}
    for f in SERVICE_FIELDS:
        v = data.get(f)
        v = None if v is None else str(v).strip() or None
        if v is not None and len(v) > MAX_FIELD:
            problems.append(Problem("cases.service_too_long", {"max": MAX_FIELD}, field=f))
        out[f] = v
    if not out["name"]:
        problems.append(Problem("cases.service_name_required", {}, field="name"))
    if problems:
        raise ValidationError("cases.bad_service", problems)
    return out


def _check_edit(scope: Scope, community_id: int) -> None:
    if not may_edit(scope, community_id):
        raise PermissionDenied("cases.service_edit_denied")


def save_service(conn: Connection, scope: Scope, community_id: int, data: Mapping[str, Any],
                 *, actor: str, service_id: int | None = None) -> dict[str, Any]:
    """Add (``service_id`` None) or change an entry of the community's service list.

    Raises
    ------
    ValidationError
        No name, or a field too long (all at once).
    PermissionDenied
        The viewer may not edit this community's list.
    NotFound
        Unknown community or entry.
    """
    community(conn, scope, community_id)
    _check_edit(scope, community_id)
    row = _clean(data)
    p = {**row, "cid": community_id, "by": actor, "sid": service_id}
    if service_id is None:
        sql = ("INSERT INTO community_service (community_id, name, kind, provider, contact, "
               "hours, note, updated_by) VALUES (:cid, :name, :kind, :provider, :contact, "
               ":hours, :note, :by) RETURNING id")
    else:
        sql = ("UPDATE community_service SET name = :name, kind = :kind, provider = :provider, "
               "contact = :contact, hours = :hours, note = :note, updated_by = :by, "
               "updated_at = now() WHERE id = :sid AND community_id = :cid RETURNING id")
    new_id = conn.execute(sa.text(sql), p).scalar()
    if new_id is None:
        raise NotFound("cases.unknown_service", {"id": service_id})
    return {"id": int(new_id), "community_id": community_id, **row}


def delete_service(conn: Connection, scope: Scope, community_id: int, service_id: int
                   ) -> None:
    """Remove an entry of the community's service list (same rights as :func:`save_service`)."""
    community(conn, scope, community_id)
    _check_edit(scope, community_id)
    gone = conn.execute(sa.text(
        "DELETE FROM community_service WHERE id = :sid AND community_id = :cid RETURNING id"),
        {"sid": service_id, "cid": community_id}).scalar()
    if gone is None:
        raise NotFound("cases.unknown_service", {"id": service_id})
