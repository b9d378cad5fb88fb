"""What a planner sees of a what-if and of candidate sites, on the river town
(tests/fixtures/walk_world.py): changed units, the new site's service area, site
addresses and the estates each serves; and the gap export."""

from __future__ import annotations

import io

import pytest
import shapely
from openpyxl import load_workbook
from shapely.geometry import shape
from sqlalchemy.engine import Connection

from gridmap.access import coverage, export, impact
from gridmap.errors import ValidationError
from tests.fixtures.walk_world import add_area, add_line, ll, river_town


def _town(conn: Connection) -> dict[str, int]:
    ids = river_town(conn)
    ids["estate"] = add_area(conn, "estate", "E1", "东岸花园", (150, 50, 300, 200),
                             {"community_id": ids["east"]})
    conn.exec_driver_sql("UPDATE building SET estate_id = %(e)s WHERE id = %(b)s",
                         {"e": ids["estate"], "b": ids["b"]})
    line = add_line(conn, [(200, 1000), (200, 1100)], "residential")
    conn.exec_driver_sql("UPDATE osm_line SET name = '东岸路' WHERE id = %(i)s", {"i": line})
    coverage.refresh(conn)
    return ids


def test_what_if_detail_lists_the_gaining_estate_and_draws_the_service_area(
        conn: Connection) -> None:
    ids = _town(conn)
    lon, lat = ll(220, 110)
    res = impact.what_if_detail(conn, add=[("kindergarten", lon, lat)], level="estate",
                                type_code="kindergarten")
    assert res["focus"] == "kindergarten"
    assert res["types"][0]["delta"]["residents"] == 500
    [unit] = res["units"]
    assert unit["unit_id"] == ids["estate"] and unit["unit_name"] == "东岸花园"
    assert unit["share_before"] == 0.0 and unit["share_after"] == 1.0
    assert unit["residents_gained"] == 500
    [feat] = res["service_areas"]["features"]
    area = shape(feat["geometry"])
    assert feat["properties"]["radius_m"] == 300
    assert area.contains(shapely.Point(ll(200, 100)))        # the east street next to it
    assert not area.contains(shapely.Point(ll(-30, 100)))    # across the river: not reached
    by_comm = impact.what_if_detail(conn, add=[("kindergarten", lon, lat)], level="community")
    assert [u["unit_id"] for u in by_comm["units"]] == [ids["east"]]


def test_what_if_detail_reports_every_bad_field_at_once(conn: Connection) -> None:
    _town(conn)
    lon, lat = ll(220, 110)
    with pytest.raises(ValidationError) as err:
        impact.what_if_detail(conn, add=[("kindergarten", lon, lat)], level="street",
                              type_code="primary_school")
    assert {p.field for p in err.value.problems} == {"level", "type"}


def test_candidates_are_described_by_address_and_estates_served(conn: Connection) -> None:
    ids = _town(conn)
    rows = impact.describe_sites(conn, coverage.candidates(conn, "kindergarten", 2))
    first = rows[0]
    assert "building_ids" not in first
    assert first["community"] == "East" and first["road"] == "东岸路"
    assert first["serves"][0]["estate_id"] == ids["estate"]
    assert first["serves"][0]["residents"] == 500 == first["residents_added"]
    assert impact.describe_sites(conn, []) == []


def test_gap_export_has_the_coverage_share(conn: Connection) -> None:
    _town(conn)
    rows = [g for g in coverage.gaps(conn, "community") if g["type_code"] == "kindergarten"]
    assert rows and all(0 <= g["share"] <= 1 for g in rows)
    rows[0]["unit_name"] = "=HYPERLINK(\"x\")"
    wb = load_workbook(io.BytesIO(export.gaps_xlsx(rows, lang="zh")))
    ws = wb.active
    assert ws["A1"].value == "单元" and ws["I1"].value == "覆盖率"
    assert ws["A2"].value == "=HYPERLINK(\"x\")" and ws["A2"].data_type == "s"
    assert ws["I2"].value == rows[0]["share"]
    assert load_workbook(io.BytesIO(export.gaps_xlsx(rows, lang="en"))).active["A1"].value == "Unit"
