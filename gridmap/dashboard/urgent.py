"""Recent urgent cases (应急/重点) of one dashboard area (one SQL statement)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.dashboard.areas import Area
from gridmap.dashboard.kpis import URGENT
from gridmap.incidents.states import CLOSED_STATES

_SQL = """
SELECT i.id, i.case_no, i.urgency, i.state, i.level, i.category_code,
       ec.name_zh AS category_zh, ec.name_en AS category_en, c.name AS community,
       i.reported_at, i.due_at,
       (i.state <> ALL(:closed_states) AND i.due_at < :now) AS overdue
FROM incident i
LEFT JOIN event_category ec ON ec.code = i.category_code
LEFT JOIN community c ON c.id = i.community_id
WHERE {area} AND i.urgency = ANY(:urgent) AND i.state <> 'voided' AND i.reported_at < :now
ORDER BY i.reported_at DESC, i.id DESC
LIMIT :n
"""


def recent(conn: Connection, area: Area, now: dt.datetime, limit: int) -> list[dict[str, Any]]:
    """The ``limit`` most recently reported 应急/重点 cases of ``area`` (voided left out).

    Each row: ``id`` (the /cases/<id> page), ``case_no``, ``urgency``, ``state``, ``level``,
    category code and names, ``community``, ``reported_at``, ``due_at`` (ISO) and
    ``overdue`` (open and past due). No reporter data: the screen is shown in rooms.
    """
    where, p = area.case_sql("i")
    rows = conn.execute(sa.text(_SQL.format(area=where)), {
        **p, "now": now, "closed_states": list(CLOSED_STATES), "urgent": list(URGENT),
        "n": limit}).mappings().all()
    out = []
    for r in rows:
        d = dict(r)
        for k in ("reported_at", "due_at"):
            d[k] = None if d[k] is None else d[k].isoformat()
        out.append(d)
    return out
