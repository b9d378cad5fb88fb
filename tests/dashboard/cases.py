"""A hand-made case set for the dashboard tests on :func:`tests.fixtures.incident_world.build_world`
(street S; community C1 with grids G1–G3; community C2 without grids).

NOW = 2025-03-31 12:00 UTC, KPI period 30 days: [2025-03-01 12:00, NOW). Every time is 02:00 UTC
(10:00 in Shanghai), so local days are the dates written here.

====  =====  ====  =========  ========  =======  ===========  =======  =====  =========
case  comm.  grid  state      urgency   reported due          closed   level  satisf.
====  =====  ====  =========  ========  =======  ===========  =======  =====  =========
A     C1     G1    handling   urgent    03-20    03-25 (late)  –       grid   –
B     C1     G2    closed     normal    03-10    03-15        03-14    grid   –
C     C1     G1    evaluated  normal    03-05    03-10        03-12    comm.  5 (03-13)
D     C2     –     dispatched key       03-28    04-05         –       grid   –
E     C2     –     closed     normal    01-10    01-20        01-15    grid   –
F     C1     G3    voided     urgent    03-25    03-27         –       grid   –
G     C2     –     evaluated  normal    03-02    03-06        03-05    grid   3 (03-07)
====  =====  ====  =========  ========  =======  ===========  =======  =====  =========
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tests.fixtures.incident_world import build_world

NOW = dt.datetime(2025, 3, 31, 12, 0, tzinfo=dt.UTC)
CASES: dict[str, tuple[Any, ...]] = {
    # community, grid, state, urgency, reported, due, closed, level, satisfaction, evaluated
    "A": ("C1", "G1", "handling", "urgent", "03-20", "03-25", None, "grid", None, None),
    "B": ("C1", "G2", "closed", "normal", "03-10", "03-15", "03-14", "grid", None, None),
    "C": ("C1", "G1", "evaluated", "normal", "03-05", "03-10", "03-12", "community", 5, "03-13"),
    "D": ("C2", None, "dispatched", "key", "03-28", "04-05", None, "grid", None, None),
    "E": ("C2", None, "closed", "normal", "01-10", "01-20", "01-15", "grid", None, None),
    "F": ("C1", "G3", "voided", "urgent", "03-25", "03-27", None, "grid", None, None),
    "G": ("C2", None, "evaluated", "normal", "03-02", "03-06", "03-05", "grid", 3, "03-07"),
}


def at(day: str | None) -> dt.datetime | None:
    """2025-<day> 02:00 UTC."""
    if day is None:
        return None
    m, d = (int(x) for x in day.split("-"))
    return dt.datetime(2025, m, d, 2, 0, tzinfo=dt.UTC)


def build_cases(conn: Connection) -> dict[str, int]:
    """The world and the seven cases; returns ids by name (cases by their letter)."""
    ids = build_world(conn)
    cat = conn.execute(sa.text("SELECT code FROM event_category WHERE parent_code IS NOT NULL "
                               "ORDER BY code LIMIT 1")).scalar_one()
    for name, (comm, grid, state, urg, rep, due, closed, level, sat, ev) in CASES.items():
        ids[name] = int(conn.execute(sa.text(
            "INSERT INTO incident (case_no, category_code, urgency, state, reported_at, geom, "
            "street_id, community_id, grid_id, dispatched_at, due_at, closed_at, level, "
            "satisfaction_score, evaluated_at, address) VALUES (:no, :cat, :urg, :state, :rep, "
            "ST_SetSRID(ST_MakePoint(121.405, 31.215), 4326), :s, :c, :g, :rep, :due, :closed, "
            ":level, :sat, :ev, :addr) RETURNING id"), {
                "no": f"T-{name}", "cat": cat, "urg": urg, "state": state, "rep": at(rep),
                "s": ids["S"], "c": ids[comm], "g": ids[grid] if grid else None,
                "due": at(due), "closed": at(closed), "level": level, "sat": sat, "ev": at(ev),
                "addr": f"地址{name}"}).scalar_one())
    return ids
