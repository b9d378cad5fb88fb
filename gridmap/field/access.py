"""Who may see and add the photos of a case: whoever may see the case
(:func:`gridmap.accounts.scope.get_incident`, case roles only), and the account that
reported it from the field page. Nobody else learns that a photo exists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts import scope as scopes
from gridmap.accounts.scope import CASE_ROLES, Scope
from gridmap.errors import IllegalTransition, NotFound, PermissionDenied
from gridmap.incidents import query
from gridmap.incidents.states import CLOSED_STATES, STATE_LABELS
from gridmap.media import photos as media
from gridmap.media.images import MediaParams


def visible_case(conn: Connection, scope: Scope, user_id: int | None, incident_id: int
                 ) -> dict[str, Any]:
    """The case if the user may see it.

    Raises
    ------
    NotFound
        Unknown case.
    PermissionDenied
        Outside the user's scope (and not their own field report), or not a case role.
    """
    try:
        if scope.role is not None and scope.role not in CASE_ROLES:
            raise PermissionDenied("scope.incident_outside")
        return scopes.get_incident(conn, scope, incident_id)
    except PermissionDenied:
        mine = user_id is not None and conn.execute(sa.text(
            "SELECT 1 FROM incident WHERE id = :i AND reported_by = :u"),
            {"i": incident_id, "u": user_id}).first() is not None
        if not mine:
            raise
        return query.get(conn, incident_id)


def case_photos(conn: Connection, scope: Scope, user_id: int | None, incident_id: int
                ) -> list[dict[str, Any]]:
    """The photos of a case the user may see (before, then after)."""
    visible_case(conn, scope, user_id, incident_id)
    return media.list_photos(conn, [incident_id])


def add_case_photos(conn: Connection, scope: Scope, user_id: int | None, incident_id: int,
                    files: list[bytes], *, stage: str, actor: str, params: MediaParams,
                    root: Path) -> list[dict[str, Any]]:
    """Add 1–6 photos to an open case the user may see (``after``: 处置/核查 photos).

    Raises
    ------
    IllegalTransition
        ``media.case_closed``: the case is closed, evaluated or voided.
    """
    row = visible_case(conn, scope, user_id, incident_id)
    if row["state"] in CLOSED_STATES:
        raise IllegalTransition("media.case_closed", {"state": STATE_LABELS[row["state"]]})
    return media.add_photos(conn, incident_id, files, stage=stage, uploaded_by=actor,
                            params=params, root=root)


def photo(conn: Connection, scope: Scope, user_id: int | None, photo_id: int
          ) -> dict[str, Any]:
    """A photo's row (with its path) if the user may see its case; otherwise
    :class:`NotFound` (``media.not_found``), as for a photo that does not exist."""
    row = media.get_photo(conn, photo_id)
    try:
        visible_case(conn, scope, user_id, int(row["incident_id"]))
    except (PermissionDenied, NotFound):
        raise NotFound("media.not_found", {"id": photo_id}) from None
    return row
