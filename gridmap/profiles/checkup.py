"""体检报告: the life-circle check-up of a community or street against the GB 50180-2018 /
TD/T 1062-2021 tiers of the facility catalogue — every required type with its tier, walking
radius, covered share of residents and buildings, the gap list with the residents affected,
and candidate sites for the types with gaps (:mod:`gridmap.profiles.sites`: network nodes
inside the area that newly cover most of the area's uncovered residents).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.access.inputs import require_refreshed
from gridmap.config import Settings, params_from_settings
from gridmap.profiles import services
from gridmap.profiles.area import resolve
from gridmap.profiles.sites import area_sites

_NODES_SQL = sa.text("""
SELECT ST_X(n.geom), ST_Y(n.geom) FROM network_node n
WHERE n.degree > 0 AND EXISTS (SELECT 1 FROM community c WHERE c.id = ANY(:ids)
                               AND ST_Intersects(c.geom, n.geom))
ORDER BY n.id
""")


@dataclass(frozen=True)
class CheckupParams:
    """Candidate sites per type with gaps (``sites``), at most ``max_candidates`` network
    nodes of the area tried, and the walking speed for radii derived from tiers."""

    sites: int = 2
    max_candidates: int = 400
    walking_speed_m_per_min: float = Settings.walking_speed_m_per_min

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> CheckupParams:
        """Parameters from loaded :class:`~gridmap.config.Settings`."""
        return params_from_settings(cls, settings, **overrides)


def _area_nodes(conn: Connection, ids: list[int], most: int) -> list[tuple[float, float]]:
    """Network nodes inside the area, evenly thinned to at most ``most``."""
    xy = np.array(conn.execute(_NODES_SQL, {"ids": ids}).all(), dtype=float).reshape(-1, 2)
    if len(xy) > most:
        xy = xy[np.linspace(0, len(xy) - 1, most).round().astype(int)]
    return [(float(x), float(y)) for x, y in xy]


def checkup(conn: Connection, code: str, *, allowed: frozenset[int] | None = None,
            params: CheckupParams | None = None) -> dict[str, Any]:
    """The life-circle check-up (体检报告) of a community or street.

    Parameters
    ----------
    conn:
        Connection (reads only).
    code:
        Community or street code.
    allowed:
        Community ids the caller may see (None: all).
    params:
        Candidate sites per type and how many nodes are tried.

    Returns
    -------
    dict
        ``area``, ``score`` (resident-weighted covered share of the required types),
        ``types`` (every required type: ``code, name_zh, name_en, tier, radius_m,
        facilities, capacity, residents, residents_covered, share, building_share,
        residents_affected, status``), ``gaps`` (per estate and type) and ``sites``
        (type → candidate sites with ``residents_added``, estate, community, road).

    Raises
    ------
    NotFound
        Unknown code, or coverage never computed.
    PermissionDenied
        The area is outside ``allowed``.
    """
    params = params or CheckupParams()
    area = resolve(conn, code, allowed)
    require_refreshed(conn)
    ids = list(area.community_ids)
    types = [t for t in services.type_table(conn, ids, params.walking_speed_m_per_min)
             if t["required"]]
    nodes = _area_nodes(conn, ids, params.max_candidates)
    return {"area": area.as_dict(), "score": services.score(types), "types": types,
            "gaps": services.gaps(conn, ids),
            "sites": area_sites(conn, types, nodes, ids, params.sites),
            "tiers": services.tiers(types)}
