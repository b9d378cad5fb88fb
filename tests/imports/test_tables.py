"""read_table: the encodings, separators and workbooks an office's files come in."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gridmap.errors import ValidationError
from gridmap.imports.tables import detect_encoding, excel_serial_to_datetime, read_table
from tests.fixtures.hotline import HEADERS, hotline_frame, write_bom_csv, write_gb18030, write_xlsx


@pytest.fixture
def frame() -> pd.DataFrame:
    return hotline_frame(40, seed=3)


def _same(table_frame: pd.DataFrame, frame: pd.DataFrame) -> None:
    assert list(table_frame.columns) == list(HEADERS)
    assert table_frame["诉求内容"].tolist() == frame["诉求内容"].tolist()
    assert table_frame["承办单位"].tolist() == frame["承办单位"].tolist()


def test_gb18030_csv_is_detected(frame: pd.DataFrame, tmp_path: Path) -> None:
    t = read_table(write_gb18030(frame, tmp_path / "工单.csv"))
    assert t.encoding == "gb18030" and t.separator == ","
    _same(t.frame, frame)


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_utf8_bom_and_separators(frame: pd.DataFrame, tmp_path: Path, sep: str) -> None:
    t = read_table(write_bom_csv(frame, tmp_path / "工单.csv", sep=sep))
    assert t.encoding == "utf-8-sig" and t.separator == sep
    assert t.columns[0] == "工单编号"  # no BOM glued to the first header
    _same(t.frame, frame)


def test_plain_utf8_and_gbk_subset(frame: pd.DataFrame, tmp_path: Path) -> None:
    frame.to_csv(tmp_path / "u.csv", index=False)
    assert read_table(tmp_path / "u.csv").encoding == "utf-8"
    frame.to_csv(tmp_path / "g.csv", index=False, encoding="gbk")
    t = read_table(tmp_path / "g.csv")
    assert t.encoding == "gb18030"  # GBK is a subset: read as its superset
    _same(t.frame, frame)


def test_tiny_gb_file_is_not_taken_for_korean(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_bytes("工单编号,诉求类型\nGD1,噪声扰民\n".encode("gb18030"))
    assert detect_encoding((tmp_path / "t.csv").read_bytes()) == "gb18030"


def test_xlsx_sheets_and_dates(frame: pd.DataFrame, tmp_path: Path) -> None:
    path = write_xlsx(frame, tmp_path / "工单.xlsx")
    t = read_table(path, sheet="工单明细")
    assert t.encoding is None and t.sheet == "工单明细" and t.sheets == ["说明", "工单明细"]
    _same(t.frame, frame)
    assert read_table(path).sheet == "说明"  # default: the first sheet
    assert read_table(path, sheet="1").sheet == "工单明细"
    with pytest.raises(ValidationError) as err:
        read_table(path, sheet="工单")
    assert err.value.code == "tables.unknown_sheet" and "工单明细" in str(err.value)


def test_xlsx_without_suffix_is_recognised(frame: pd.DataFrame, tmp_path: Path) -> None:
    path = write_xlsx(frame, tmp_path / "export.xlsx")
    renamed = path.rename(tmp_path / "export.dat")
    assert read_table(renamed, sheet=1).sheet == "工单明细"


def test_excel_serial_dates() -> None:
    got = excel_serial_to_datetime(pd.Series(["45352.5", "1", "abc", "", "45352.2500001"]))
    assert got.iloc[0] == pd.Timestamp("2024-03-01 12:00")
    assert got.iloc[1] == pd.Timestamp("1899-12-31")
    assert got.iloc[2:4].isna().all()
    assert got.iloc[4] == pd.Timestamp("2024-03-01 06:00")


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as err:
        read_table(tmp_path / "nope.csv")
    assert err.value.code == "tables.file_not_found"
    (tmp_path / "bad.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(ValidationError) as err:
        read_table(tmp_path / "bad.xlsx")
    assert err.value.code == "tables.unreadable"
    with pytest.raises(ValidationError) as err:
        read_table(write_gb18030(hotline_frame(2), tmp_path / "x.csv"), encoding="utf-8")
    assert err.value.code == "tables.undecodable"
