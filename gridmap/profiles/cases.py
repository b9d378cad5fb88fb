"""事 of a profile: cases by category and month, open and overdue, on-time closure, the
grids and estates with most cases (hotspots) and recurrent problems (one category again and
again at one estate or building). Duplicates and voided cases are left out. One statement
per table over the area's community ids and the window ``[since, until)``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.incidents.states import OPEN_STATES

TZ = "Asia/Shanghai"
"""Months are calendar months in China Standard Time."""

_BASE = ("i.community_id = ANY(:ids) AND i.duplicate_of IS NULL AND i.state <> 'voided' "
         "AND i.reported_at >= :since AND i.reported_at < :until")

_TOTALS_SQL = sa.text(f"""
SELECT count(*) AS cases,
       count(*) FILTER (WHERE i.state = ANY(:open)) AS open,
       count(*) FILTER (WHERE i.state = ANY(:open) AND i.due_at < :until) AS overdue,
       count(*) FILTER (WHERE i.closed_at IS NOT NULL) AS closed,
       count(*) FILTER (WHERE i.closed_at IS NOT NULL AND (i.due_at IS NULL
                        OR i.closed_at <= i.due_at)) AS closed_on_time,
       count(*) FILTER (WHERE i.urgency = 'urgent') AS urgent
FROM incident i WHERE {_BASE}
""")  # noqa: S608 (fixed fragments)

_MONTHS_SQL = sa.text(f"""
SELECT i.category_code, ec.name_zh, ec.name_en,
       to_char(date_trunc('month', i.reported_at AT TIME ZONE '{TZ}'), 'YYYY-MM') AS month,
       count(*) AS n
FROM incident i JOIN event_category ec ON ec.code = i.category_code
WHERE {_BASE}
GROUP BY i.category_code, ec.name_zh, ec.name_en, month
ORDER BY i.category_code, month
""")  # noqa: S608

_HOT_GRIDS_SQL = sa.text(f"""
SELECT g.grid_code AS code, g.name, count(*) AS cases,
       count(*) FILTER (WHERE i.state = ANY(:open)) AS open
FROM incident i JOIN grid g ON g.id = i.grid_id
WHERE {_BASE}
GROUP BY g.grid_code, g.name ORDER BY cases DESC, g.grid_code LIMIT :n
""")  # noqa: S608

_HOT_ESTATES_SQL = sa.text(f"""
SELECT e.code, e.name, count(*) AS cases,
       count(*) FILTER (WHERE i.state = ANY(:open)) AS open
FROM incident i JOIN estate e ON e.id = i.estate_id
WHERE {_BASE}
GROUP BY e.code, e.name ORDER BY cases DESC, e.code LIMIT :n
""")  # noqa: S608

_RECURRENT_SQL = sa.text(f"""
SELECT i.category_code, ec.name_zh, ec.name_en,
       CASE WHEN i.estate_id IS NOT NULL THEN 'estate' ELSE 'building' END AS place_kind,
       COALESCE(e.name, bl.name, e.code, bl.code, '#' || i.building_id) AS place,
       count(*) AS cases, min(i.reported_at) AS first_at, max(i.reported_at) AS last_at,
       count(*) FILTER (WHERE i.state = ANY(:open)) AS open
FROM incident i JOIN event_category ec ON ec.code = i.category_code
LEFT JOIN estate e ON e.id = i.estate_id
LEFT JOIN building bl ON bl.id = i.building_id AND i.estate_id IS NULL
WHERE {_BASE} AND (i.estate_id IS NOT NULL OR i.building_id IS NOT NULL)
GROUP BY i.category_code, ec.name_zh, ec.name_en, place_kind, i.estate_id, i.building_id,
         e.name, bl.name, e.code, bl.code
HAVING count(*) >= :min_cases
ORDER BY cases DESC, last_at DESC LIMIT :n
""")  # noqa: S608


def _months(since: datetime, until: datetime) -> list[str]:
    """``YYYY-MM`` of every month touching the window (China Standard Time)."""
    zone = ZoneInfo(TZ)
    first = since.astimezone(zone)
    last = (until - timedelta(microseconds=1)).astimezone(zone)
    out: list[str] = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def by_category_month(conn: Connection, binds: dict[str, Any]) -> dict[str, Any]:
    """``{"months": [...], "categories": [{code, name_zh, name_en, total, counts}]}``,
    categories with most cases first; ``counts`` aligned with ``months``."""
    months = _months(binds["since"], binds["until"])
    cats: dict[str, dict[str, Any]] = {}
    for r in conn.execute(_MONTHS_SQL, binds).mappings():
        c = cats.setdefault(r["category_code"], {
            "code": r["category_code"], "name_zh": r["name_zh"], "name_en": r["name_en"],
            "total": 0, "counts": [0] * len(months)})
        if r["month"] in months:
            c["counts"][months.index(r["month"])] += int(r["n"])
        c["total"] += int(r["n"])
    return {"months": months,
            "categories": sorted(cats.values(), key=lambda c: (-c["total"], c["code"]))}


def cases(conn: Connection, community_ids: list[int], since: datetime, until: datetime,
          *, recurrent_min: int = 3, top: int = 5) -> dict[str, Any]:
    """事 of the area in ``[since, until)``: totals (cases, open, overdue, closed, closed
    on time, urgent, on-time rate), cases by category and month, hotspot grids and
    estates, recurrent problems (≥ ``recurrent_min`` cases of a category at a place)."""
    binds = {"ids": community_ids, "since": since, "until": until, "open": list(OPEN_STATES),
             "n": top}
    totals: dict[str, Any] = {k: int(v) for k, v in conn.execute(_TOTALS_SQL, binds).mappings().one().items()}
    totals["on_time_rate"] = round(totals["closed_on_time"] / totals["closed"], 4) \
        if totals["closed"] else None
    recurrent = [dict(r) for r in conn.execute(
        _RECURRENT_SQL, {**binds, "min_cases": recurrent_min, "n": 20}).mappings()]
    for r in recurrent:
        r["first_at"], r["last_at"] = r["first_at"].isoformat(), r["last_at"].isoformat()
    return {"since": since.isoformat(), "until": until.isoformat(), "totals": totals,
            **by_category_month(conn, binds),
            "hot_grids": [dict(r) for r in conn.execute(_HOT_GRIDS_SQL, binds).mappings()],
            "hot_estates": [dict(r) for r in conn.execute(_HOT_ESTATES_SQL, binds).mappings()],
            "recurrent": recurrent}
