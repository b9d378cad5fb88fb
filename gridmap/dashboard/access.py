"""Who may open the district dashboard (一屏观天下).

Supervisors and administrators, and unit staff holding a post that supervises (领导
``leader``, 值班长 ``shift_lead``: :func:`gridmap.org.posts.may` with ``supervise``). Each sees
their own area (:func:`gridmap.accounts.scope.scope_for`).
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from gridmap.accounts.users import User
from gridmap.errors import PermissionDenied
from gridmap.org.posts import may
from gridmap.org.staff import posts_of

ROLES: tuple[str, ...] = ("admin", "supervisor")
"""Roles that always see the dashboard (of their area)."""


def may_view(conn: Connection, user: User | None) -> bool:
    """Whether ``user`` may open the dashboard."""
    if user is None:
        return False
    if user.role in ROLES:
        return True
    if user.role != "staff":
        return False
    return may([p.post for p in posts_of(conn, user.id)], "supervise")


def check_view(conn: Connection, user: User | None) -> None:
    """Raise :class:`PermissionDenied` (``dashboard.not_allowed``) unless :func:`may_view`."""
    if not may_view(conn, user):
        raise PermissionDenied("dashboard.not_allowed")
