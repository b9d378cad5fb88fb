"""Reading the org spreadsheets: sheet kinds by name or headers, Chinese headers, GB18030
CSV, missing required columns."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError
from gridmap.org import importing
from gridmap.org.sheets import guess_kind, read_org_file
from tests.fixtures.org_world import UNITS, build_geography, org_rows, write_org_xlsx


def _hash(password: str) -> str:
    return "test$" + password


def test_kinds_from_headers() -> None:
    assert guess_kind(["用户名", "网格编码", "职责/值班时间"]) == "assignments"
    assert guess_kind([" 单位编码", "单位名称", "类型"]) == "units"
    assert guess_kind(["Username", "Posts"]) == "staff"
    assert guess_kind(["名称"]) is None


def test_csv_in_gb18030_with_its_kind_from_the_headers(conn: Connection,
                                                      tmp_path: Path) -> None:
    build_geography(conn)
    path = tmp_path / "units.csv"
    lines = [",".join(r) for r in org_rows()["单位"]]
    path.write_bytes("\n".join(lines).encode("gb18030"))
    sheets, _ = read_org_file(path)
    assert list(sheets) == ["units"]
    report = importing.import_org(conn, sheets, hash_password=_hash)
    assert report.units_created == len(UNITS)


def test_missing_required_column(conn: Connection, tmp_path: Path) -> None:
    body = [("姓名", "岗位"), ("张三", "网格员")]
    with pytest.raises(ValidationError) as err:
        read_org_file(write_org_xlsx(tmp_path / "x.xlsx", {"其他": body}))
    assert "org.no_sheets" in {p.code for p in err.value.problems}
    sheets, found = read_org_file(write_org_xlsx(tmp_path / "y.xlsx", {"人员": body}))
    assert [p.code for p in found] == ["org.missing_column"]
    with pytest.raises(ValidationError):
        importing.import_org(conn, sheets, hash_password=_hash, read_problems=found)
