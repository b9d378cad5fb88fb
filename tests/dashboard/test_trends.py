"""Daily and weekly trend lines on the hand-made case set."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from gridmap.accounts.scope import ALL
from gridmap.dashboard import DashboardParams, areas, trends
from tests.dashboard.cases import NOW, build_cases


def test_daily_and_weekly_series(conn: Connection) -> None:
    build_cases(conn)
    out = trends.compute(conn, areas.resolve(conn, ALL, None), DashboardParams(), NOW)
    daily, weekly = out["daily"], out["weekly"]
    assert daily["dates"][0] == "2025-03-02" and daily["dates"][-1] == "2025-03-31"
    rep = dict(zip(daily["dates"], daily["reported"], strict=True))
    assert {d: n for d, n in rep.items() if n} == {
        "2025-03-02": 1, "2025-03-05": 1, "2025-03-10": 1, "2025-03-20": 1, "2025-03-25": 1,
        "2025-03-28": 1}
    closed = dict(zip(daily["dates"], zip(daily["closed"], daily["closed_on_time"],
                                          strict=True), strict=True))
    assert {d: v for d, v in closed.items() if v[0]} == {
        "2025-03-05": (1, 1), "2025-03-12": (1, 0), "2025-03-14": (1, 1)}
    # weeks by Monday: 12 weeks ending with the week of Monday 2025-03-31
    assert weekly["dates"][0] == "2025-01-13" and weekly["dates"][-1] == "2025-03-31"
    wk = dict(zip(weekly["dates"], weekly["closed"], strict=True))
    assert wk["2025-01-13"] == 1  # E, closed on 01-15
    assert sum(weekly["reported"]) == 6  # E was reported on 01-10, before the first week
