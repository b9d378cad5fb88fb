"""The hand-made rating district with the raters' entries (tests/ratings/world.py)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Connection

from gridmap import ratings
from tests.ratings.world import CODES, ROUND, YEAR, build


@pytest.fixture
def world(conn: Connection) -> dict[str, int]:
    ids = build(conn)
    ratings.enter(conn, ratings.OPERATOR, YEAR, ROUND, CODES["A"], "conduct", 95, "台账齐全")
    for k in ("exemplary", "no_serious_violation"):
        ratings.enter(conn, ratings.OPERATOR, YEAR, ROUND, CODES["A"], k, 1, "街道核实")
    ratings.enter(conn, ratings.OPERATOR, YEAR, ROUND, CODES["B"], "conduct", 80, "抽查两次")
    ratings.enter(conn, ratings.OPERATOR, YEAR, ROUND, CODES["B"], "exemplary", 0, "无典型案例")
    ratings.enter(conn, ratings.OPERATOR, YEAR, ROUND, CODES["B"], "no_serious_violation", 1, "派出所无记录")
    return ids
