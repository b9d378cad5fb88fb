"""Who sees which 督办 entries, notifications and unit/post indicators.

A :class:`Viewer` is built once per request or command (:func:`viewer_for`) and passed to the
library functions of this package, so the CLI and the API apply the same rule:

- ``admin`` and accounts whose area scope is the whole district (officers, planners, the CLI
  without ``--user``) see everything;
- a street/community **supervisor** sees the cases of their communities
  (:func:`gridmap.accounts.users.scope_community_ids`) and the units serving their streets
  and communities (``org_unit_area``) with those units' sub-units;
- **unit staff** (role ``staff``) see the cases handled by their units (every unit they hold
  an active post in, with its sub-units) or lying in the streets/communities those units
  serve (as :func:`gridmap.accounts.scope.scope_for`), and those units.

Everybody additionally sees the units they hold posts in, with their sub-units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts import users
from gridmap.accounts.users import User
from gridmap.errors import PermissionDenied


@dataclass(frozen=True)
class Viewer:
    """What one user may see (``None`` = everything of that kind)."""

    user_id: int | None = None
    unit_ids: frozenset[int] | None = None
    community_ids: frozenset[int] | None = None

    @property
    def unrestricted(self) -> bool:
        """True for the whole district."""
        return self.unit_ids is None and self.community_ids is None

    def case_filter(self, alias: str = "i") -> tuple[str, dict[str, Any]]:
        """SQL condition (bound parameters) on incident ``alias`` for the visible cases."""
        if self.unrestricted:
            return "true", {}
        return (f"({alias}.community_id = ANY(:v_comms) OR {alias}.unit_id = ANY(:v_units))",
                {"v_comms": sorted(self.community_ids or ()),
                 "v_units": sorted(self.unit_ids or ())})

    def allows_unit(self, unit_id: int) -> bool:
        """Whether the viewer may see unit ``unit_id`` (its 督办 list, indicators)."""
        return self.unit_ids is None or unit_id in self.unit_ids


ALL = Viewer()
"""The unrestricted viewer (CLI without a user, administrators)."""

_SUBTREE = """
WITH RECURSIVE roots AS (
    SELECT p.unit_id AS id FROM staff_post p WHERE p.user_id = :uid AND p.active
    UNION
    SELECT a.unit_id FROM org_unit_area a
    LEFT JOIN community c ON a.area_level = 'community' AND c.code = a.area_code
    LEFT JOIN street s ON a.area_level = 'street' AND s.code = a.area_code
    WHERE :supervisor AND (c.id = ANY(:comms) OR s.id IN (
        SELECT street_id FROM community WHERE id = ANY(:comms)))
), tree AS (
    SELECT id FROM roots
    UNION
    SELECT u.id FROM org_unit u JOIN tree t ON u.parent_id = t.id
)
SELECT id FROM tree
"""
_SERVED = """
SELECT c.id FROM staff_post p JOIN org_unit_area a ON a.unit_id = p.unit_id
JOIN community c ON (a.area_level = 'community' AND c.code = a.area_code)
  OR (a.area_level = 'street' AND c.street_id IN (SELECT id FROM street WHERE code = a.area_code))
WHERE p.user_id = :uid AND p.active
"""


def viewer_for(conn: Connection, user: User | None) -> Viewer:
    """The viewer of ``user`` (nothing visible for ``None``)."""
    if user is None:
        return Viewer(None, frozenset(), frozenset())
    comms = users.scope_community_ids(conn, user)
    if user.role == "admin" or (comms is None and user.role != "staff"):
        return Viewer(user.id)
    comm_set = frozenset(comms or ())
    if user.role == "staff":  # the cases in the areas their units serve, as accounts.scope
        comm_set |= {int(r[0]) for r in conn.execute(sa.text(_SERVED), {"uid": user.id})}
    units = frozenset(int(r[0]) for r in conn.execute(sa.text(_SUBTREE), {
        "uid": user.id, "supervisor": user.role == "supervisor", "comms": sorted(comm_set)}))
    return Viewer(user.id, units, comm_set)


def check_unit(viewer: Viewer, unit_id: int) -> None:
    """Raise :class:`PermissionDenied` (``supervise.unit_outside``) for a unit not visible."""
    if not viewer.allows_unit(unit_id):
        raise PermissionDenied("supervise.unit_outside", {"unit": unit_id})
