"""人 (people) and 地 (land) of a profile: residents, households, age groups, grid workers;
area, estates, street blocks, buildings and the grids of the current plan. One statement
per section, over the area's community ids."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_PEOPLE_SQL = sa.text("""
SELECT count(*) AS buildings,
       count(*) FILTER (WHERE b.residential OR b.residents > 0) AS residential_buildings,
       COALESCE(sum(b.households), 0) AS households, COALESCE(sum(b.residents), 0) AS residents,
       sum(b.age_0_3) AS age_0_3, sum(b.age_3_6) AS age_3_6,
       sum(b.age_60_plus) AS age_60_plus, sum(b.age_80_plus) AS age_80_plus,
       COALESCE(sum(b.residents) FILTER (WHERE b.age_60_plus IS NOT NULL), 0)
         AS residents_with_ages,
       COALESCE(sum(b.residents) FILTER (WHERE b.population_source = 'estimated'), 0)
         AS residents_estimated,
       COALESCE(sum(b.residents) FILTER (WHERE b.population_source = 'imported'), 0)
         AS residents_imported,
       max(b.population_date) AS population_date
FROM building b WHERE b.community_id = ANY(:ids)
""")

_WORKERS_SQL = sa.text("""
SELECT ga.role, count(DISTINCT ga.user_id) AS people
FROM grid_assignment ga JOIN grid g ON g.grid_code = ga.grid_code
JOIN app_user u ON u.id = ga.user_id AND u.active
WHERE g.community_id = ANY(:ids) AND ga.valid_from <= current_date
  AND (ga.valid_to IS NULL OR ga.valid_to >= current_date)
GROUP BY ga.role ORDER BY ga.role
""")

_LAND_SQL = sa.text("""
WITH a AS (SELECT ST_Union(geom) AS geom FROM community WHERE id = ANY(:ids))
SELECT round((ST_Area(a.geom::geography) / 1e6)::numeric, 3) AS area_km2,
       (SELECT count(*) FROM estate e WHERE e.community_id = ANY(:ids)) AS estates,
       (SELECT round((COALESCE(sum(ST_Area(e.geom::geography)), 0) / 1e4)::numeric, 2)
          FROM estate e WHERE e.community_id = ANY(:ids)) AS estate_ha,
       (SELECT count(*) FROM street_block sb WHERE sb.community_id = ANY(:ids)) AS street_blocks,
       (SELECT round((COALESCE(sum(b.footprint_m2), 0) / 1e4)::numeric, 2)
          FROM building b WHERE b.community_id = ANY(:ids)) AS building_footprint_ha
FROM a
""")

_GRIDS_SQL = sa.text("""
SELECT g.grid_code, g.name, g.grid_kind, c.code AS community_code,
       round((ST_Area(gg.geom::geography) / 1e4)::numeric, 2) AS area_ha,
       (SELECT count(DISTINCT ga.user_id) FROM grid_assignment ga
         WHERE ga.grid_code = g.grid_code AND ga.role = 'grid_worker'
           AND ga.valid_from <= current_date
           AND (ga.valid_to IS NULL OR ga.valid_to >= current_date)) AS grid_workers
FROM grid_geometry gg
JOIN grid_version v ON v.id = gg.version_id AND v.status = 'active'
JOIN grid g ON g.id = gg.grid_id JOIN community c ON c.id = v.community_id
WHERE v.community_id = ANY(:ids)
ORDER BY g.grid_code
""")

_ESTATES_SQL = sa.text("""
SELECT e.code, e.name, COALESCE(sum(b.households), 0) AS households,
       COALESCE(sum(b.residents), 0) AS residents, count(b.id) AS buildings
FROM estate e LEFT JOIN building b ON b.estate_id = e.id
WHERE e.community_id = ANY(:ids)
GROUP BY e.id, e.code, e.name ORDER BY residents DESC, e.code LIMIT :n
""")


def _num(v: Any) -> Any:
    """Database numerics as plain ints/floats (None stays)."""
    if v is None or isinstance(v, int | str):
        return v
    f = float(v)
    return int(f) if f.is_integer() else f


def people(conn: Connection, community_ids: list[int]) -> dict[str, Any]:
    """人: buildings, households, residents (how many imported/estimated), age groups
    (None where no building has them) and the grid workers by role."""
    row = conn.execute(_PEOPLE_SQL, {"ids": community_ids}).mappings().one()
    out = {k: _num(v) for k, v in row.items()}
    out["population_date"] = row["population_date"].isoformat() \
        if row["population_date"] else None
    out["workers"] = {r[0]: int(r[1]) for r in conn.execute(_WORKERS_SQL,
                                                            {"ids": community_ids})}
    out["grid_workers"] = out["workers"].get("grid_worker", 0)
    return out


def land(conn: Connection, community_ids: list[int], top_estates: int = 50
         ) -> dict[str, Any]:
    """地: area, estates (largest first), street blocks, buildings' footprint and the grids
    of the current plan with their grid workers."""
    row = conn.execute(_LAND_SQL, {"ids": community_ids}).mappings().one()
    out = {k: _num(v) for k, v in row.items()}
    out["grids"] = [{k: _num(v) for k, v in r.items()}
                    for r in conn.execute(_GRIDS_SQL, {"ids": community_ids}).mappings()]
    out["estate_list"] = [{k: _num(v) for k, v in r.items()} for r in conn.execute(
        _ESTATES_SQL, {"ids": community_ids, "n": top_estates}).mappings()]
    return out
