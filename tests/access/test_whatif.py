"""What-if: coverage before/after hypothetical facilities, nothing written, every bad
input reported at once, on the river town (tests/fixtures/walk_world.py)."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.access import coverage, whatif
from gridmap.errors import ValidationError
from tests.fixtures.walk_world import add_area, add_facility, ll, river_town


def _refreshed(conn: Connection) -> dict[str, int]:
    ids = river_town(conn)
    coverage.refresh(conn)
    return ids


def test_what_if_add_and_remove_give_the_delta_without_writing(conn: Connection) -> None:
    ids = _refreshed(conn)
    before = conn.execute(sa.text("SELECT count(*) FROM facility")).scalar_one()
    lon, lat = ll(220, 110)
    t0 = time.perf_counter()
    res = whatif.what_if(conn, add=[("kindergarten", lon, lat)], remove=[])
    assert time.perf_counter() - t0 < 1.0
    kg = res["types"][0]
    assert kg["type_code"] == "kindergarten"
    assert kg["before"]["residents"] == 300 and kg["after"]["residents"] == 800
    assert kg["delta"] == {"buildings": 1, "residents": 500}
    assert res["by_community"] == [{"community_id": ids["east"], "type_code": "kindergarten",
                                    "delta_residents": 500}]
    assert res["added"][0]["snapped"]
    res = whatif.what_if(conn, add=[], remove=[ids["kindergarten"]])
    assert res["types"][0]["delta"] == {"buildings": -1, "residents": -300}
    assert conn.execute(sa.text("SELECT count(*) FROM facility")).scalar_one() == before
    stored = conn.execute(sa.text(
        "SELECT count(*) FILTER (WHERE covered) FROM building_coverage "
        "WHERE type_code = 'kindergarten'")).scalar_one()
    assert stored == 1


def test_what_if_reports_every_bad_input_at_once(conn: Connection) -> None:
    _refreshed(conn)
    with pytest.raises(ValidationError) as err:
        whatif.what_if(conn, add=[("no_such_type", 121.47, 31.23), ("kindergarten", 31.23, 200)],
                         remove=[999999])
    reasons = [p.reason for p in err.value.problems]
    assert len(reasons) == 3
    assert any("unknown facility type" in r for r in reasons)
    assert any("does not exist" in r for r in reasons)
    assert [p.code for p in err.value.problems] == [
        "access.unknown_facility_type", "access.not_lon_lat", "access.facility_not_found"]
    assert str(err.value).startswith("what-if input has 3 problem(s): row 1, field type_code: "
                                     "unknown facility type 'no_such_type'")
    assert err.value.render("zh").startswith("情景模拟的输入有 3 处问题：第 1 行，字段 type_code：")


def test_what_if_block_tier_type_counts_facilities_inside_the_estate(conn: Connection) -> None:
    ids = river_town(conn)
    est = add_area(conn, "estate", "E1", "West estate", (-100, 50, -10, 200),
                   {"community_id": ids["west"]})
    conn.execute(sa.text("UPDATE building SET estate_id = :e WHERE id = :b"),
                 {"e": est, "b": ids["a"]})
    shop = add_facility(conn, "convenience_store", -50, 150)
    coverage.refresh(conn)
    res = whatif.what_if(conn, remove=[shop])
    assert res["types"][0]["type_code"] == "convenience_store"
    assert res["types"][0]["delta"] == {"buildings": -1, "residents": -300}
    lon, lat = ll(-60, 160)
    res = whatif.what_if(conn, add=[("convenience_store", lon, lat)], remove=[shop])
    assert res["types"][0]["delta"] == {"buildings": 0, "residents": 0}


def test_nothing_to_change_is_refused(conn: Connection) -> None:
    _refreshed(conn)
    with pytest.raises(ValidationError) as err:
        whatif.what_if(conn)
    assert [p.code for p in err.value.problems] == ["access.nothing_to_change"]
