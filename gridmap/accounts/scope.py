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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts import users
from gridmap.accounts.users import User
from gridmap.errors import NotFound, PermissionDenied
from gridmap.incidents import privacy, query, relocate, workflow


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


def scope_for(conn: Connection, user: User | None) -> Scope:
    """The scope of ``user`` (:data:`NOBODY` for ``None``)."""
    if user is None:
        return NOBODY
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
    get_incident(conn, scope, incident_id)
    row: dict[str, Any] = workflow.transition(conn, incident_id, to_state, **kwargs)
    return row


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

