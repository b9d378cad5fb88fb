"""Import of units, staff and assignments: one XLSX with three sheets, dry run, every problem
of every sheet at once, nothing written on error."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError
from gridmap.org import assignments, importing, staff, tree
from gridmap.org.sheets import read_org_file
from tests.fixtures.org_world import (
    GRID,
    STAFF,
    UNITS,
    build_geography,
    org_rows,
    write_org_xlsx,
)


def _hash(password: str) -> str:
    return "test$" + password


def _counts(conn: Connection) -> tuple[int, ...]:
    return tuple(conn.execute(sa.text(
        f"SELECT count(*) FROM {t}")).scalar_one()  # noqa: S608
        for t in ("org_unit", "org_unit_area", "app_user", "staff_post", "grid_assignment"))


def test_one_workbook_imports_everything(conn: Connection, tmp_path: Path) -> None:
    build_geography(conn)
    sheets, found = read_org_file(write_org_xlsx(tmp_path / "org.xlsx"))
    assert set(sheets) == {"units", "staff", "assignments"} and found == []
    dry = importing.import_org(conn, sheets, hash_password=_hash, dry_run=True)
    before = _counts(conn)
    assert (dry.units_created, dry.users_created, dry.passwords) == (len(UNITS), len(STAFF) + 1,
                                                                     [])
    report = importing.import_org(conn, sheets, hash_password=_hash)
    assert _counts(conn) != before
    assert (report.units_created, report.users_created, report.assignments_created) == (
        len(UNITS), len(STAFF) + 1, 4)
    assert report.posts == sum(len(p.split(",")) for *_, p in STAFF)
    assert len({p for _, p in report.passwords}) == len(STAFF) + 1
    uid = staff.user_id(conn, "ow_jwe")
    assert {p.post for p in staff.posts_of(conn, uid)} == {"handler", "dispatcher"}
    wy = conn.execute(sa.text("SELECT id FROM org_unit WHERE code = 'WY'")).scalar_one()
    assert len(tree.parent_chain(conn, wy)) == 3
    assert [g.grid_code for g in assignments.unassigned_grids(conn)] == [GRID["W2"]]
    again = importing.import_org(conn, sheets, hash_password=_hash)
    assert (again.units_created, again.units_updated, again.users_created,
            again.users_linked, again.assignments_created) == (0, len(UNITS), 0, len(STAFF) + 1, 0)


def test_every_problem_of_every_sheet_and_nothing_written(conn: Connection,
                                                          tmp_path: Path) -> None:
    build_geography(conn)
    rows = org_rows()
    rows["单位"].append(("BAD", "坏单位", "火星局", "块", "", "NOPE", "", "", ""))
    rows["人员"].append(("x y", "坏人", "CG", "厨师"))
    rows["人员"].append(("ok_user", "无单位", "", "处置人员"))
    rows["网格分配"].append(("ow_cg", "319902001009009", "", "楼长", ""))
    sheets, _ = read_org_file(write_org_xlsx(tmp_path / "bad.xlsx", rows))
    before = _counts(conn)
    with pytest.raises(ValidationError) as err:
        importing.import_org(conn, sheets, hash_password=_hash)
    got = {(p.field, p.row, p.code) for p in err.value.problems}
    assert got == {
        ("单位:类型", 9, "org.unknown_kind"), ("人员:用户名", 16, "org.bad_username"),
        ("人员:岗位", 16, "org.unknown_post"), ("人员:所属单位", 17, "org.post_needs_unit"),
        ("网格分配:网格编码", 6, "org.unknown_grid")}
    assert _counts(conn) == before
    assert "第 9 行" in err.value.render("zh")


def test_a_parent_narrower_than_its_unit_is_a_warning(conn: Connection, tmp_path: Path) -> None:
    build_geography(conn)
    rows = org_rows()
    rows["单位"].append(("XJ", "挂错的中队", "城管中队", "", "", "JW-W", "", "", ""))
    sheets, _ = read_org_file(write_org_xlsx(tmp_path / "w.xlsx", rows))
    report = importing.import_org(conn, sheets, hash_password=_hash)
    assert [(w.code, w.row) for w in report.warnings] == [("org.parent_narrower", 9)]
    assert report.units_created == len(UNITS) + 1
