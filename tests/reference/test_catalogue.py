"""Reference catalogues: a city's own values replace the shipped [unverified] defaults and
survive later migrations; bad files change nothing."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.db import make_engine
from gridmap.errors import ValidationError
from gridmap.reference import catalogue, workcal
from tests.conftest import REPO

CAT_HEADER = ("code,parent_code,name_zh,name_en,default_urgency,time_limit,time_unit,"
              "confidence,limit_confidence,limit_source\n")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _limit(conn: Connection, code: str) -> tuple[float | None, str | None]:
    row = conn.execute(sa.text("SELECT time_limit, time_unit FROM event_category "
                               "WHERE code = :c"), {"c": code}).one()
    return row[0], row[1]


def test_city_time_limits_and_new_categories_survive_migrate(conn: Connection,
                                                             tmp_path: Path) -> None:
    assert _limit(conn, "E0102") == (4, "working_hour")  # shipped default
    f = _write(tmp_path, "cats.csv", CAT_HEADER
               + "E0102,E01,暴露垃圾,Exposed rubbish,normal,2,working_hour,local,local,本市标准\n"
               + "E0691,E06,共享单车乱停放,Misparked shared bikes,normal,1,working_day,local,"
               "local,本市扩展事件\n")
    rep = catalogue.import_catalogue(conn, "event-categories", f)
    assert (rep["inserted"], rep["updated"], rep["removed"]) == (1, 1, 0)
    assert _limit(conn, "E0102") == (2, "working_hour")
    catalogue.load_reference(conn)  # what every `gridmap db migrate` runs
    assert _limit(conn, "E0102") == (2, "working_hour")  # the city's value is kept
    assert _limit(conn, "E0691") == (1, "working_day")


def test_bad_catalogue_lists_every_problem_and_writes_nothing(conn: Connection,
                                                              tmp_path: Path) -> None:
    f = _write(tmp_path, "bad.csv", CAT_HEADER
               + "E0102,E01,暴露垃圾,,normal,two,working_hour,,,\n"
               + "E0692,E99,x,,loud,1,fortnight,,,\n")
    with pytest.raises(ValidationError) as exc:
        catalogue.import_catalogue(conn, "event-categories", f)
    fields = sorted((p.row, p.field) for p in exc.value.problems)
    assert fields == [(1, "time_limit"), (2, "default_urgency"), (2, "time_unit")]
    f2 = _write(tmp_path, "orphan.csv", CAT_HEADER + "E0693,E99,x,,normal,1,working_day,,,\n")
    with pytest.raises(ValidationError, match="invalid") as exc2:
        catalogue.import_catalogue(conn, "event-categories", f2)
    assert "unknown parent code 'E99'" in exc2.value.problems[0].reason
    assert _limit(conn, "E0102") == (4, "working_hour")
    with pytest.raises(ValidationError, match="unknown catalogue"):
        catalogue.import_catalogue(conn, "holidays", f)


def test_city_calendar_replaces_a_year_and_moves_due_times(conn: Connection,
                                                           tmp_path: Path) -> None:
    # the city's 2026: 1 January is a working day after all, 2 January a holiday
    f = _write(tmp_path, "cal.csv", "# the city's own\nday,kind,name,source\n"
               "2026-01-02,holiday,元旦,本市通知\n")
    stored_2026 = conn.execute(sa.text("SELECT count(*) FROM work_calendar "
                                       "WHERE extract(year FROM day) = 2026")).scalar_one()
    rep = catalogue.import_catalogue(conn, "work-calendar", f, replace_years=True)
    assert rep["removed"] == stored_2026 - (1 if rep["updated"] else 0) and stored_2026 > 1
    cal = workcal.calendar_from_db(conn)
    assert dt.date(2026, 1, 2) in cal.holidays and dt.date(2026, 1, 1) not in cal.holidays
    assert dt.date(2025, 10, 1) in cal.holidays  # other years untouched
    start = dt.datetime(2026, 1, 1, 9, 0, tzinfo=workcal.LOCAL_TZ)  # a Thursday
    due = cal.due(start, 1, "working_day")
    assert due.date() == dt.date(2026, 1, 5)  # Thu works, Fri is the holiday, weekend off


def test_cli_dry_run_then_import(cli_env: dict[str, str], fresh_db_url: str,
                                 tmp_path: Path) -> None:
    f = _write(tmp_path, "types.csv", (REPO / "gridmap/data/facility_catalogue.csv").read_text(
        encoding="utf-8").replace("junior_school,初中,Junior secondary school,15min,1000,",
                                  "junior_school,初中,Junior secondary school,15min,1200,"))
    gm = str(REPO / ".venv" / "bin" / "gridmap")

    def radius() -> float:
        eng = make_engine(fresh_db_url, poolclass=sa.pool.NullPool)
        with eng.connect() as c:
            r = c.execute(sa.text("SELECT radius_m FROM facility_type "
                                  "WHERE code = 'junior_school'")).scalar_one()
        eng.dispose()
        return float(r)

    out = subprocess.run([gm, "import", "catalogue", "facility-types", str(f), "--dry-run"],
                         env=cli_env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "would add 0, updated" in out.stdout
    assert radius() == 1000
    out = subprocess.run([gm, "import", "catalogue", "facility-types", str(f)],
                         env=cli_env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert radius() == 1200
    bad = _write(tmp_path, "bad.csv", "code,name_zh\nx,\n")
    out = subprocess.run([gm, "import", "catalogue", "facility-types", str(bad)],
                         env=cli_env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and radius() == 1200
