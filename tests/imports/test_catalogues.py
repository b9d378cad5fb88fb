"""Reference catalogues from any file: BOM-safe, workbooks, division codes of any province."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.config import DATA_GEO
from gridmap.errors import ValidationError
from gridmap.imports.catalogues import import_catalogue_file, import_divisions


def _bom_copy(src: Path, dst: Path) -> Path:
    dst.write_bytes(b"\xef\xbb\xbf" + src.read_bytes())
    return dst


def test_event_categories_saved_by_excel_with_bom(conn: Connection, tmp_path: Path) -> None:
    path = _bom_copy(Path(DATA_GEO) / "event_categories.csv", tmp_path / "cats.csv")
    rep = import_catalogue_file(conn, "event-categories", path)
    assert rep["rows"] == 31 and rep["inserted"] == 0
    gb = tmp_path / "cats_gb.csv"  # the same file re-saved by a Chinese Excel: GB18030, ';'
    pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig").to_csv(
        gb, index=False, sep=";", encoding="gb18030")
    assert import_catalogue_file(conn, "event-categories", gb)["rows"] == 31


def test_work_calendar_from_a_workbook(conn: Connection, tmp_path: Path) -> None:
    frame = pd.read_csv(Path(DATA_GEO) / "work_calendar.csv", dtype=str, keep_default_na=False,
                        comment="#")
    path = tmp_path / "节假日.xlsx"
    frame.to_excel(path, index=False)
    rep = import_catalogue_file(conn, "work-calendar", path)
    assert rep["rows"] == len(frame) and rep["inserted"] == 0


def _nbs_shanghai(tmp_path: Path) -> Path:
    """黄浦区's real codes, written the way the NBS tables print them: 12 digits everywhere."""
    geo = Path(DATA_GEO) / "admin-codes"
    rows = [("310101000000", "黄浦区", "")]
    with open(geo / "shanghai_streets.csv", encoding="utf-8") as fh:
        rows += [(r["code"] + "000", r["name"], "310101000000") for r in csv.DictReader(fh)
                 if r["code"].startswith("310101")]
    with open(geo / "shanghai_committees.csv", encoding="utf-8") as fh:
        rows += [(r["code"], r["name"], r["streetCode"] + "000") for r in csv.DictReader(fh)
                 if r["code"].startswith("310101")]
    path = tmp_path / "统计用区划代码.csv"
    pd.DataFrame(rows, columns=["统计用区划代码", "名称", "上级代码"]).to_csv(
        path, index=False, encoding="gb18030")
    return path


def test_divisions_padded_nbs_codes_in_gb18030(conn: Connection, tmp_path: Path) -> None:
    conn.execute(sa.text("DELETE FROM admin_division WHERE code LIKE '310101%'"))
    rep = import_divisions(conn, _nbs_shanghai(tmp_path))
    assert rep["levels"] == {"district": 1, "street": 10, "community": 170}
    assert rep["inserted"] == 181
    row = conn.execute(sa.text("SELECT level, name, parent_code FROM admin_division "
                               "WHERE code = '310101002001'")).one()
    assert tuple(row) == ("community", "云南中路居委会", "310101002")
    assert import_divisions(conn, _nbs_shanghai(tmp_path))["inserted"] == 0  # idempotent


def test_divisions_of_another_province_china_division_layout(conn: Connection,
                                                             tmp_path: Path) -> None:
    # china-division's areas file layout (code, name, cityCode, provinceCode), with a BOM;
    # its provinces/cities rows (2/4 digits) are skipped and counted
    path = tmp_path / "areas.csv"
    path.write_text("code,name,cityCode,provinceCode\n11,北京市,,\n1101,市辖区,,11\n"
                    "110108,海淀区,1101,11\n", encoding="utf-8-sig")
    rep = import_divisions(conn, path)
    assert rep["skipped"] == 2 and rep["levels"] == {"district": 1}
    assert conn.execute(sa.text("SELECT name FROM admin_division WHERE code = '110108'")
                        ).scalar_one() == "海淀区"


def test_bad_division_file_lists_every_problem(conn: Connection, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("code,name\n1101081,某街道\n110108001,\n110108,海淀区\n110108,海甸区\n"
                    "31010x,黄浦\n", encoding="utf-8")
    before = conn.execute(sa.text("SELECT count(*) FROM admin_division")).scalar_one()
    with pytest.raises(ValidationError) as err:
        import_divisions(conn, path)
    assert sorted(p.code for p in err.value.problems) == [
        "tables.division_bad_code", "tables.division_bad_code", "tables.division_conflict",
        "tables.division_no_name"]
    assert conn.execute(sa.text("SELECT count(*) FROM admin_division")).scalar_one() == before
    path.write_text("编号,备注\n1,2\n", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        import_divisions(conn, path)
    assert err.value.code == "tables.division_columns"


def test_catalogue_with_a_profile_renaming_columns(conn: Connection, tmp_path: Path) -> None:
    from gridmap.imports.profiles import load_profile

    prof = tmp_path / "cal.yaml"
    prof.write_text("columns:\n  day: [日期]\n  kind: [类型]\n  name: [名称]\n"
                    "values:\n  kind: {放假: holiday, 调休上班: workday}\n", encoding="utf-8")
    path = tmp_path / "日历.xlsx"
    pd.DataFrame({"日期": ["2031-01-01", "2031-01-05"], "类型": ["放假", "调休上班"],
                  "名称": ["元旦", "调休"]}).to_excel(path, index=False)
    rep = import_catalogue_file(conn, "work-calendar", path, profile=load_profile(prof))
    assert rep["inserted"] == 2
    got = conn.execute(sa.text("SELECT kind FROM work_calendar WHERE day = '2031-01-05'"))
    assert got.scalar_one() == "workday"
    div = tmp_path / "d.csv"
    div.write_text("区划,单位\n110108,海淀区\n", encoding="utf-8")
    dprof = tmp_path / "d.yaml"
    dprof.write_text("columns: {code: [区划], name: [单位]}\n", encoding="utf-8")
    assert import_catalogue_file(conn, "divisions", div,
                                 profile=load_profile(dprof))["levels"] == {"district": 1}
