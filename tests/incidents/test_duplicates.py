"""Duplicate flagging: same category, radius and window, open incidents only; the pure
cell-hash search checked by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy.engine import Connection

from gridmap import incidents
from gridmap.incidents import duplicates
from gridmap.reference.workcal import LOCAL_TZ
from tests.fixtures.incident_world import new_incident


def test_duplicates_flagged_and_linked_not_rejected(conn: Connection,
                                                    world: dict[str, int]) -> None:
    t = dt.datetime(2025, 11, 20, 9, 0, tzinfo=LOCAL_TZ)
    first = new_incident(conn, reported_at=t)
    near = new_incident(conn, lon=121.4153, lat=31.205, reported_at=t + dt.timedelta(hours=3))  # ~29 m
    far = new_incident(conn, lon=121.4160, lat=31.205, reported_at=t + dt.timedelta(hours=3))  # ~95 m
    other_cat = new_incident(conn, category="E0104", lon=121.4153, reported_at=t + dt.timedelta(hours=3))
    late = new_incident(conn, lon=121.4153, reported_at=t + dt.timedelta(hours=30))
    assert near["duplicate_of"] == first["id"]
    assert far["duplicate_of"] is None and other_cat["duplicate_of"] is None
    assert late["duplicate_of"] is None
    incidents.transition(conn, int(first["id"]), "voided", actor="a")  # type: ignore[arg-type]
    after_void = new_incident(conn, lon=121.4151, reported_at=t + dt.timedelta(hours=4))
    assert after_void["duplicate_of"] == near["id"]  # the voided one is no longer open


def test_earliest_neighbour_hand_checked() -> None:
    """Duplicate search on metric coordinates: radius, window, category, open state, ties,
    and neighbours across a hash-cell line (49 m apart but in different 50 m cells)."""
    x = np.array([0.0, 10.0, 61.0, 5.0, 0.0, 199.0, 248.0, 300.0, 300.0, 300.0])
    y = np.zeros(10)
    t = np.array([30.0, 40.0, 41.0, 20.0, 5.0, 50.0, 50.0, 10.0, 10.0, 12.0])
    cat = np.array([0, 0, 0, 0, 0, 0, 0, 1, 1, 1])
    usable = np.array([True, True, True, False, True, True, True, True, True, True])
    ids = np.arange(100, 110)
    got = duplicates.earliest_neighbour(x, y, t, cat, usable, ids, 10, 50.0, 24.0)
    assert got[0] == -1  # row 3 is closer in time but not open; row 4 is 25 h earlier
    assert got[1] == 0   # 10 m and 10 h after row 0
    assert got[2] == -1  # 51 m from row 1
    assert got[6] == 5   # 49 m apart across the 200 m cell line, same time: lower id first
    assert got[5] == -1  # same time as row 6 but the lower id: it is the original
    assert got[7] == -1
    assert got[8] == 7 and got[9] == 7  # same time → lower id; later one → the earliest
