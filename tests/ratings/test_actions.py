"""Entering values, confirming (who may give which stars; freezing) and current stars."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import ratings
from gridmap.accounts.users import by_username
from gridmap.errors import Conflict, PermissionDenied, ValidationError
from gridmap.ratings import store
from tests.ratings.world import AS_OF, CODES, ROUND, YEAR

A, B, C = CODES["A"], CODES["B"], CODES["C"]


def _rater(conn: Connection, name: str) -> ratings.Rater:
    return ratings.rater_for(conn, by_username(conn, name))


def test_street_rater_cannot_give_four_stars(conn: Connection, world: dict[str, int]) -> None:
    ratings.compute(conn, YEAR, ROUND, as_of=AS_OF)
    street = _rater(conn, "sv1")
    with pytest.raises(PermissionDenied) as err:
        ratings.confirm(conn, street, YEAR, ROUND, [A], as_of=AS_OF)  # computed 4★
    assert err.value.code == "ratings.stars_not_allowed"
    assert store.rating_row(conn, YEAR, ROUND, world["A"])["status"] == "draft"
    with pytest.raises(PermissionDenied):  # nor by overriding
        ratings.confirm(conn, street, YEAR, ROUND, [B], stars=4, note="表现突出", as_of=AS_OF)
    with pytest.raises(PermissionDenied) as err:  # 乙街道's committee is outside 甲's area
        ratings.enter(conn, street, YEAR, ROUND, C, "conduct", 90, "检查")
    assert err.value.code == "ratings.outside_area"
    done = ratings.confirm(conn, _rater(conn, "dl"), YEAR, ROUND, [A], as_of=AS_OF)
    assert done[0]["stars"] == 4 and done[0]["level"] == "district"
    done = ratings.confirm(conn, street, YEAR, ROUND, [B], as_of=AS_OF)  # 2★: the street's
    assert done[0]["level"] == "street"


def test_district_rater_cannot_give_three_and_planner_cannot_rate(
        conn: Connection, world: dict[str, int]) -> None:
    ratings.compute(conn, YEAR, ROUND, as_of=AS_OF)
    with pytest.raises(PermissionDenied):
        ratings.confirm(conn, _rater(conn, "dl"), YEAR, ROUND, [B], as_of=AS_OF)  # 2★
    with pytest.raises(PermissionDenied) as err:
        _rater(conn, "planner1")
    assert err.value.code == "ratings.not_a_rater"


def test_confirm_freezes_with_its_cases_and_recomputes_the_same(
        conn: Connection, world: dict[str, int]) -> None:
    ratings.compute(conn, YEAR, ROUND, as_of=AS_OF)
    done = ratings.confirm(conn, ratings.OPERATOR, YEAR, ROUND, [A, B], as_of=AS_OF)
    by = {d["community"]: d for d in done}
    # A: its 4 hotline cases; B: the evaluated case and the 违建 case (patrol cases count for nothing)
    assert by[A]["cases"] == 4 and by[B]["cases"] == 2
    rid = by[A]["rating_id"]
    # the data change afterwards: a frozen rating does not move
    conn.execute(sa.text("UPDATE incident SET satisfaction_score = 1 WHERE case_no LIKE 'A-%'"))
    again = ratings.compute(conn, YEAR, ROUND, as_of=AS_OF)
    assert {r.committee.code for r in again} == {C}  # confirmed ones skipped
    audit = ratings.recompute(conn, rid)
    assert audit["same"] and audit["recomputed"]["stars"] == 4
    assert audit["recomputed"]["values"]["satisfaction"] == pytest.approx(90.83, abs=0.01)
    row = store.rating_row(conn, YEAR, ROUND, world["A"])
    assert row["status"] == "confirmed" and row["confirmed_by"] == "cli"
    assert row["criteria"]["conduct"]["entry"]["evidence"] == "台账齐全"
    with pytest.raises(Conflict):
        ratings.enter(conn, ratings.OPERATOR, YEAR, ROUND, A, "conduct", 50, "改分")
    with pytest.raises(Conflict):
        ratings.confirm(conn, ratings.OPERATOR, YEAR, ROUND, [A], as_of=AS_OF)


def test_confirm_refuses_incomplete_and_override_without_note(
        conn: Connection, world: dict[str, int]) -> None:
    ratings.compute(conn, YEAR, ROUND, as_of=AS_OF)
    with pytest.raises(ValidationError) as err:
        ratings.confirm(conn, ratings.OPERATOR, YEAR, ROUND, [B, C], stars=3, as_of=AS_OF)
    codes = {p.code for p in err.value.problems}
    assert codes == {"ratings.incomplete", "ratings.override_needs_note"}


def test_bad_entries_reported_at_once(conn: Connection, world: dict[str, int]) -> None:
    with pytest.raises(ValidationError) as err:
        ratings.enter(conn, ratings.OPERATOR, YEAR, ROUND, C, "exemplary", 0.5, " ")
    assert {p.code for p in err.value.problems} == {"ratings.bad_value", "ratings.evidence_needed"}
    with pytest.raises(ValidationError) as err:
        ratings.enter(conn, ratings.OPERATOR, YEAR, ROUND, C, "response", 80, "手填")
    assert {p.code for p in err.value.problems} == {"ratings.not_entered_criterion"}


def test_current_stars(conn: Connection, world: dict[str, int]) -> None:
    ratings.compute(conn, YEAR, ROUND, as_of=AS_OF)
    assert ratings.current_stars(conn, [A, B]) == {}
    ratings.confirm(conn, ratings.OPERATOR, YEAR, ROUND, [B], as_of=AS_OF)
    cur = ratings.current_stars(conn, [A, B])
    assert list(cur) == [B] and cur[B][0] == 2
    assert "ratings.reason_cases" in {p.code for p in cur[B][1]}
    assert ratings.current_stars(conn, [A], include_drafts=True)[A][0] == 4
