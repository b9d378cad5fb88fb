"""gridmap.analysis.accuracy: PAI and hit rate by hand on the lattice, and of both hotspot
maps (Gi* and emerging hot spots) of last week for this week's cases."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Connection

from gridmap.analysis import accuracy
from gridmap.errors import ValidationError
from tests.analysis.world import BASE, HOT, LAST_MONDAY, SURGE, N, build_lattice

THIS_WEEK = (dt.datetime(2025, 6, 23, tzinfo=accuracy.cubes.LOCAL_TZ),
             dt.datetime(2025, 6, 30, tzinfo=accuracy.cubes.LOCAL_TZ))


@pytest.fixture
def lattice(conn: Connection) -> dict[str, object]:
    return build_lattice(conn)


def test_score_by_hand(conn: Connection, lattice: dict[str, object]) -> None:
    ids: list[int] = lattice["ids"]  # type: ignore[assignment]
    block = [ids[i * N + j] for i, j in HOT]
    got = accuracy.score(conn, block, ids, *THIS_WEEK)
    total = len(HOT) * SURGE + (N * N - len(HOT)) * BASE  # 56 + 120
    assert got["cases"] == total and got["cases_hot"] == len(HOT) * SURGE
    assert got["hit_rate"] == pytest.approx(56 / 176)
    assert got["area_share"] == pytest.approx(4 / 64, rel=1e-3)  # equal squares
    assert got["pai"] == pytest.approx((56 / 176) / (4 / 64), rel=1e-3)  # ≈ 5.09
    nothing = accuracy.score(conn, [], ids, *THIS_WEEK)
    assert nothing["hit_rate"] == 0 and nothing["pai"] is None  # no area flagged
    quiet = accuracy.score(conn, block, ids, THIS_WEEK[1], THIS_WEEK[1] + dt.timedelta(days=7))
    assert quiet["cases"] == 0 and quiet["hit_rate"] is None and quiet["pai"] is None


@pytest.mark.parametrize("method", ["gi", "ehsa"])
def test_last_weeks_hot_spots_catch_this_weeks_surge(conn: Connection,
                                                     lattice: dict[str, object],
                                                     method: str) -> None:
    res = accuracy.hotspot_accuracy(conn, method, "week", LAST_MONDAY,
                                    community_ids=[lattice["C2"]])  # type: ignore[list-item]
    assert res["period"] == "2025-06-23" and res["predicted_from"] == "2025-06-16"
    assert res["period_end"] == "2025-06-30" and res["cases"] == 176
    assert res["n_hot"] >= len(HOT) and res["cases_hot"] >= len(HOT) * SURGE
    assert res["pai"] > 1.5  # far better than spreading patrols evenly


def test_unknown_method_is_refused(conn: Connection) -> None:
    with pytest.raises(ValidationError) as err:
        accuracy.hotspot_accuracy(conn, "top10")
    assert err.value.code == "analysis.method"
