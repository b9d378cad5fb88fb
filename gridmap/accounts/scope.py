"""Area scope: which communities a user may see and change.

A supervisor works in the streets and communities of their account; every other role
(and the CLI, unless it acts for a named user) is unrestricted. A :class:`Scope` is that
set of community ids (``None`` = the whole district), built once per request or command
with :func:`scope_for`. The functions below read or change incidents and grids *within* a
scope: the web layer and the CLI call the same ones, so the area rule cannot be bypassed
by choosing another entry point. Outside the scope they raise
:class:`~gridmap.errors.PermissionDenied` (codes ``scope.*``).

Personal data follow the same scope (:func:`masked`): a supervisor sees the reporter's
name and phone of incidents in their area; everybody else sees them masked.

Unit staff (role ``staff``, issue #13) are scoped by their posts (:mod:`gridmap.org`): they see
the cases of the areas their units serve and the cases handled by their units; they act only
where a post of theirs allows the action (:func:`gridmap.org.posts.may`): handling actions
(接单, 处置, 回退, 延期) in the case's handling unit, the others (立案, 派遣, 结案 …) in a unit
whose area covers the case. They see the reporter's personal data of the cases their unit
handles, and of their area when a post of theirs supervises (值班长, 领导).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts import users
from gridmap.accounts.users import User
from gridmap.dispatch import engine, levels
from gridmap.errors import NotFound, PermissionDenied
from gridmap.incidents import privacy, query, relocate, workflow
from gridmap.org.areas import AreaIds, unit_area_ids
from gridmap.org.posts import may
from gridmap.org.staff import posts_of


@dataclass(frozen=True)
class StaffScope:
    """What a staff user's posts allow: ``posts`` as (unit id, post) pairs and the ids of
    the streets, communities and grids each of those units serves."""

    posts: tuple[tuple[int, str], ...]
    areas: tuple[tuple[int, AreaIds], ...]

    @property
    def unit_ids(self) -> frozenset[int]:
        """The user's units."""
        return frozenset(u for u, _ in self.posts)

    def units_for(self, action: str) -> frozenset[int]:
        """The units in which a post of the user allows ``action``."""
        return frozenset(u for u, p in self.posts if may([p], action))

    def covers(self, row: Mapping[str, Any], units: frozenset[int]) -> bool:
        """Whether the case ``row`` is handled by one of ``units`` or lies in their areas."""
        if row.get("unit_id") in units:
            return True
        for unit, a in self.areas:
            if unit in units and (row.get("street_id") in a.street_ids
                                  or row.get("community_id") in a.community_ids
                                  or row.get("grid_id") in a.grid_ids):
                return True
        return False


@dataclass(frozen=True)
class Scope:
    """The communities a user may see and change.

    Parameters
    ----------
    community_ids:
        ``None`` for the whole district; otherwise the allowed community ids (an empty
        set: a scoped user whose area has no community loaded, who sees nothing).
    role:
        The acting role (decides whether personal data may be shown); ``None`` for an
        anonymous caller.
    """

    community_ids: frozenset[int] | None = None
    role: str | None = None
    staff: StaffScope | None = None

    @property
    def unrestricted(self) -> bool:
        """True for the whole district."""
        return self.community_ids is None

    def allows(self, community_id: int | None) -> bool:
        """Whether a community (an object's ``community_id``) is inside the scope."""
        return self.community_ids is None or community_id in self.community_ids

    def ids(self) -> list[int] | None:
        """The community ids as a sorted list (``None`` for the whole district)."""
        return None if self.community_ids is None else sorted(self.community_ids)

    def restrict(self, filters: Mapping[str, Any]) -> dict[str, Any]:
        """Incident filters (:func:`gridmap.incidents.query.list_incidents`) limited to the scope."""
        out = dict(filters)
        if self.community_ids is not None:
            out["community_ids"] = self.ids()
        return out


ALL = Scope()
"""The unrestricted scope (the CLI without a user, administrators)."""
NOBODY = Scope(frozenset(), role=None)
"""An anonymous caller: no community, no personal data."""


def staff_scope(conn: Connection, user_id: int) -> Scope:
    """The scope of a staff user: their posts and the areas of their units."""
    posts = posts_of(conn, user_id)
    areas = tuple((u, unit_area_ids(conn, u)) for u in sorted({p.unit_id for p in posts}))
    communities = {c for _, a in areas for c in a.community_ids}
    if any(a.grid_ids for _, a in areas):
        communities |= {int(r[0]) for r in conn.execute(sa.text(
            "SELECT DISTINCT community_id FROM grid WHERE id = ANY(:g)"),
            {"g": [g for _, a in areas for g in a.grid_ids]})}
    return Scope(frozenset(communities), role="staff",
                 staff=StaffScope(tuple((p.unit_id, p.post) for p in posts), areas))


def scope_for(conn: Connection, user: User | None) -> Scope:
    """The scope of ``user`` (:data:`NOBODY` for ``None``; posts and units for staff)."""
    if user is None:
        return NOBODY
    if user.role == "staff":
        return staff_scope(conn, user.id)
    ids = users.scope_community_ids(conn, user)
    return Scope(None if ids is None else frozenset(ids), role=user.role)


def check(scope: Scope, community_id: int | None, what: str = "incident") -> None:
    """Raise :class:`PermissionDenied` (``scope.<what>_outside``) outside the scope.

    ``what`` is ``incident``, ``grid`` or ``target_grid`` (the grid an incident would move to).
    """
    if scope.allows(community_id):
        return
    if what == "grid":
        raise PermissionDenied("scope.grid_outside")
    if what == "target_grid":
        raise PermissionDenied("scope.target_grid_outside")
    raise PermissionDenied("scope.incident_outside")


def masked(row: Mapping[str, Any], scope: Scope) -> dict[str, Any]:
    """An incident row with the reporter's name and phone masked unless the scope's role
    may see them for this incident (supervisors of its area)."""
    if scope.role is None:
        return privacy.masked_for(row, role=None)
    if scope.staff is not None:
        st = scope.staff
        if row.get("unit_id") in st.unit_ids or st.covers(
                {**row, "unit_id": None}, st.units_for("supervise")):
            return dict(row)
        return privacy.masked_for(row, role=None)
    if scope.community_ids is None:
        return privacy.masked_for(row, role=scope.role, street_ids=None, community_ids=None)
    return privacy.masked_for(row, role=scope.role, street_ids=(),
                                community_ids=scope.ids())


# --------------------------------------------------------------------------- incidents


def get_incident(conn: Connection, scope: Scope, incident_id: int) -> dict[str, Any]:
    """One incident (unmasked row) if it lies in the scope.

    Raises
    ------
    NotFound
        Unknown incident.
    PermissionDenied
        The incident is outside the scope.
    """
    row = dict(query.get(conn, incident_id))
    d = engine.view(conn, incident_id)
    row.update({k: d[k] for k in ("unit_id", "proposed_unit_id", "level", "accept_due_at",
                                  "accepted_at", "lock_version")})
    if scope.staff is not None:
        if not scope.staff.covers(row, scope.staff.unit_ids):
            raise PermissionDenied("scope.incident_outside")
        return row
    check(scope, row.get("community_id"))
    return row


def list_incidents(conn: Connection, scope: Scope, filters: Mapping[str, Any], page: int,
                   page_size: int) -> dict[str, Any]:
    """:func:`gridmap.incidents.query.list_incidents` limited to the scope."""
    result: dict[str, Any] = query.list_incidents(conn, scope.restrict(filters), page,
                                                  page_size)
    return result


def transition(conn: Connection, scope: Scope, incident_id: int, to_state: str,
               **kwargs: Any) -> dict[str, Any]:
    """Move an incident of the scope to ``to_state``
    (:func:`gridmap.incidents.workflow.transition`; keyword arguments are passed on)."""
    check_action(scope, get_incident(conn, scope, incident_id), to_state)
    row: dict[str, Any] = workflow.transition(conn, incident_id, to_state, **kwargs)
    return row


# --------------------------------------------------------------------------- dispatch

HANDLING_ACTIONS: tuple[str, ...] = ("accept", "handle", "return", "extend")
"""Actions a staff user takes only in the case's handling unit."""
CASE_ROLES: tuple[str, ...] = ("staff", "supervisor", "officer", "admin")
"""Roles that act on cases (planners read plans, not cases)."""


def _check_role(scope: Scope, action: str) -> None:
    if scope.role is not None and scope.role not in CASE_ROLES:
        raise PermissionDenied("scope.post_denied", {"action": action})


def action_for(frm: str, to_state: str) -> str:
    """The post action (:data:`gridmap.org.posts.ACTIONS`) a transition needs."""
    if to_state == "dispatched":
        return "redispatch" if frm == "returned" else "dispatch"
    if to_state == "handling":
        return "accept" if frm == "dispatched" else "handle"
    return {"filed": "file", "voided": "void", "returned": "return", "extended": "extend",
            "parked": "park", "handled": "handle", "rework": "check", "closed": "close",
            "evaluated": "evaluate"}.get(to_state, "handle")


def check_action(scope: Scope, row: Mapping[str, Any], to_state: str) -> None:
    """Raise :class:`PermissionDenied` (``scope.post_denied``) unless a staff user's posts
    allow the transition of case ``row`` to ``to_state`` (other roles: the area check of
    :func:`get_incident` is enough)."""
    action = action_for(row.get("state") or row.get("status") or "", to_state)
    _check_role(scope, action)
    if scope.staff is None:
        return
    units = scope.staff.units_for(action)
    if action == "close" and (row.get("state") or row.get("status")) == "handled":
        units |= scope.staff.units_for("check")  # 核查结案: the on-site check (网格员/监督员) closes
    ok = (row.get("unit_id") in units if action in HANDLING_ACTIONS
          else scope.staff.covers(row, units))
    if not ok:
        raise PermissionDenied("scope.post_denied", {"action": action})


def dispatch_act(conn: Connection, scope: Scope, incident_id: int, to_state: str,
                 **kwargs: Any) -> dict[str, Any]:
    """A case step through the dispatch engine (:func:`gridmap.dispatch.engine.act`: 立案 with
    the proposed unit, 派遣/改派, 接单, 回退 …) inside the scope and the user's posts."""
    check_action(scope, get_incident(conn, scope, incident_id), to_state)
    return engine.act(conn, incident_id, to_state, **kwargs)


def raise_level(conn: Connection, scope: Scope, incident_id: int, **kwargs: Any
                ) -> dict[str, Any]:
    """社区呼叫: raise a case of the scope one level
    (:func:`gridmap.dispatch.levels.raise_level`). Staff need a post that handles the case in
    its unit, or dispatches or supervises in its area."""
    _check_role(scope, "raise_level")
    row = get_incident(conn, scope, incident_id)
    if scope.staff is not None:
        st = scope.staff
        if not (row.get("unit_id") in st.units_for("handle")
                or st.covers(row, st.units_for("dispatch") | st.units_for("supervise"))):
            raise PermissionDenied("scope.post_denied", {"action": "raise_level"})
    return levels.raise_level(conn, incident_id, **kwargs)


def location_candidates(conn: Connection, scope: Scope, incident_id: int
                        ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The incident (in the scope) and the grids it may be confirmed in."""
    row = get_incident(conn, scope, incident_id)
    return row, relocate.boundary_candidates(conn, incident_id)


def confirm_location(conn: Connection, scope: Scope, incident_id: int, *, actor: str,
                     grid_id: int | None = None, note: str | None = None) -> dict[str, Any]:
    """Confirm an incident's grid or move it to a candidate grid, both inside the scope
    (:func:`gridmap.incidents.relocate.confirm_location`).

    Raises
    ------
    PermissionDenied
        The incident, or the grid it would move to, is outside the scope.
    """
    get_incident(conn, scope, incident_id)
    if grid_id is not None and not scope.unrestricted:
        for cand in relocate.boundary_candidates(conn, incident_id):
            if cand["grid_id"] == grid_id:
                check(scope, cand["community_id"], "target_grid")
    out: dict[str, Any] = relocate.confirm_location(conn, incident_id, actor=actor,
                                                    grid_id=grid_id, note=note)
    check(scope, out.get("community_id"), "target_grid")
    return out


# --------------------------------------------------------------------------- grids


def get_grid(conn: Connection, scope: Scope, grid_id: int) -> dict[str, Any]:
    """A grid (``id, grid_code, name, community_id``) if it lies in the scope.

    Raises
    ------
    NotFound
        Unknown grid.
    PermissionDenied
        The grid's community is outside the scope.
    """
    row = conn.execute(
        sa.text("SELECT id, grid_code, name, community_id FROM grid WHERE id = :id"),
        {"id": grid_id}).mappings().first()
    if row is None:
        raise NotFound("scope.unknown_grid", {"grid": grid_id})
    check(scope, row["community_id"], "grid")
    return dict(row)

