"""The life-circle check-up (体检报告) and its XLSX on the profile world."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Connection

from gridmap.profiles import checkup, profile, profile_xlsx
from tests.profiles.world import UNTIL, WEST, profile_world


@pytest.fixture
def world(conn: Connection) -> dict[str, int]:
    return profile_world(conn)


def test_checkup_lists_every_required_type_with_sites(conn: Connection,
                                                        world: dict[str, int]) -> None:
    rep = checkup(conn, WEST)
    codes = [t["code"] for t in rep["types"]]
    assert all(t["required"] for t in rep["types"]) and "kindergarten" in codes
    assert "police_station" not in codes  # optional types are not checked
    kg = next(t for t in rep["types"] if t["code"] == "kindergarten")
    assert kg["radius_m"] == 300 and kg["share"] == pytest.approx(300 / 340, abs=1e-4)
    # only A has residents on the network: covered 300 of 340 for the kindergarten only
    assert rep["score"] == pytest.approx(300 / (340 * len(codes)), abs=1e-4)
    # a primary school on the west street reaches A (300 residents) within 500 m
    [first, *_] = rep["sites"]["primary_school"]
    assert first["residents_added"] == 300 and first["community"] == "West"


def test_profile_xlsx_has_every_section(conn: Connection, world: dict[str, int]) -> None:
    data = profile_xlsx(profile(conn, WEST, until=UNTIL), checkup(conn, WEST))
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["概况", "设施覆盖", "缺口", "供需比", "案件", "反复问题", "候选点位"]
    summary = {r[0]: r[1] for r in wb["概况"].iter_rows(min_row=2, values_only=True)}
    assert summary["常住人口"] == 340 and summary["网格员"] == 1
    types = list(wb["设施覆盖"].iter_rows(values_only=True))
    kg = next(r for r in types if r[1] == "kindergarten")
    assert kg[4:8] == (1, 30, 340, 300)
    en = load_workbook(io.BytesIO(profile_xlsx(profile(conn, WEST, until=UNTIL), lang="en")))
    assert en.sheetnames[0] == "Summary" and "Sites" not in en.sheetnames
