"""The area of a profile: a community (居委会) or a street (街道) by its code."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import NotFound, PermissionDenied

_AREA_SQL = sa.text("""
SELECT 'community' AS level, c.id, c.code, c.name, s.code AS street_code,
       s.name AS street_name, ARRAY[c.id] AS community_ids
FROM community c JOIN street s ON s.id = c.street_id WHERE c.code = :code
UNION ALL
SELECT 'street', s.id, s.code, s.name, s.code, s.name,
       COALESCE((SELECT array_agg(c.id ORDER BY c.code) FROM community c
                 WHERE c.street_id = s.id), ARRAY[]::int[])
FROM street s WHERE s.code = :code
""")


@dataclass(frozen=True)
class Area:
    """A community or street with the ids of its communities."""

    level: str
    id: int
    code: str
    name: str
    street_code: str
    street_name: str
    community_ids: tuple[int, ...]

    def as_dict(self) -> dict[str, object]:
        """The area for a report (``community_ids`` left out)."""
        return {"level": self.level, "code": self.code, "name": self.name,
                "street_code": self.street_code, "street_name": self.street_name}


def resolve(conn: Connection, code: str, allowed: frozenset[int] | None = None) -> Area:
    """The community or street with ``code``.

    Parameters
    ----------
    conn:
        Connection.
    code:
        A community (12-digit) or street (9-digit) code.
    allowed:
        Community ids the caller may see (None: everything); a street needs all of its
        communities.

    Raises
    ------
    NotFound
        No community or street has the code (``profiles.unknown_area``).
    PermissionDenied
        Part of the area is outside ``allowed`` (``profiles.outside_scope``).
    """
    row = conn.execute(_AREA_SQL, {"code": str(code).strip()}).mappings().first()
    if row is None:
        raise NotFound("profiles.unknown_area", {"code": code})
    area = Area(row["level"], int(row["id"]), row["code"], row["name"], row["street_code"],
                row["street_name"], tuple(int(i) for i in row["community_ids"]))
    if allowed is not None and not set(area.community_ids) <= allowed:
        raise PermissionDenied("profiles.outside_scope", {"code": area.code})
    return area
