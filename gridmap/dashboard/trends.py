"""Daily and weekly trend lines of one dashboard area (one SQL statement).

Per local day (``DashboardParams.tz``): cases reported (新增), closed (结案: closed or
evaluated) and closed on time (按期结案) that day. Weeks (Monday first) are sums of the days,
summed in one numpy pass; the last week is the current, partial one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.dashboard.areas import Area
from gridmap.dashboard.params import DashboardParams

SERIES: tuple[str, ...] = ("reported", "closed", "closed_on_time")

_SQL = """
WITH d AS (
    SELECT (i.reported_at AT TIME ZONE :tz)::date AS day, 0 AS k
    FROM incident i WHERE {area} AND i.reported_at >= :t0 AND i.reported_at < :now
    UNION ALL
    SELECT (i.closed_at AT TIME ZONE :tz)::date,
           CASE WHEN i.due_at IS NOT NULL AND i.closed_at <= i.due_at THEN 2 ELSE 1 END
    FROM incident i WHERE {area} AND i.closed_at >= :t0 AND i.closed_at < :now
      AND i.state IN ('closed', 'evaluated')
)
SELECT day, count(*) FILTER (WHERE k = 0) AS reported, count(*) FILTER (WHERE k > 0) AS closed,
       count(*) FILTER (WHERE k = 2) AS closed_on_time
FROM d GROUP BY day
"""


def compute(conn: Connection, area: Area, params: DashboardParams, now: dt.datetime
            ) -> dict[str, Any]:
    """Daily series of the last ``dashboard_trend_days`` days and weekly series of the last
    ``dashboard_trend_weeks`` weeks.

    Returns
    -------
    dict
        ``daily`` and ``weekly``: ``dates`` (ISO day; a week by its Monday) and one list per
        name in :data:`SERIES`, oldest first, zeros where nothing happened.
    """
    tz = ZoneInfo(params.tz)
    today = now.astimezone(tz).date()
    monday = today - dt.timedelta(days=today.weekday())
    first_week = monday - dt.timedelta(weeks=params.dashboard_trend_weeks - 1)
    first_day = today - dt.timedelta(days=params.dashboard_trend_days - 1)
    t0 = min(first_week, first_day)
    start = dt.datetime.combine(t0, dt.time(), tz)
    where, p = area.case_sql("i")
    rows = conn.execute(sa.text(_SQL.format(area=where)),
                        {**p, "tz": params.tz, "t0": start, "now": now}).all()
    n = (today - t0).days + 1
    days = np.zeros((n, len(SERIES)), dtype=np.int64)
    if rows:
        idx = np.array([(r[0] - t0).days for r in rows])
        ok = (idx >= 0) & (idx < n)
        days[idx[ok]] = np.array([r[1:] for r in rows], dtype=np.int64)[ok]
    d0 = (first_day - t0).days
    daily = {"dates": [(first_day + dt.timedelta(days=k)).isoformat()
                       for k in range(params.dashboard_trend_days)]}
    w0 = (first_week - t0).days
    week_of = (np.arange(n) - w0) // 7
    sel = week_of >= 0
    weeks = np.zeros((params.dashboard_trend_weeks, len(SERIES)), dtype=np.int64)
    np.add.at(weeks, week_of[sel], days[sel])
    weekly = {"dates": [(first_week + dt.timedelta(weeks=k)).isoformat()
                        for k in range(params.dashboard_trend_weeks)]}
    for j, name in enumerate(SERIES):
        daily[name] = days[d0:, j].tolist()
        weekly[name] = weeks[:, j].tolist()
    return {"daily": daily, "weekly": weekly}
