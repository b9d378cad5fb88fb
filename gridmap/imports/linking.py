"""Links between levels that are found by position: building → estate, and buildings,
estates and street blocks → community.

Imports arrive in any order: OSM buildings before the communities' boundaries, estates after
buildings. Each link is set where it is still missing, with one statement per table (the
point-on-surface of the unit decides; the lowest id wins ties), after every import that can
complete it: ``gridmap import osm``, ``gridmap import boundaries community|estate`` and the
sample loader. Links that are already set are never overwritten here (a redrawn community
boundary does not silently move buildings between communities and their grids).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

UNIT_TABLES = ("building", "estate", "street_block")

_LINK_ESTATES_SQL = sa.text(
    """
    UPDATE building b SET estate_id = x.estate_id
    FROM (
        SELECT DISTINCT ON (b2.id) b2.id, e.id AS estate_id
        FROM building b2
        JOIN estate e ON ST_Intersects(e.geom, ST_PointOnSurface(b2.geom))
        WHERE b2.estate_id IS NULL
        ORDER BY b2.id, ST_Area(e.geom), e.id
    ) AS x
    WHERE b.id = x.id
    """
)


def link_buildings_to_estates(conn: Connection) -> int:
    """Set ``building.estate_id`` where unset: the smallest estate holding its point-on-surface.

    One statement; returns the number of buildings linked.
    """
    with conn.begin_nested():
        return int(conn.execute(_LINK_ESTATES_SQL).rowcount or 0)


def link_to_communities(conn: Connection) -> dict[str, int]:
    """Set ``community_id`` of buildings, estates and street blocks where unset.

    Each row gets the community holding its point-on-surface (lowest id on ties). One
    statement per table; returns the number of rows linked per table.
    """
    out: dict[str, int] = {}
    with conn.begin_nested():
        for table in UNIT_TABLES:
            sql = sa.text(
                f"""
                UPDATE {table} t SET community_id = x.cid
                FROM (
                    SELECT DISTINCT ON (t2.id) t2.id, c.id AS cid
                    FROM {table} t2
                    JOIN community c ON ST_Intersects(c.geom, ST_PointOnSurface(t2.geom))
                    WHERE t2.community_id IS NULL
                    ORDER BY t2.id, c.id
                ) AS x
                WHERE t.id = x.id
                """  # noqa: S608 - table name from the fixed UNIT_TABLES
            )
            out[table] = int(conn.execute(sql).rowcount or 0)
    return out
