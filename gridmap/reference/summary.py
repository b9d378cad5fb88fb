"""What the reference catalogues hold (read-only, for the admin's catalogue page):
facility types with their tier radius, event categories with their time limits, division
codes counted by level and the work calendar's days."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_FACILITY_TYPES = sa.text(
    "SELECT code, name_zh, name_en, tier, radius_m, required, confidence FROM facility_type"
    " ORDER BY tier, code")
_CATEGORIES = sa.text(
    "SELECT code, parent_code, name_zh, name_en, default_urgency, time_limit, time_unit"
    " FROM event_category ORDER BY code")
_DIVISIONS = sa.text(
    "SELECT level, count(*) AS n FROM admin_division GROUP BY level ORDER BY min(length(code))")
_CALENDAR = sa.text(
    "SELECT day, kind, name, source FROM work_calendar ORDER BY day")


def summary(conn: Connection) -> dict[str, Any]:
    """The catalogues: ``facility_types``, ``event_categories`` and ``work_calendar`` as
    lists of row dicts, ``divisions`` as ``{level: count}``."""
    return {
        "facility_types": [dict(r) for r in conn.execute(_FACILITY_TYPES).mappings()],
        "event_categories": [dict(r) for r in conn.execute(_CATEGORIES).mappings()],
        "divisions": {r.level: int(r.n) for r in conn.execute(_DIVISIONS)},
        "work_calendar": [dict(r) for r in conn.execute(_CALENDAR).mappings()],
    }
