"""The whole profile (社区画像) of a community or street: 人, 地, 产/服务, 事 and stars, plus
the per-community rows of a street. Each section is a handful of set-based statements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.access.fca import FcaParams
from gridmap.config import Settings, params_from_settings
from gridmap.profiles import cases as case_section
from gridmap.profiles import people as people_section
from gridmap.profiles import services
from gridmap.profiles.area import resolve
from gridmap.profiles.stars import stars


@dataclass(frozen=True)
class ProfileParams:
    """Window of the case section (``profile_months`` back from ``until``), recurrent
    threshold, walking speed and the 2SFCA parameters."""

    profile_months: int = Settings.profile_months
    profile_recurrent_min_cases: int = Settings.profile_recurrent_min_cases
    walking_speed_m_per_min: float = Settings.walking_speed_m_per_min
    fca: FcaParams = FcaParams()

    @classmethod
    def from_settings(cls, settings: Settings) -> ProfileParams:
        """Parameters from loaded :class:`~gridmap.config.Settings`."""
        return params_from_settings(cls, settings, fca=FcaParams.from_settings(settings))


_COMMUNITIES_SQL = sa.text("""
SELECT c.id, c.code, c.name, COALESCE(sum(b.households), 0) AS households,
       COALESCE(sum(b.residents), 0) AS residents
FROM community c LEFT JOIN building b ON b.community_id = c.id
WHERE c.id = ANY(:ids) GROUP BY c.id, c.code, c.name ORDER BY c.code
""")

_COVERED_SQL = sa.text("SELECT EXISTS (SELECT 1 FROM coverage_run)")


def _communities(conn: Connection, ids: list[int]) -> list[dict[str, Any]]:
    rows = [dict(r) for r in conn.execute(_COMMUNITIES_SQL, {"ids": ids}).mappings()]
    rated = stars(conn, [r["code"] for r in rows])
    for r in rows:
        r["households"], r["residents"] = int(r["households"]), int(r["residents"])
        r["rating"] = rated.get(r["code"])
    return rows


def _services(conn: Connection, ids: list[int], params: ProfileParams) -> dict[str, Any]:
    """产/服务, or ``computed: False`` before the first coverage refresh."""
    if not conn.execute(_COVERED_SQL).scalar():
        return {"computed": False}
    types = services.type_table(conn, ids, params.walking_speed_m_per_min)
    return {"computed": True, "score": services.score(types), "tiers": services.tiers(types),
            "types": types, "gaps": services.gaps(conn, ids, 50),
            "capacity": services.capacity(conn, ids, params.fca)}


def profile(conn: Connection, code: str, *, allowed: frozenset[int] | None = None,
            until: datetime | None = None, params: ProfileParams | None = None
            ) -> dict[str, Any]:
    """The profile of a community or street.

    Parameters
    ----------
    conn:
        Connection (reads only).
    code:
        Community or street code.
    allowed:
        Community ids the caller may see (None: all).
    until:
        End of the case window (default now); the window is ``profile_months`` long.
    params:
        See :class:`ProfileParams`.

    Returns
    -------
    dict
        ``area``, ``generated_at``, ``people`` (人), ``land`` (地), ``services``
        (产/服务), ``cases`` (事), ``communities`` (each with its ``rating`` or None = 未评).

    Raises
    ------
    NotFound
        No community or street has the code.
    PermissionDenied
        The area is outside ``allowed``.
    """
    params = params or ProfileParams()
    area = resolve(conn, code, allowed)
    ids = list(area.community_ids)
    until = until or datetime.now(UTC)
    since = until - timedelta(days=round(30.44 * params.profile_months))
    return {
        "area": area.as_dict(), "generated_at": datetime.now(UTC).isoformat(),
        "people": people_section.people(conn, ids),
        "land": people_section.land(conn, ids),
        "services": _services(conn, ids, params),
        "cases": case_section.cases(conn, ids, since, until,
                                    recurrent_min=params.profile_recurrent_min_cases),
        "communities": _communities(conn, ids),
    }
