"""Candidate sites: greedy maximal covering by hand and on the river town
(tests/fixtures/walk_world.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from sqlalchemy.engine import Connection

from gridmap.access import coverage, siting
from gridmap.errors import ValidationError
from tests.fixtures.walk_world import ll, river_town


def _refreshed(conn: Connection) -> dict[str, int]:
    ids = river_town(conn)
    coverage.refresh(conn)
    return ids


def test_greedy_mclp_on_a_case_solvable_by_hand() -> None:
    # candidates × demand points; weights 10, 20, 30, 40
    cover = sparse.csr_matrix(np.array([
        [1, 1, 0, 0],   # 30
        [0, 1, 1, 0],   # 50
        [0, 0, 1, 1],   # 70
        [1, 0, 0, 0],   # 10
    ]))
    picked = siting.greedy_mclp(cover, np.array([10.0, 20, 30, 40]), 3)
    # 70 first (points 2, 3); then candidate 0 adds 30 (points 0, 1); then nothing left
    assert picked == [(2, 70.0), (0, 30.0)]


def test_candidates_pick_the_site_across_the_river(conn: Connection) -> None:
    _refreshed(conn)
    east, west = ll(215, 150), ll(-15, 700)
    res = siting.candidates(conn, "kindergarten", 2, candidates=[west, east])
    assert res[0]["candidate_index"] == 1 and res[0]["residents_added"] == 500
    assert len(res) == 1  # the west site adds nobody: A is already covered
    nodes = siting.candidates(conn, "kindergarten", 1)
    assert nodes[0]["residents_added"] == 500 and nodes[0]["node_id"] is not None


def test_candidates_refuse_block_tier_and_bad_k(conn: Connection) -> None:
    _refreshed(conn)
    with pytest.raises(ValidationError) as err:
        siting.candidates(conn, "convenience_store", 0)
    assert len(err.value.problems) == 2
    assert [p.code for p in err.value.problems] == ["access.block_tier_no_radius",
                                                   "access.k_at_least_one"]
    with pytest.raises(ValidationError) as one:
        siting.candidates(conn, "kindergarten", 0)
    # a single problem is the headline itself (as before the message catalogue)
    assert one.value.headline == "k must be at least 1"
    assert one.value.code == "access.k_at_least_one"
