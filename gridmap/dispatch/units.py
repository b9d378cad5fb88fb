"""Which unit answers for a case at a handling level (属地: the 块 unit of the case's place).

Written against the ``org_unit`` / ``org_unit_area`` tables (migration 0013): a 块 (``kuai``)
unit at a level serves areas by code (``org_unit_area``). For a case at level

- ``grid``: the grid's unit, else the community's;
- ``community``: the community's unit (居委会 / 社区工作站), else the street's;
- ``street``: the street centre (综治中心 / 网格化中心: a street-level 块 unit of the case's
  street, one whose kind names a centre first), else the district's;
- ``district``: the district unit of the street's district, else the street centre's parent,
  else the top 块 unit.

Set-based: one statement for any number of cases (:func:`units_at_levels`).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.dispatch.params import LEVELS

# The street centre of every street, one row per street (centre kinds first).
STREET_CENTRE_CTE = """
street_centre AS (
    SELECT DISTINCT ON (s.id) s.id AS street_id, u.id AS unit_id, u.parent_id
    FROM street s
    JOIN org_unit_area a ON a.area_level = 'street' AND a.area_code = s.code
    JOIN org_unit u ON u.id = a.unit_id AND u.active AND u.line = 'kuai' AND u.level = 'street'
    ORDER BY s.id, (u.kind ILIKE '%centre%' OR u.kind LIKE '%中心%') DESC, u.id
),
top_unit AS (
    SELECT id AS unit_id FROM org_unit
    WHERE active AND line = 'kuai' AND level = 'district'
    ORDER BY parent_id NULLS FIRST, id LIMIT 1
)"""


def _area_unit(level: str, code_expr: str) -> str:
    """Scalar subquery: the 块 unit at ``level`` serving the area whose code is ``code_expr``
    (both constants of this module, never input)."""
    sql = ("(SELECT u.id FROM org_unit_area a JOIN org_unit u ON u.id = a.unit_id "
           "AND u.active AND u.line = 'kuai' AND u.level = 'LEVEL' "
           "WHERE a.area_level = 'LEVEL' AND a.area_code = CODE ORDER BY u.id LIMIT 1)")
    return sql.replace("LEVEL", level).replace("CODE", code_expr)


UNITS_AT_LEVELS_SQL = f"""
WITH {STREET_CENTRE_CTE},
t AS (SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:levels AS text[])) AS t(id, lvl))
SELECT t.id, t.lvl, COALESCE(
    CASE WHEN t.lvl = 'grid' THEN {_area_unit('grid', 'g.grid_code')} END,
    CASE WHEN t.lvl IN ('grid', 'community') THEN {_area_unit('community', 'c.code')} END,
    CASE WHEN t.lvl IN ('grid', 'community', 'street') THEN sc.unit_id END,
    {_area_unit('district', 'd.code')},
    sc.parent_id,
    (SELECT unit_id FROM top_unit)) AS unit_id
FROM t
JOIN incident i ON i.id = t.id
LEFT JOIN grid g ON g.id = i.grid_id
LEFT JOIN community c ON c.id = i.community_id
LEFT JOIN street s ON s.id = i.street_id
LEFT JOIN district d ON d.id = s.district_id
LEFT JOIN street_centre sc ON sc.street_id = i.street_id
"""  # noqa: S608  (constant fragments only)


def units_at_levels(conn: Connection, incident_ids: Sequence[int], levels: Sequence[str]
                    ) -> dict[int, int | None]:
    """The unit answering for each case at the given level (one statement for all).

    Parameters
    ----------
    incident_ids, levels:
        Parallel sequences: a case and the level (:data:`LEVELS`) to find its unit at.

    Returns
    -------
    dict
        incident id → unit id (``None`` only when no 块 unit exists at all).
    """
    if not incident_ids:
        return {}
    bad = [lvl for lvl in levels if lvl not in LEVELS]
    if bad:
        raise ValueError(f"unknown levels {bad}")
    rows = conn.execute(sa.text(UNITS_AT_LEVELS_SQL),
                        {"ids": list(incident_ids), "levels": list(levels)}).all()
    return {int(r.id): (None if r.unit_id is None else int(r.unit_id)) for r in rows}


def unit_exists(conn: Connection, unit_id: int) -> bool:
    """Whether an active unit with this id exists."""
    return conn.execute(sa.text("SELECT 1 FROM org_unit WHERE id = :u AND active"),
                        {"u": unit_id}).first() is not None


def unit_ids_by_code(conn: Connection, codes: Sequence[str]) -> dict[str, int]:
    """Active units by code (unknown codes are absent)."""
    rows = conn.execute(sa.text("SELECT code, id FROM org_unit WHERE active AND code = ANY(:c)"),
                        {"c": list(codes)}).all()
    return {str(r.code): int(r.id) for r in rows}
