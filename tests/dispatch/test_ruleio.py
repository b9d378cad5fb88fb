"""Rules from and to CSV/XLSX: Chinese headers and labels, round trip, every problem at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy.engine import Connection

from gridmap.dispatch import ruleio, rules
from gridmap.errors import ValidationError
from tests.fixtures.dispatch_world import RULES, DispatchWorld
from tests.fixtures.org_world import GRID


def test_round_trip_csv_and_xlsx(conn: Connection, dw: DispatchWorld, tmp_path: Path) -> None:
    original = rules.get_rules(conn, dw.set_id)
    for name in ("rules.csv", "rules.xlsx"):
        path = tmp_path / name
        assert ruleio.export_rules(conn, path) == len(RULES)
        report = ruleio.import_rules(conn, path, actor="admin", activate=True)
        assert report["rules"] == len(RULES) and report["active"]
        assert rules.get_rules(conn, report["set_id"]) == original


def test_chinese_labels_and_position_order(conn: Connection, dw: DispatchWorld,
                                           tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.create_sheet("派单规则", 0)
    ws.append(["顺序", "类别", "区域编码", "工单类型", "来源", "关键词", "处置单位", "处置层级"])
    ws.append([2, "E01", GRID["W1"], "", "", "", "JW-W", "社区"])
    ws.append([1, "", "", "应急单", "12345热线", "漏水、爆管", "JD", "街道"])
    wb.save(tmp_path / "r.xlsx")
    report = ruleio.import_rules(conn, tmp_path / "r.xlsx", actor="admin")
    got = rules.get_rules(conn, report["set_id"])
    assert [(r["unit"], r["urgency"], r["source"], r["level"], r["keywords"], r["area_level"])
            for r in got] == [
        ("JD", "urgent", "hotline_12345", "street", ["漏水", "爆管"], None),
        ("JW-W", None, None, "community", None, "grid")]
    assert rules.active_set_id(conn) == dw.set_id          # imported, not activated


def test_bad_file_reports_everything_and_writes_nothing(conn: Connection, dw: DispatchWorld,
                                                        tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("类别,处置单位,颜色\nE99,CG,红\nE01,NOPE,蓝\n", encoding="utf-8")
    before = rules.list_sets(conn)
    with pytest.raises(ValidationError) as exc:
        ruleio.import_rules(conn, p, actor="admin")
    assert [p.code for p in exc.value.problems] == ["dispatch.unknown_fields"]
    p.write_text("类别,处置单位\nE99,CG\nE01,NOPE\n", encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        ruleio.import_rules(conn, p, actor="admin", dry_run=True)
    assert [(p.row, p.code) for p in exc.value.problems] == [
        (1, "dispatch.unknown_category"), (2, "dispatch.unknown_unit")]
    assert rules.list_sets(conn) == before
    p.write_text("类别,处置单位\nE01,CG\n", encoding="utf-8")
    assert ruleio.import_rules(conn, p, actor="admin", dry_run=True) == {
        "rules": 1, "set_id": None, "active": False, "dry_run": True}
    assert rules.list_sets(conn) == before
