"""The profile world: the river town of tests/fixtures/walk_world.py plus an estate, one
active grid plan with a grid worker, age groups, capacities and cases — small enough that
every figure of a profile can be worked out by hand.

West community (310101001001): building A (300 residents, 100 households, 10 children 3-6,
80 residents 60+) inside estate 西苑 and the far building (40 residents, 13 households, no
age groups); the kindergarten (30 places) 30 m from A. East community (310101001002):
building B (500 residents, 166 households) across the river. One grid per community; one
grid worker in West's grid.

Cases in West, window 2026-01-01 … 2026-07-01 (China time): four C0190 (street lamp) at
西苑 in January, February, March and May (one still open and overdue), one C0101 at the
far building in March (closed late), one voided and one duplicate (both left out), one
case before the window.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.access import coverage
from gridmap.accounts.users import hash_password
from tests.fixtures.walk_world import add_area, ll, river_town

SINCE = datetime(2025, 12, 31, 16, tzinfo=UTC)   # 2026-01-01 00:00 China time
UNTIL = datetime(2026, 6, 30, 16, tzinfo=UTC)    # 2026-07-01 00:00 China time
WEST, EAST, STREET = "310101001001", "310101001002", "310101001"


def _t(month: int, day: int = 10) -> datetime:
    return datetime(2026, month, day, 2, tzinfo=UTC)


def _case(conn: Connection, ids: dict[str, int], cat: str, at: datetime, state: str,
          *, estate: int | None, building: int, due: datetime | None = None,
          closed: datetime | None = None, duplicate_of: int | None = None) -> int:
    lon, lat = ll(-30, 100)
    return int(conn.execute(sa.text(
        "INSERT INTO incident (category_code, state, reported_at, geom, street_id, "
        "community_id, estate_id, building_id, grid_id, due_at, closed_at, duplicate_of) "
        "VALUES (:c, :s, :at, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :st, :com, :e, :b,"
        " (SELECT id FROM grid WHERE grid_code = '310101001001001'), :due, :closed, :dup)"
        " RETURNING id"),
        {"c": cat, "s": state, "at": at, "lon": lon, "lat": lat, "st": ids["street"],
         "com": ids["west"], "e": estate, "b": building, "due": due, "closed": closed,
         "dup": duplicate_of}).scalar_one())


def _grids(conn: Connection, ids: dict[str, int]) -> None:
    for key, code in (("west", WEST), ("east", EAST)):
        vid = conn.execute(sa.text(
            "INSERT INTO grid_version (community_id, generation, status, valid_from) "
            "VALUES (:c, 1, 'active', now()) RETURNING id"), {"c": ids[key]}).scalar_one()
        gid = conn.execute(sa.text(
            "INSERT INTO grid (community_id, grid_seq, grid_code, name) VALUES "
            "(:c, 1, :g, :n) RETURNING id"), {"c": ids[key], "g": code + "001",
                                              "n": f"{key}一网格"}).scalar_one()
        conn.execute(sa.text(
            "INSERT INTO grid_geometry (version_id, grid_id, geom) SELECT :v, :g, geom "
            "FROM community WHERE id = :c"), {"v": vid, "g": gid, "c": ids[key]})
    uid = conn.execute(sa.text(
        "INSERT INTO app_user (username, display_name, password_hash, role) VALUES "
        "('pw_gw', '王网格', :h, 'staff') RETURNING id"), {"h": hash_password("x" * 12)}
    ).scalar_one()
    conn.execute(sa.text(
        "INSERT INTO grid_assignment (user_id, grid_code, role, valid_from) VALUES "
        "(:u, :g, 'grid_worker', '2025-01-01')"), {"u": uid, "g": WEST + "001"})


def profile_world(conn: Connection) -> dict[str, int]:
    """Build the world (see the module docstring) and refresh the coverage."""
    ids = river_town(conn)
    ids["estate"] = add_area(conn, "estate", "E-W1", "西苑", (-80, 60, 20, 160),
                             {"community_id": ids["west"]})
    conn.execute(sa.text("UPDATE building SET estate_id = :e, age_3_6 = 10, age_60_plus = 80"
                         " WHERE id = :a"), {"e": ids["estate"], "a": ids["a"]})
    conn.execute(sa.text("UPDATE facility SET capacity = 30 WHERE id = :k"),
                 {"k": ids["kindergarten"]})
    _grids(conn, ids)
    a, far, est = ids["a"], ids["far"], ids["estate"]
    for month in (1, 2, 3):
        _case(conn, ids, "C0190", _t(month), "closed", estate=est, building=a,
              due=_t(month, 20), closed=_t(month, 12))
    _case(conn, ids, "C0190", _t(5), "dispatched", estate=est, building=a, due=_t(5, 20))
    _case(conn, ids, "C0101", _t(3), "closed", estate=None, building=far, due=_t(3, 11),
          closed=_t(3, 15))
    first = _case(conn, ids, "C0190", _t(4), "voided", estate=est, building=a)
    _case(conn, ids, "C0190", _t(4), "reported", estate=est, building=a, duplicate_of=first)
    _case(conn, ids, "C0190", datetime(2025, 11, 5, tzinfo=UTC), "closed", estate=est,
          building=a, closed=datetime(2025, 11, 6, tzinfo=UTC))
    coverage.refresh(conn)
    return ids
