"""Who may rate which committees and which stars (评审权限).

The documents (seed 000): 一至三星 are reviewed by the street (街道、镇), 四星以上 by the district
leading group (五星 together with the city association and experts). gridmap maps that onto its
accounts and posts:

- **district level** (the scheme's ``raters.district`` stars, default 4–5): the ``admin`` role
  (every committee), and staff holding a 领导 ``leader`` or 值班长 ``shift_lead`` post in a
  块 (``kuai``) unit of level ``district`` (the committees of that unit's area);
- **street level** (``raters.street``, default 1–3): staff with those posts in a ``kuai`` unit of
  level ``street`` (街道办事处 / 综治中心: its area's committees), and the ``supervisor`` role
  (the street centre's accounts: the committees of their scope);
- nobody else rates (planners, officers, other posts: ``ratings.not_a_rater``).

The ``admin`` role holds both levels (1–5 stars). A rater enters values and confirms ratings
only inside their area; confirming (or overriding to) stars outside the level's range is
refused (``ratings.stars_not_allowed``). The command line acts as the system operator (both
levels, every committee) unless ``--user`` names an account.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts.users import User, scope_community_ids
from gridmap.errors import PermissionDenied
from gridmap.org.areas import unit_area_ids
from gridmap.org.staff import posts_of
from gridmap.ratings.scheme import Scheme

RATER_POSTS: tuple[str, ...] = ("leader", "shift_lead")


@dataclass(frozen=True)
class Rater:
    """An acting rater: name, levels held and the committees they rate (``None`` = all)."""

    actor: str
    levels: frozenset[str]
    community_ids: frozenset[int] | None = None

    def allows(self, community_id: int) -> bool:
        """Whether the committee is in the rater's area."""
        return self.community_ids is None or community_id in self.community_ids

    def stars_range(self, scheme: Scheme) -> tuple[int, int]:
        """The lowest and highest stars this rater may give under ``scheme``."""
        ranges = [scheme.raters[lv] for lv in self.levels]
        return min(r[0] for r in ranges), max(r[1] for r in ranges)

    def level_for(self, scheme: Scheme, stars: int) -> str:
        """The level under which the rater gives ``stars``.

        Raises
        ------
        PermissionDenied
            ``ratings.stars_not_allowed`` when no level of the rater covers ``stars``.
        """
        for lv in ("street", "district"):
            lo, hi = scheme.raters[lv]
            if lv in self.levels and lo <= stars <= hi:
                return lv
        lo, hi = self.stars_range(scheme)
        raise PermissionDenied("ratings.stars_not_allowed",
                               {"stars": stars, "low": lo, "high": hi, "actor": self.actor})


OPERATOR = Rater("cli", frozenset({"street", "district"}), None)
"""The command line without ``--user``: the system operator."""


def _staff_rater(conn: Connection, user: User) -> Rater | None:
    levels: set[str] = set()
    ids: set[int] = set()
    for p in posts_of(conn, user.id):
        if p.post not in RATER_POSTS:
            continue
        row = conn.execute(sa.text("SELECT level, line FROM org_unit WHERE id = :u AND active"),
                           {"u": p.unit_id}).first()
        if row is None or row[1] != "kuai" or row[0] not in ("street", "district"):
            continue
        levels.add(str(row[0]))
        ids |= set(unit_area_ids(conn, p.unit_id).community_ids)
    return Rater(user.username, frozenset(levels), frozenset(ids)) if levels else None


def rater_for(conn: Connection, user: User | None) -> Rater:
    """The rater ``user`` acts as.

    Raises
    ------
    PermissionDenied
        ``ratings.not_a_rater`` for an account that may not rate.
    """
    rater: Rater | None = None
    if user is not None and user.role == "admin":
        rater = Rater(user.username, frozenset({"street", "district"}), None)
    elif user is not None and user.role == "supervisor":
        ids = scope_community_ids(conn, user)
        rater = Rater(user.username, frozenset({"street"}),
                      None if ids is None else frozenset(ids))
    elif user is not None and user.role == "staff":
        rater = _staff_rater(conn, user)
    if rater is None:
        raise PermissionDenied("ratings.not_a_rater",
                               {"user": user.username if user else "-"})
    return rater


def check_area(rater: Rater, community_id: int, code: str) -> None:
    """Raise ``ratings.outside_area`` unless the committee is in the rater's area."""
    if not rater.allows(community_id):
        raise PermissionDenied("ratings.outside_area", {"community": code, "actor": rater.actor})
