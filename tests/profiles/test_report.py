"""The community and street profile on the profile world (tests/profiles/world.py): every
figure worked out by hand."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Connection

from gridmap.errors import NotFound, PermissionDenied
from gridmap.profiles import ProfileParams, profile
from tests.profiles.world import STREET, UNTIL, WEST, profile_world


@pytest.fixture
def world(conn: Connection) -> dict[str, int]:
    return profile_world(conn)


def test_people_and_land_of_a_community(conn: Connection, world: dict[str, int]) -> None:
    p = profile(conn, WEST, until=UNTIL)
    assert p["area"] == {"level": "community", "code": WEST, "name": "West",
                         "street_code": STREET, "street_name": "Test street"}
    people = p["people"]
    # A (300 residents, 100 households) + the far building (40, 13)
    assert (people["buildings"], people["households"], people["residents"]) == (2, 113, 340)
    # age groups only where imported (A): 10 children 3-6, 80 residents 60+
    assert (people["age_3_6"], people["age_60_plus"], people["age_0_3"]) == (10, 80, None)
    assert people["residents_with_ages"] == 300 and people["grid_workers"] == 1
    land = p["land"]
    assert land["estates"] == 1 and [g["grid_code"] for g in land["grids"]] == [WEST + "001"]
    assert land["grids"][0]["grid_workers"] == 1
    assert land["estate_list"][0]["name"] == "西苑" and land["estate_list"][0]["residents"] == 300


def test_services_coverage_gaps_and_capacity(conn: Connection, world: dict[str, int]) -> None:
    svc = profile(conn, WEST, until=UNTIL)["services"]
    kg = next(t for t in svc["types"] if t["code"] == "kindergarten")
    # the kindergarten (30 places) reaches A (300 residents) but not the far building (40)
    assert (kg["facilities"], kg["capacity"], kg["residents"], kg["residents_covered"]) == \
        (1, 30, 340, 300)
    assert kg["share"] == pytest.approx(300 / 340, abs=1e-4) and kg["status"] == "partial"
    school = next(t for t in svc["types"] if t["code"] == "primary_school")
    assert school["status"] == "missing" and school["residents_affected"] == 340
    five = next(t for t in svc["tiers"] if t["tier"] == "5min")
    assert five["facilities"] == 1 and five["required_ok"] == 0
    kg_gaps = [g for g in svc["gaps"] if g["type_code"] == "kindergarten"]
    assert [(g["estate_name"], g["residents_affected"]) for g in kg_gaps] == [("", 40)]
    assert svc["gaps"][0]["residents_affected"] == 300 and svc["gaps"][0]["estate_name"] == "西苑"
    cap = {c["type"]: c for c in svc["capacity"]}
    # 10 imported children + 40 × 3 % estimated = 11.2; the 30 places all reach A's 10
    assert cap["kindergarten"]["population"] == pytest.approx(11.2)
    assert cap["kindergarten"]["per_1000"] == pytest.approx(30 / 11.2 * 1000, abs=0.1)
    assert cap["nursing_home"]["per_1000"] == 0.0


def test_cases_by_category_month_hotspots_and_recurrent(conn: Connection,
                                                          world: dict[str, int]) -> None:
    cases = profile(conn, WEST, until=UNTIL, params=ProfileParams(profile_months=6))["cases"]
    # voided, duplicate and the November case are left out; 6 months back from 1 July
    t = cases["totals"]
    assert (t["cases"], t["open"], t["overdue"], t["closed"], t["closed_on_time"]) == \
        (5, 1, 1, 4, 3)
    assert t["on_time_rate"] == 0.75
    assert cases["months"][-6:] == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05",
                                    "2026-06"]
    lamp = cases["categories"][0]
    assert lamp["code"] == "C0190" and lamp["total"] == 4
    assert lamp["counts"][-6:] == [1, 1, 1, 0, 1, 0]
    assert cases["hot_grids"][0] == {"code": WEST + "001", "name": "west一网格", "cases": 5,
                                     "open": 1}
    assert cases["hot_estates"][0]["name"] == "西苑" and cases["hot_estates"][0]["cases"] == 4
    [rec] = cases["recurrent"]
    assert (rec["category_code"], rec["place"], rec["cases"], rec["open"]) == \
        ("C0190", "西苑", 4, 1)


def test_street_profile_sums_its_communities(conn: Connection, world: dict[str, int]) -> None:
    p = profile(conn, STREET, until=UNTIL)
    assert p["area"]["level"] == "street" and p["people"]["residents"] == 840
    assert [c["name"] for c in p["communities"]] == ["West", "East"]
    assert all(c["rating"] is None or "stars" in c["rating"] for c in p["communities"])
    kg = next(t for t in p["services"]["types"] if t["code"] == "kindergarten")
    assert (kg["residents"], kg["residents_covered"]) == (840, 300)


def test_unknown_code_and_scope(conn: Connection, world: dict[str, int]) -> None:
    with pytest.raises(NotFound) as err:
        profile(conn, "999")
    assert err.value.code == "profiles.unknown_area"
    with pytest.raises(PermissionDenied):
        profile(conn, STREET, allowed=frozenset({world["west"]}))
    assert profile(conn, WEST, allowed=frozenset({world["west"]}))["area"]["code"] == WEST


def test_stars_and_reasons_of_a_rated_committee(conn: Connection, world: dict[str, int]) -> None:
    import json

    import sqlalchemy as sa

    scheme = conn.execute(sa.text(
        "INSERT INTO rating_scheme (year, name, body) VALUES (2026, 't', '{}') RETURNING id"
    )).scalar_one()
    reason = {"code": "ratings.reason_low",
              "params": {"criterion": {"zh": "群众满意度", "en": "Satisfaction"}, "value": 62,
                         "min": 80}}
    conn.execute(sa.text(
        "INSERT INTO rating (year, round, community_id, scheme_id, status, period_start,"
        " period_end, as_of, computed_stars, stars, complete, criteria, reasons) VALUES"
        " (2026, 'initial', :c, :s, 'confirmed', now(), now(), now(), 3, 3, true, '{}',"
        " CAST(:r AS jsonb))"), {"c": world["west"], "s": scheme, "r": json.dumps([reason])})
    rows = {c["name"]: c["rating"] for c in profile(conn, STREET, until=UNTIL)["communities"]}
    assert rows["East"] is None  # 未评
    assert rows["West"]["stars"] == 3
    assert rows["West"]["reasons"][0]["zh"] == "群众满意度得分 62，低于 80 分"
