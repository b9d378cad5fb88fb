"""Incidents from an office's own hotline files (gridmap.imports.cases): mapped columns,
category resolution, history, bad rows at scale, location report; database unchanged on error.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError
from gridmap.imports import cases
from gridmap.imports.problems import write_rejects
from gridmap.imports.profiles import load_profile
from gridmap.incidents.intake import IntakeParams
from tests.fixtures.hotline import hotline_frame, write_gb18030, write_xlsx
from tests.fixtures.incident_world import build_world

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
HOTLINE = load_profile("hotline-12345")


@pytest.fixture
def world(conn: Connection) -> dict[str, int]:
    return build_world(conn)


def _count(conn: Connection, sql: str = "SELECT count(*) FROM incident") -> int:
    return int(conn.execute(sa.text(sql)).scalar_one())


def _run(conn: Connection, path: Path, **opts: object) -> cases.CaseResult:
    params = IntakeParams(outside_tolerance_m=float(opts.pop("tolerance", 2000.0)))  # type: ignore[arg-type]
    options = cases.CaseOptions(profile=opts.pop("profile", HOTLINE), **opts)  # type: ignore[arg-type]
    return cases.import_cases(conn, cases.read_cases(path, options.profile), options,
                              actor="test", params=params)


def test_gb18030_history_export_keeps_times_and_states(conn: Connection, world: dict[str, int],
                                                       tmp_path: Path) -> None:
    frame = hotline_frame(120, seed=5)
    res = _run(conn, write_gb18030(frame, tmp_path / "12345工单.csv"), history=True)
    rep = res.report
    assert rep["inserted"] == 120 and rep["rejected"] == 0
    # every case counted by how it was located
    assert rep["in_grid"] + rep["nearest_grid"] + rep["no_grid"] == 120
    closed = frame[frame["处理状态"] == "已办结"]
    row = conn.execute(sa.text(
        "SELECT state, closed_at, dispatched_at, due_at, responsible_unit, satisfaction, "
        "source, original_category, category_code FROM incident WHERE external_id = :e"),
        {"e": closed["工单编号"].iloc[0]}).one()
    want = pd.Timestamp(closed["办结时间"].iloc[0]).tz_localize("Asia/Shanghai")
    assert row.state == "closed" and pd.Timestamp(row.closed_at) == want
    assert row.due_at is not None and row.due_at > row.dispatched_at  # computed from the limit
    assert row.responsible_unit == closed["承办单位"].iloc[0]
    assert row.satisfaction == closed["满意度"].iloc[0] and row.source == "hotline_12345"
    # the office's words become the 评价 score the indicators count (满意 5, 基本满意 4, 不满意 1)
    got = dict(conn.execute(sa.text(
        "SELECT satisfaction, array_agg(DISTINCT satisfaction_score) FROM incident"
        " WHERE satisfaction IS NOT NULL GROUP BY 1")).all())
    assert got == {"满意": [5], "基本满意": [4], "不满意": [1]}
    assert _count(conn, "SELECT count(*) FROM incident WHERE satisfaction IS NULL"
                  " AND satisfaction_score IS NOT NULL") == 0
    assert row.original_category == closed["诉求类型"].iloc[0]
    # imported events, never fake transitions
    ev = conn.execute(sa.text(
        "SELECT e.from_state, e.to_state, e.note, e.data FROM incident_event e "
        "JOIN incident i ON i.id = e.incident_id WHERE i.external_id = :e ORDER BY e.at"),
        {"e": closed["工单编号"].iloc[0]}).all()
    assert [(e.from_state, e.to_state, e.note) for e in ev] == [
        (None, "reported", "intake"), (None, "closed", "imported")]
    assert ev[1].data["imported"] is True and "closed_at" in ev[1].data
    assert _count(conn, "SELECT count(*) FROM incident_event WHERE note = 'imported'") == 120
    # the indicators see the history
    assert _count(conn, "SELECT count(*) FROM incident WHERE closed_at IS NOT NULL "
                  "AND due_at IS NOT NULL") == len(closed)
    again = _run(conn, write_gb18030(frame, tmp_path / "again.csv"), history=True)
    assert again.report["inserted"] == 0 and again.report["skipped_existing"] == 120


def test_xlsx_with_serial_dates_imports_the_same(conn: Connection, world: dict[str, int],
                                                 tmp_path: Path) -> None:
    frame = hotline_frame(30, seed=6, closed_share=0.0)
    path = write_xlsx(frame, tmp_path / "工单.xlsx", serial_dates=True)
    table = cases.read_table(path, sheet="工单明细")
    res = cases.import_cases(conn, table, cases.CaseOptions(profile=HOTLINE, history=True),
                             actor="test")
    assert res.report["inserted"] == 30
    got = conn.execute(sa.text("SELECT reported_at FROM incident WHERE external_id = :e"),
                       {"e": frame["工单编号"].iloc[3]}).scalar_one()
    want = pd.Timestamp(frame["受理时间"].iloc[3]).tz_localize("Asia/Shanghai")
    assert abs(pd.Timestamp(got) - want) < pd.Timedelta(seconds=1)


def test_history_needs_the_flag(conn: Connection, world: dict[str, int], tmp_path: Path) -> None:
    path = write_gb18030(hotline_frame(20, seed=7), tmp_path / "h.csv")
    with pytest.raises(ValidationError) as err:
        _run(conn, path)
    assert {p.code for p in err.value.problems} == {"tables.history_needs_flag"}
    assert len(err.value.problems) == 20 and _count(conn) == 0


def test_unmapped_categories_listed_then_flagged_for_review(conn: Connection,
                                                           world: dict[str, int],
                                                           tmp_path: Path) -> None:
    frame = hotline_frame(50, seed=8, closed_share=0.0)
    frame.loc[:9, "诉求类型"] = "宠物扰民"
    frame.loc[10:12, "诉求类型"] = "高空抛物"
    path = write_gb18030(frame, tmp_path / "c.csv")
    with pytest.raises(ValidationError) as err:
        _run(conn, path, history=True)
    summary = [p for p in err.value.problems if p.code == "tables.unmapped_categories"]
    assert summary[0].params["values"] == "宠物扰民 (10), 高空抛物 (3)"
    assert summary[0].params["rows"] == 13 and _count(conn) == 0
    with pytest.raises(ValidationError) as err:
        _run(conn, path, history=True, unmapped_to="ZZZ")
    assert err.value.code == "tables.unknown_fallback_category" and _count(conn) == 0
    res = _run(conn, path, history=True, unmapped_to="E0604")
    assert res.report["inserted"] == 50 and res.report["review"] == 13
    rows = conn.execute(sa.text(
        "SELECT original_category, count(*) FROM incident WHERE category_review "
        "GROUP BY 1 ORDER BY 1")).all()
    assert [tuple(r) for r in rows] == [("宠物扰民", 10), ("高空抛物", 3)]


def _bad_file(tmp_path: Path, n_bad: int) -> tuple[Path, pd.DataFrame]:
    frame = hotline_frame(60 + n_bad, seed=9, closed_share=0.0)
    bad = frame.index[60:]
    frame.loc[bad, "经度"] = ""                                     # no coordinates
    frame.loc[60, "受理时间"] = "上周三"                             # unreadable date
    frame.loc[61, ["经度", "纬度"]] = ["116.3", "39.99"]             # Beijing: far outside
    return write_gb18030(frame, tmp_path / "bad.csv"), frame


def test_every_bad_row_is_reported_never_cut(conn: Connection, world: dict[str, int],
                                             tmp_path: Path) -> None:
    path, _ = _bad_file(tmp_path, 1500)
    with pytest.raises(ValidationError) as err:
        _run(conn, path, history=True)
    errors = [p for p in err.value.problems if p.severity == "error"]
    assert len({p.row for p in errors}) == 1500 == err.value.params["n"]
    codes = {p.code for p in errors}
    assert {"incidents.no_coordinates", "tables.unreadable_date",
            "incidents.outside_district"} <= codes
    assert "incidents.missing_report_time" not in codes  # not reported twice
    assert _count(conn) == 0


def test_reject_file_imports_the_good_rows(conn: Connection, world: dict[str, int],
                                           tmp_path: Path) -> None:
    path, frame = _bad_file(tmp_path, 5)
    res = _run(conn, path, history=True, reject=True)
    assert res.report["inserted"] == 60 and res.rejected == 5
    out = tmp_path / "rejected.csv"
    assert write_rejects(cases.read_cases(path).frame, res.problems, out, lang="zh") == 5
    rej = pd.read_csv(out, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    assert rej["工单编号"].tolist() == frame["工单编号"].iloc[60:].tolist()
    assert rej["source_row"].tolist() == ["61", "62", "63", "64", "65"]
    assert "无法识别的时间" in rej["reasons"].iloc[0] and "不在本区范围内" in rej["reasons"].iloc[1]


def test_outside_tolerance_is_a_parameter(conn: Connection, world: dict[str, int],
                                          tmp_path: Path) -> None:
    frame = hotline_frame(3, seed=10, closed_share=0.0)
    frame.loc[0, ["经度", "纬度"]] = ["121.465", "31.22"]  # ~2.4 km east of the district
    path = write_gb18030(frame, tmp_path / "o.csv")
    with pytest.raises(ValidationError) as err:
        _run(conn, path, history=True)
    assert [p.code for p in err.value.problems if p.severity == "error"] == [
        "incidents.outside_district"]
    res = _run(conn, path, history=True, tolerance=3000)
    assert res.report["inserted"] == 3 and res.report["nearest_grid"] >= 1


def test_cases_before_the_first_plan_use_the_earliest_plan(conn: Connection,
                                                          world: dict[str, int],
                                                          tmp_path: Path) -> None:
    frame = hotline_frame(10, seed=11, start=dt.datetime(2024, 3, 1), closed_share=1.0)
    frame["受理时间"] = [f"2024-0{1 + i % 9}-15 10:00:00" for i in range(10)]
    frame["派遣时间"] = [f"2024-0{1 + i % 9}-15 11:00:00" for i in range(10)]
    frame["办结时间"] = [f"2024-0{1 + i % 9}-16 11:00:00" for i in range(10)]
    frame.loc[0, ["经度", "纬度"]] = ["121.405", "31.215"]  # inside G3
    res = _run(conn, write_gb18030(frame, tmp_path / "old.csv"), history=True)
    assert res.report["before_first_plan"] == 10 and res.report["no_grid"] == 0
    row = conn.execute(sa.text(
        "SELECT grid_id, street_id, location_note, located_by FROM incident "
        "WHERE external_id = :e"), {"e": frame["工单编号"].iloc[0]}).one()
    assert row.grid_id == world["G3"] and row.street_id == world["S"]
    assert row.location_note == "before_first_plan" and row.located_by == "grid"
    assert _count(conn, "SELECT count(*) FROM incident WHERE grid_id IS NULL") == 0


def test_plain_open311_file_still_works(conn: Connection, world: dict[str, int],
                                        tmp_path: Path) -> None:
    from tests.fixtures.incident_world import GOOD, write_csv

    path = write_csv(tmp_path, GOOD)
    res = cases.import_cases(conn, cases.read_cases(path), cases.CaseOptions(), actor="t")
    assert res.report["inserted"] == 2 and res.report["nearest_grid"] == 1


def test_an_office_satisfaction_scale_file_is_used(conn: Connection, world: dict[str, int],
                                                   tmp_path: Path) -> None:
    scale = tmp_path / "scale.csv"
    scale.write_text("text,score\n满意,4\n基本满意,3\n不满意,2\n", encoding="utf-8")
    options = cases.CaseOptions(profile=HOTLINE, history=True)
    params = IntakeParams(outside_tolerance_m=2000.0, satisfaction_scale_file=str(scale))
    path = write_gb18030(hotline_frame(60, seed=8), tmp_path / "12345.csv")
    cases.import_cases(conn, cases.read_cases(path, HOTLINE), options, actor="t", params=params)
    got = dict(conn.execute(sa.text(
        "SELECT satisfaction, array_agg(DISTINCT satisfaction_score) FROM incident"
        " WHERE satisfaction IS NOT NULL GROUP BY 1")).all())
    assert got == {"满意": [4], "基本满意": [3], "不满意": [2]}
