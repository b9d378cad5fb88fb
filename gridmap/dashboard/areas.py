"""The area a dashboard shows: the district, a street, a community or a grid, inside the
viewer's scope, with its breadcrumb and the SQL condition on ``incident`` it stands for.

Drill-down goes district → street → community → grid; the rankings list the next level
down (:attr:`Area.child_level`). A scoped viewer whose communities all lie in one street opens on that street (on the
community when they have one community of a larger street): their dashboard is their area.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts.scope import Scope
from gridmap.errors import NotFound, PermissionDenied

LEVELS: tuple[str, ...] = ("district", "street", "community", "grid")
CHILD: dict[str, str | None] = {"district": "street", "street": "community",
                                "community": "grid", "grid": None}
COLUMN: dict[str, str] = {"street": "street_id", "community": "community_id", "grid": "grid_id"}
"""incident column of each level."""
TABLE: dict[str, tuple[str, str]] = {"street": ("street", "code"),
                                     "community": ("community", "code"),
                                     "grid": ("grid", "grid_code")}
"""(table, code column) of each level."""

_FIND = """
SELECT 'grid' AS level, g.id, g.grid_code AS code, COALESCE(g.name, g.grid_code) AS name,
       c.id AS community_id, c.code AS community_code, c.name AS community_name,
       s.id AS street_id, s.code AS street_code, s.name AS street_name
FROM grid g JOIN community c ON c.id = g.community_id JOIN street s ON s.id = c.street_id
WHERE g.grid_code = :code
UNION ALL
SELECT 'community', c.id, c.code, c.name, c.id, c.code, c.name, s.id, s.code, s.name
FROM community c JOIN street s ON s.id = c.street_id WHERE c.code = :code
UNION ALL
SELECT 'street', s.id, s.code, s.name, NULL, NULL, NULL, s.id, s.code, s.name
FROM street s WHERE s.code = :code
"""


@dataclass(frozen=True)
class Area:
    """One area of the dashboard.

    ``trail`` is the breadcrumb from the district down to this area (each ``level``,
    ``code``, ``name``); ``community_ids`` the communities the viewer sees inside it
    (``None``: every community of the area).
    """

    level: str
    id: int | None = None
    code: str | None = None
    name: str | None = None
    trail: tuple[dict[str, Any], ...] = ()
    community_ids: frozenset[int] | None = None

    @property
    def child_level(self) -> str | None:
        """The level the rankings and map of this area list."""
        return CHILD[self.level]

    def case_sql(self, alias: str = "i") -> tuple[str, dict[str, Any]]:
        """SQL condition (bound parameters) on incident ``alias`` for this area and scope."""
        parts: list[str] = ["true"]
        params: dict[str, Any] = {}
        if self.level != "district":
            parts.append(f"{alias}.{COLUMN[self.level]} = :a_id")
            params["a_id"] = self.id
        if self.community_ids is not None:
            parts.append(f"{alias}.community_id = ANY(:a_comms)")
            params["a_comms"] = sorted(self.community_ids)
        return " AND ".join(parts), params

    def to_json(self) -> dict[str, Any]:
        """The area for the page: level, code, name, breadcrumb, next level."""
        return {"level": self.level, "code": self.code, "name": self.name,
                "trail": list(self.trail), "child_level": self.child_level}


def _default_code(conn: Connection, scope: Scope) -> str | None:
    """The street (or single community) a scoped viewer opens on; ``None``: the district."""
    ids = scope.ids()
    if not ids:
        return None
    rows = conn.execute(sa.text(
        "SELECT s.code, array_agg(c.code ORDER BY c.code) FILTER (WHERE c.id = ANY(:ids)), "
        "count(*) FILTER (WHERE c.id = ANY(:ids)) = count(*) FROM street s "
        "JOIN community c ON c.street_id = s.id "
        "WHERE s.id IN (SELECT street_id FROM community WHERE id = ANY(:ids)) GROUP BY s.code"),
        {"ids": ids}).all()
    if len(rows) != 1:
        return None
    street, mine, whole = rows[0]
    return str(street) if whole or len(mine) > 1 else str(mine[0])


def _trail(r: Any) -> tuple[dict[str, Any], ...]:
    out = [{"level": "district", "code": None, "name": None}]
    out.append({"level": "street", "code": r["street_code"], "name": r["street_name"]})
    if r["level"] in ("community", "grid"):
        out.append({"level": "community", "code": r["community_code"],
                    "name": r["community_name"]})
    if r["level"] == "grid":
        out.append({"level": "grid", "code": r["code"], "name": r["name"]})
    return tuple(out)


def _visible(conn: Connection, scope: Scope, r: Any) -> frozenset[int] | None:
    """The scope's communities inside the area; raise if the viewer sees none of it."""
    if scope.community_ids is None:
        return None
    if r["level"] == "street":
        inside = frozenset(int(x[0]) for x in conn.execute(sa.text(
            "SELECT id FROM community WHERE street_id = :s AND id = ANY(:ids)"),
            {"s": r["street_id"], "ids": sorted(scope.community_ids)}))
    else:
        inside = scope.community_ids & {int(r["community_id"])}
    if not inside:
        raise PermissionDenied("dashboard.area_outside", {"code": r["code"]})
    return frozenset(inside)


def resolve(conn: Connection, scope: Scope, code: str | None = None) -> Area:
    """The area with ``code`` (a street, community or grid code; ``None``: the viewer's
    whole area) as the viewer ``scope`` may see it.

    Raises
    ------
    NotFound
        ``dashboard.unknown_area``: no street, community or grid has this code.
    PermissionDenied
        ``dashboard.area_outside``: the area lies outside the viewer's scope.
    """
    code = (code or "").strip() or _default_code(conn, scope)
    if code is None:
        return Area("district", trail=({"level": "district", "code": None, "name": None},),
                    community_ids=scope.community_ids)
    r = conn.execute(sa.text(_FIND), {"code": code}).mappings().first()
    if r is None:
        raise NotFound("dashboard.unknown_area", {"code": code})
    return Area(r["level"], int(r["id"]), r["code"], r["name"], _trail(r),
                _visible(conn, scope, r))
