"""The hand-made rating district (tests/ratings/world.py) in a committed database for the web
tests: accounts with passwords, 2026 drafts with A confirmed, and 2025 drafts for the change."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from gridmap import ratings
from gridmap.accounts import users
from gridmap.db import make_engine
from tests.fixtures.web import PASSWORD
from tests.ratings.world import AS_OF, CODES, CST, ROUND, YEAR, build


def seed(url: str) -> dict[str, int]:
    """Build, enter, compute 2025 and 2026, confirm A (4★, district); returns ids."""
    eng = make_engine(url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        ids = build(conn)
        for name in ("sv1", "dl", "planner1"):
            users.set_password(conn, name, PASSWORD)
        users.add(conn, "admin", PASSWORD, "admin")
        op = ratings.OPERATOR
        ratings.enter(conn, op, YEAR, ROUND, CODES["A"], "conduct", 95, "台账齐全")
        ratings.enter(conn, op, YEAR, ROUND, CODES["A"], "exemplary", 1, "<b>典型</b>案例")
        ratings.enter(conn, op, YEAR, ROUND, CODES["A"], "no_serious_violation", 1, "核实")
        ratings.compute(conn, YEAR - 1, ROUND, as_of=dt.datetime(2025, 11, 20, tzinfo=CST))
        ratings.compute(conn, YEAR, ROUND, as_of=AS_OF)
        ratings.confirm(conn, op, YEAR, ROUND, [CODES["A"]], as_of=AS_OF)
        conn.execute(sa.text("UPDATE community SET name = '<img src=x>B居委会' WHERE id = :b"),
                     {"b": ids["B"]})
    eng.dispose()
    return ids
