"""Fixtures of the grid tests: a community of 3 x 2 blocks and its active plan."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Connection

from gridmap import grids
from tests.fixtures.grids import T1, make_community


@pytest.fixture
def community(conn: Connection) -> int:
    # 3 x 2 blocks, 4 buildings of 50 households per block = 200 per block, 1,200 in all.
    return make_community(conn)


@pytest.fixture
def active_plan(conn: Connection, community: int) -> int:
    vid = grids.auto_partition(conn, community, seed=1)
    grids.activate(conn, vid, effective=T1, actor="officer1")
    return vid
