"""Ratings computed on the hand-made district (tests/ratings/world.py): every value by hand."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Connection

from gridmap import ratings
from gridmap.errors import NotFound, ValidationError
from gridmap.ratings import store
from tests.ratings.world import AS_OF, CODES, ROUND, YEAR


def _by_code(results: list[store.Result]) -> dict[str, store.Result]:
    return {r.committee.code: r for r in results}


def test_every_value_is_the_hand_computed_one(conn: Connection, world: dict[str, int]) -> None:
    res = _by_code(ratings.compute(conn, YEAR, ROUND, as_of=AS_OF))
    a, b, c = res[CODES["A"]], res[CODES["B"]], res[CODES["C"]]
    va = {k: v["value"] for k, v in a.criteria.items()}
    assert va["response"] == 75.0
    assert va["satisfaction"] == pytest.approx(90.83, abs=0.01)
    assert va["conduct"] == 95.0
    assert a.criteria["no_illegal_building"]["passed"] is True
    assert a.criteria["no_service_gap"]["passed"] is True
    assert a.score == pytest.approx(86.33, abs=0.01)
    assert a.stars == 4 and a.complete
    vb = {k: v["value"] for k, v in b.criteria.items()}
    assert vb["response"] is None and vb["satisfaction"] == 60.0
    assert b.criteria["no_illegal_building"]["inputs"] == {"open": 1, "new": 1}
    assert b.criteria["no_illegal_building"]["passed"] is False
    assert b.criteria["no_service_gap"]["passed"] is False
    assert b.criteria["no_service_gap"]["gaps"][0]["share"] == 0.5
    assert b.score == pytest.approx(67.69, abs=0.01) and b.stars == 2
    codes = [p.code for p in b.reasons]
    assert "ratings.reason_cases" in codes and "ratings.reason_service" in codes
    assert "ratings.reason_no_data" in codes  # 回应度 left out
    assert c.score is None and c.stars == 1 and not c.complete


def test_drafts_are_stored_and_street_filter(conn: Connection, world: dict[str, int]) -> None:
    res = ratings.compute(conn, YEAR, ROUND, street_code="319801002", as_of=AS_OF)
    assert [r.committee.code for r in res] == [CODES["C"]]
    row = store.rating_row(conn, YEAR, ROUND, world["C"])
    assert row is not None and row["status"] == "draft" and row["stars"] == 1


def test_dry_run_writes_nothing(conn: Connection, world: dict[str, int]) -> None:
    res = ratings.compute(conn, YEAR, ROUND, as_of=AS_OF, write=False)
    assert len(res) == 3
    assert store.rating_row(conn, YEAR, ROUND, world["C"]) is None  # C had no entry, no draft


def test_bad_input(conn: Connection, world: dict[str, int]) -> None:
    with pytest.raises(ValidationError) as err:
        ratings.compute(conn, 1800, "summer")
    assert {p.code for p in err.value.problems} == {"ratings.unknown_round", "ratings.bad_year"}
    with pytest.raises(NotFound):
        ratings.compute(conn, YEAR, ROUND, street_code="999999999")
