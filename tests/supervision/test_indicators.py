"""部门 indicators, the hotline 三率 and the "小事不出网格、大事不出社区" rate on the five
cases of :mod:`tests.fixtures.supervision_cases`, against tables computed by hand."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts import users
from gridmap.errors import ValidationError
from gridmap.incidents.indicators import export
from gridmap.supervision import access, indicators
from tests.fixtures.supervision_cases import END, START, run_cases
from tests.fixtures.supervision_world import build_street

PICK = ("code", "filed", "due", "handled_on_time", "on_time_rate", "due_close", "closed",
        "close_rate", "handled", "rework", "rework_rate", "filed_score", "score", "grade")
# CG: A, B, C dispatched; all three due (A, B handled, C overdue); only A handled in time;
# A, B closed of 3 due; handled events A 1 + B 2, rework 1.
# score = 10 + 0.3 × 66.67 + 0.3 × 33.33 + 0.3 × (100 − 33.33) = 60.0 → C
UNITS = [
    ("U-C1", 1, 1, 1, 100.0, 1, 1, 100.0, 1, 0, 0.0, 10.0, 100.0, "A"),
    ("U-CG", 3, 3, 1, 33.33, 3, 2, 66.67, 3, 1, 33.33, 10.0, 60.0, "C"),
]


def test_unit_indicators_by_hand(conn: Connection) -> None:
    ids = build_street(conn)
    run_cases(conn, ids)
    rows = indicators.unit_indicators(conn, access.ALL, START, END, as_of=END)
    assert [tuple(r[k] for k in PICK) for r in rows] == UNITS


def test_hotline_rates_by_hand(conn: Connection) -> None:
    ids = build_street(conn)
    run_cases(conn, ids)
    rows = indicators.hotline_rates(conn, access.ALL, START, END)
    # A accepted late, B in time; A solved (5), B not (2)
    assert [(r["code"], r["dispatched"], r["responded"], r["response_rate"], r["evaluated"],
             r["solved"], r["solve_rate"], r["satisfied"], r["satisfaction_rate"],
             r["mean_satisfaction"]) for r in rows] == [
        ("U-CG", 2, 1, 50.0, 2, 1, 50.0, 1, 50.0, 3.5)]
    by_street = indicators.hotline_rates(conn, access.ALL, START, END, by="street")
    assert [(r["code"], r["solve_rate"]) for r in by_street] == [("319901001", 50.0)]


def test_closed_at_grid_level_rate_by_hand(conn: Connection) -> None:
    ids = build_street(conn)
    run_cases(conn, ids)
    # closed in November: A (grid), B (street), D (community)
    for area, code in (("grid", "319901001001002"), ("community", "319901001001"),
                       ("street", "319901001")):
        rows = indicators.level_rates(conn, access.ALL, START, END, area=area)
        assert [(r["code"], r["closed"], r["grid"], r["community"], r["grid_rate"],
                 r["community_rate"]) for r in rows] == [(code, 3, 1, 1, 33.33, 66.67)]


def test_unit_staff_see_their_units_only(conn: Connection) -> None:
    ids = build_street(conn)
    run_cases(conn, ids)
    viewer = access.viewer_for(conn, users.get(conn, ids["cg1"]))
    assert viewer.unit_ids == frozenset({ids["CG"]})
    rows = indicators.unit_indicators(conn, viewer, START, END, as_of=END)
    assert [r["code"] for r in rows] == ["U-CG"]
    # the street centre's staff see the centre and every unit below it
    lead = access.viewer_for(conn, users.get(conn, ids["lead"]))
    assert lead.unit_ids == frozenset({ids["SC"], ids["CU1"], ids["CG"]})


def test_export_csv_and_xlsx_with_unit_columns(conn: Connection, tmp_path: Path) -> None:
    ids = build_street(conn)
    run_cases(conn, ids)
    rows = indicators.unit_indicators(conn, access.ALL, START, END, as_of=END)
    csv_path = export(rows, tmp_path / "units.csv", fields=indicators.UNIT_FIELDS)
    text = csv_path.read_text(encoding="utf-8-sig").splitlines()
    assert text[0].startswith("单位ID,单位编码,单位名称,立案(应处置)数")
    assert text[2].split(",")[1:3] == ["U-CG", "CG"]
    xlsx = export(rows, tmp_path / "units.xlsx", lang="en", fields=indicators.UNIT_FIELDS)
    ws = openpyxl.load_workbook(xlsx).active
    assert ws is not None and ws["B1"].value == "unit code" and ws["P3"].value == "C"


def test_bad_period_and_grouping_are_refused(conn: Connection) -> None:
    with pytest.raises(ValidationError):
        indicators.unit_indicators(conn, access.ALL, END, START)
    with pytest.raises(ValidationError):
        indicators.level_rates(conn, access.ALL, START, END, area="district")
    assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
