"""The areas units serve: area codes resolved to street/community/grid ids, and the units
serving a place (属地: narrowest area first).

Areas are stored by code (``org_unit_area``): codes survive boundary and grid generations,
ids do not. Resolution goes downwards: a district covers its streets, a street its
communities, a community the grids of its **active** grid version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import NotFound
from gridmap.org.unit_input import Area


@dataclass(frozen=True)
class AreaIds:
    """Ids of the streets, communities and (active-version) grids inside some areas."""

    street_ids: tuple[int, ...]
    community_ids: tuple[int, ...]
    grid_ids: tuple[int, ...]


@dataclass(frozen=True)
class Serving:
    """A unit serving a place, and the level of the area through which it does."""

    unit_id: int
    unit_code: str
    kind: str
    line: str
    area_level: str


_RESOLVE = (
    "WITH a(level, code) AS (SELECT * FROM unnest(CAST(:l AS text[]), CAST(:c AS text[]))),"
    " st AS (SELECT s.id FROM street s JOIN district d ON d.id = s.district_id"
    "  JOIN a ON a.level = 'district' AND a.code = d.code"
    "  UNION SELECT s.id FROM street s JOIN a ON a.level = 'street' AND a.code = s.code),"
    " cm AS (SELECT c.id FROM community c WHERE c.street_id IN (SELECT id FROM st)"
    "  UNION SELECT c.id FROM community c JOIN a ON a.level = 'community' AND a.code = c.code),"
    " gr AS (SELECT gg.grid_id AS id FROM grid_geometry gg"
    "  JOIN grid_version v ON v.id = gg.version_id AND v.status = 'active'"
    "  WHERE v.community_id IN (SELECT id FROM cm)"
    "  UNION SELECT g.id FROM grid g JOIN a ON a.level = 'grid' AND a.code = g.grid_code)"
    " SELECT ARRAY(SELECT id FROM st ORDER BY id), ARRAY(SELECT id FROM cm ORDER BY id),"
    "  ARRAY(SELECT id FROM gr ORDER BY id)")


def resolve_areas(conn: Connection, areas: Sequence[Area]) -> AreaIds:
    """Street, community and grid ids inside ``areas`` (one query). Unknown codes add nothing."""
    row = conn.execute(sa.text(_RESOLVE), {"l": [a.level for a in areas],
                                           "c": [a.code for a in areas]}).one()
    return AreaIds(tuple(row[0]), tuple(row[1]), tuple(row[2]))


def unit_area_ids(conn: Connection, unit_id: int) -> AreaIds:
    """The ids inside the areas unit ``unit_id`` serves."""
    rows = conn.execute(sa.text("SELECT area_level, area_code FROM org_unit_area"
                                " WHERE unit_id = :u"), {"u": unit_id}).all()
    return resolve_areas(conn, [Area(r[0], r[1]) for r in rows])


_PLACE = {
    "grid": "SELECT g.grid_code AS grid, c.code AS community, s.code AS street,"
            " d.code AS district FROM grid g JOIN community c ON c.id = g.community_id"
            " JOIN street s ON s.id = c.street_id JOIN district d ON d.id = s.district_id"
            " WHERE g.grid_code = :code",
    "community": "SELECT NULL AS grid, c.code AS community, s.code AS street,"
                 " d.code AS district FROM community c JOIN street s ON s.id = c.street_id"
                 " JOIN district d ON d.id = s.district_id WHERE c.code = :code",
    "street": "SELECT NULL AS grid, NULL AS community, s.code AS street, d.code AS district"
              " FROM street s JOIN district d ON d.id = s.district_id WHERE s.code = :code",
}


def units_serving(conn: Connection, level: str, code: str, *, kind: str | None = None,
                  line: str | None = None) -> list[Serving]:
    """Active units whose areas contain the place (``level`` grid/community/street,
    ``code``), narrowest area first (grid, community, street, district), then by unit code.

    Raises NotFound for an unknown place.
    """
    if level not in _PLACE:
        raise NotFound("org.unknown_place", {"level": level, "code": code})
    place = conn.execute(sa.text(_PLACE[level]), {"code": code}).first()  # noqa: S608
    if place is None:
        raise NotFound("org.unknown_place", {"level": level, "code": code})
    m = place._mapping
    rows = conn.execute(sa.text(
        "SELECT u.id, u.code, u.kind, u.line, a.area_level FROM org_unit_area a"
        " JOIN org_unit u ON u.id = a.unit_id AND u.active"
        " WHERE ((a.area_level = 'grid' AND a.area_code = :g)"
        "  OR (a.area_level = 'community' AND a.area_code = :c)"
        "  OR (a.area_level = 'street' AND a.area_code = :s)"
        "  OR (a.area_level = 'district' AND a.area_code = :d))"
        " AND (CAST(:k AS text) IS NULL OR u.kind = :k)"
        " AND (CAST(:ln AS text) IS NULL OR u.line = :ln)"
        " ORDER BY array_position(ARRAY['grid','community','street','district'],"
        "  a.area_level::text), u.code"),
        {"g": m["grid"], "c": m["community"], "s": m["street"], "d": m["district"],
         "k": kind, "ln": line})
    return [Serving(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]
