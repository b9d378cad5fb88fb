"""产/服务 of a profile: the facilities of the area by life-circle tier, the coverage of every
catalogue type for the area's buildings (residents and buildings covered), the gap list by
estate with the residents affected, and capacity (places, beds) with the 2SFCA supply per
1,000 residents of the target group.

Coverage comes from ``building_coverage`` (the last ``gridmap coverage refresh``); a
facility counts for the area when it lies inside one of its communities. One statement
per table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.access.fca import FcaParams, FcaRun, compute
from gridmap.access.fca_report import per_1000
from gridmap.access.inputs import facility_types

TIERS = ("15min", "10min", "5min", "block")

_TYPES_SQL = sa.text("""
WITH f AS (
  SELECT f.type_code, count(*) AS n, sum(f.capacity) AS capacity,
         count(f.capacity) AS with_capacity
  FROM facility f
  WHERE EXISTS (SELECT 1 FROM community c WHERE c.id = ANY(:ids)
                AND ST_Intersects(c.geom, f.location))
  GROUP BY f.type_code
), cov AS (
  SELECT bc.type_code, count(*) AS buildings, count(*) FILTER (WHERE bc.covered) AS covered,
         COALESCE(sum(b.residents), 0) AS residents,
         COALESCE(sum(b.residents) FILTER (WHERE bc.covered), 0) AS residents_covered
  FROM building_coverage bc JOIN building b ON b.id = bc.building_id
  WHERE b.community_id = ANY(:ids)
  GROUP BY bc.type_code
)
SELECT ft.code, ft.name_zh, ft.name_en, ft.tier, ft.required, ft.confidence,
       COALESCE(f.n, 0) AS facilities, f.capacity, COALESCE(f.with_capacity, 0) AS with_capacity,
       COALESCE(cov.buildings, 0) AS buildings, COALESCE(cov.covered, 0) AS buildings_covered,
       COALESCE(cov.residents, 0) AS residents,
       COALESCE(cov.residents_covered, 0) AS residents_covered
FROM facility_type ft LEFT JOIN f ON f.type_code = ft.code
LEFT JOIN cov ON cov.type_code = ft.code
ORDER BY array_position(CAST(:tiers AS text[]), ft.tier::text), ft.required DESC, ft.code
""")

_GAPS_SQL = sa.text("""
SELECT e.code AS estate_code, COALESCE(e.name, '') AS estate_name, c.code AS community_code,
       c.name AS community_name, bc.type_code,
       count(*) FILTER (WHERE NOT bc.covered) AS buildings_affected,
       COALESCE(sum(b.residents) FILTER (WHERE NOT bc.covered), 0) AS residents_affected,
       COALESCE(sum(b.residents), 0) AS residents,
       ST_X(ST_Centroid(ST_Collect(ST_PointOnSurface(b.geom)) FILTER (WHERE NOT bc.covered)))
         AS lon,
       ST_Y(ST_Centroid(ST_Collect(ST_PointOnSurface(b.geom)) FILTER (WHERE NOT bc.covered)))
         AS lat
FROM building_coverage bc JOIN building b ON b.id = bc.building_id
JOIN facility_type ft ON ft.code = bc.type_code AND ft.required
JOIN community c ON c.id = b.community_id
LEFT JOIN estate e ON e.id = b.estate_id
WHERE b.community_id = ANY(:ids)
GROUP BY e.code, e.name, c.code, c.name, bc.type_code
HAVING count(*) FILTER (WHERE NOT bc.covered) > 0
ORDER BY residents_affected DESC, buildings_affected DESC, c.code, e.code, bc.type_code
""")


def _share(covered: int, total: int) -> float | None:
    return round(covered / total, 4) if total else None


def type_table(conn: Connection, community_ids: list[int],
               speed_m_per_min: float) -> list[dict[str, Any]]:
    """Every catalogue type: tier, radius used, required, facilities and capacity in the
    area, buildings/residents and their covered shares, residents affected and a status
    (``ok`` all covered, ``partial``, ``missing`` nobody covered, ``none`` no buildings)."""
    radius = {c: t.radius_m for c, t in facility_types(conn, speed_m_per_min).items()}
    out: list[dict[str, Any]] = []
    for r in conn.execute(_TYPES_SQL, {"ids": community_ids, "tiers": list(TIERS)}).mappings():
        d = dict(r)
        d["radius_m"] = radius.get(d["code"])
        d["capacity"] = int(d["capacity"]) if d["capacity"] is not None else None
        b, bc = int(d["buildings"]), int(d["buildings_covered"])
        res, rc = int(d["residents"]), int(d["residents_covered"])
        d.update(buildings=b, buildings_covered=bc, residents=res, residents_covered=rc,
                 share=_share(rc, res) if res else _share(bc, b),
                 building_share=_share(bc, b), residents_affected=res - rc,
                 status="none" if b == 0 else "ok" if bc == b else
                 "missing" if bc == 0 else "partial")
        out.append(d)
    return out


def tiers(types: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Facilities per tier: count, types present, required types and required ones fully
    covered."""
    out = []
    for tier in TIERS:
        rows = [t for t in types if t["tier"] == tier]
        req = [t for t in rows if t["required"]]
        out.append({"tier": tier, "facilities": sum(t["facilities"] for t in rows),
                    "types_present": sum(1 for t in rows if t["facilities"]),
                    "types": len(rows), "required": len(req),
                    "required_ok": sum(1 for t in req if t["status"] == "ok")})
    return out


def gaps(conn: Connection, community_ids: list[int], limit: int = 200
         ) -> list[dict[str, Any]]:
    """Required types not reaching every building, per estate (buildings outside an
    estate grouped per community), largest number of residents affected first; ``lon``,
    ``lat``: the centre of the uncovered buildings."""
    rows = [dict(r) for r in conn.execute(_GAPS_SQL, {"ids": community_ids}).mappings()]
    for r in rows:
        r["residents_affected"] = int(r["residents_affected"])
        r["residents"] = int(r["residents"])
        r["buildings_affected"] = int(r["buildings_affected"])
    return rows[:limit]


def score(types: list[dict[str, Any]]) -> float | None:
    """Life-circle score: resident-weighted covered share over the required types."""
    req = [t for t in types if t["required"] and t["residents"]]
    total = sum(t["residents"] for t in req)
    return round(sum(t["residents_covered"] for t in req) / total, 4) if total else None


def capacity(conn: Connection, community_ids: list[int], params: FcaParams,
             run: FcaRun | None = None) -> list[dict[str, Any]]:
    """Per capacity type (2SFCA): the area's target population (and estimated share),
    supply per 1,000 of them, facilities and capacity reaching them."""
    run = run or compute(conn, params=params)
    inside = np.isin(run.demand.community, np.asarray(community_ids, dtype=np.int64))
    out = []
    for res in run.results:
        pop = float(res.demand[inside].sum())
        served = float((res.demand * res.access)[inside].sum())
        est = float((res.demand * res.estimated)[inside].sum())
        out.append({"type": res.type_code, "group": res.group, "decay": res.decay,
                    "catchment_m": res.catchment_m, "population": round(pop, 1),
                    "estimated_share": round(est / pop, 3) if pop else None,
                    "per_1000": per_1000(served / pop) if pop else None,
                    "facilities_district": int(len(res.supply.ids)),
                    "without_capacity_district": res.supply.without_capacity})
    return out
