"""2SFCA results per building, estate or community: supply per 1,000 residents of the
target group (the population-weighted mean of the buildings' access), the target
population (and how much of it is estimated), and the capacity located in the unit.

One vectorised pass (``np.bincount``) per level after :func:`gridmap.access.fca.compute`;
unit names and codes come from one query per level.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.access.fca import FcaParams, FcaResult, FcaRun, compute
from gridmap.errors import Problem, ValidationError

LEVELS = ("building", "estate", "community")

_UNIT_SQL = {
    "estate": sa.text("SELECT id, code, name FROM estate WHERE id = ANY(:ids)"),
    "community": sa.text("SELECT id, code, name FROM community WHERE id = ANY(:ids)"),
}
_FACILITY_UNIT_SQL = {
    "estate": sa.text(
        "SELECT f.id, COALESCE((SELECT e.id FROM estate e WHERE ST_Intersects(e.geom, "
        "f.location) ORDER BY e.id LIMIT 1), -1) FROM facility f WHERE f.id = ANY(:ids)"),
    "community": sa.text(
        "SELECT f.id, COALESCE((SELECT c.id FROM community c WHERE ST_Intersects(c.geom, "
        "f.location) ORDER BY c.id LIMIT 1), -1) FROM facility f WHERE f.id = ANY(:ids)"),
}


def per_1000(access: float) -> float:
    """Capacity per person → per 1,000 (rounded to 0.1)."""
    return round(float(access) * 1000.0, 1)


def _rows_building(run: FcaRun, res: FcaResult) -> list[dict[str, Any]]:
    dem = run.demand
    keep = np.flatnonzero(res.demand > 0)
    return [{"unit_id": int(dem.ids[i]), "population": round(float(res.demand[i]), 1),
             "estimated": bool(res.estimated[i]), "per_1000": per_1000(res.access[i])}
            for i in keep]


def _rows_units(conn: Connection, run: FcaRun, res: FcaResult, level: str
                ) -> list[dict[str, Any]]:
    dem = run.demand
    key = dem.estate if level == "estate" else dem.community
    units, inv = np.unique(key, return_inverse=True)
    pop = np.bincount(inv, weights=res.demand, minlength=len(units))
    est = np.bincount(inv, weights=res.demand * res.estimated, minlength=len(units))
    served = np.bincount(inv, weights=res.demand * res.access, minlength=len(units))
    cap = _capacity_in_units(conn, res, level)
    names = {int(r[0]): (r[1], r[2]) for r in conn.execute(
        _UNIT_SQL[level], {"ids": [int(u) for u in units if u >= 0]})}
    out: list[dict[str, Any]] = []
    for k, u in enumerate(units):
        if u < 0 or pop[k] <= 0:
            continue
        code, name = names.get(int(u), (None, None))
        c = cap.get(int(u), (0, 0.0))
        out.append({"unit_id": int(u), "code": code, "name": name,
                    "population": round(float(pop[k]), 1),
                    "estimated_share": round(float(est[k] / pop[k]), 3),
                    "per_1000": per_1000(served[k] / pop[k]),
                    "facilities": c[0], "capacity": round(c[1], 1)})
    out.sort(key=lambda r: (r["per_1000"], r["code"] or ""))
    return out


def _capacity_in_units(conn: Connection, res: FcaResult, level: str
                       ) -> dict[int, tuple[int, float]]:
    """``{unit id: (facilities, capacity)}`` of the type's facilities located in the unit."""
    ids = [int(i) for i in res.supply.ids]
    if not ids:
        return {}
    where = {int(r[0]): int(r[1]) for r in conn.execute(_FACILITY_UNIT_SQL[level],
                                                        {"ids": ids})}
    out: dict[int, tuple[int, float]] = {}
    for fid, capacity in zip(ids, res.supply.capacity, strict=True):
        u = int(where.get(fid, -1))
        n, c = out.get(u, (0, 0.0))
        out[u] = (n + 1, c + float(capacity))
    return out


def summarise(conn: Connection, run: FcaRun, level: str) -> list[dict[str, Any]]:
    """One entry per computed type: parameters, totals and the rows of ``level``."""
    out: list[dict[str, Any]] = []
    for res in run.results:
        total_pop = float(res.demand.sum())
        served = float((res.demand * res.access).sum())
        rows = _rows_building(run, res) if level == "building" else \
            _rows_units(conn, run, res, level)
        out.append({
            "type": res.type_code, "group": res.group, "decay": res.decay,
            "catchment_m": res.catchment_m, "facilities": int(len(res.supply.ids)),
            "facilities_without_capacity": res.supply.without_capacity,
            "capacity": round(float(res.supply.capacity.sum()), 1),
            "capacity_reached": round(served, 1),
            "population": round(total_pop, 1),
            "estimated_share": round(float((res.demand * res.estimated).sum() / total_pop), 3)
            if total_pop > 0 else 0.0,
            "per_1000": per_1000(served / total_pop) if total_pop > 0 else 0.0,
            "level": level, "rows": rows,
        })
    return out


def fca_summary(conn: Connection, level: str = "community", type_code: str | None = None,
                *, params: FcaParams | None = None) -> list[dict[str, Any]]:
    """2SFCA supply per 1,000 residents of the target group per building/estate/community.

    Parameters
    ----------
    conn:
        Connection (reads only).
    level:
        ``building``, ``estate`` or ``community``.
    type_code:
        One capacity type, or None for every one (:data:`gridmap.access.fca.FCA_TYPES`).
    params:
        Decay, catchment and fallback shares.

    Returns
    -------
    list of dict
        Per type: ``type, group, decay, catchment_m, facilities,
        facilities_without_capacity, capacity, capacity_reached, population,
        estimated_share, per_1000, level, rows`` — rows sorted worst first.

    Raises
    ------
    ValidationError
        Unknown level, type or decay (every problem at once).
    NotFound
        Coverage not computed yet.
    """
    if level not in LEVELS:
        raise ValidationError("fca.unknown_level", [Problem(
            "fca.unknown_level", {"level": level, "levels": ", ".join(LEVELS)},
            field="level")], {"level": level, "levels": ", ".join(LEVELS)})
    run = compute(conn, type_code, params=params)
    return summarise(conn, run, level)
