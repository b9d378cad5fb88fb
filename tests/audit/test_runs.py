"""Import runs (gridmap.audit.runs): newest first, the report as readable tables."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.audit import runs
from gridmap.errors import NotFound

REPORT = {"rows": 3, "dry_run": False, "written": {"incident": 2, "event": 5},
          "problems": [{"row": 2, "field": "lon", "code": "bad_lon"},
                       {"row": 3, "field": "time", "hint": "日期"}],
          "files": ["a.csv", "b.csv"]}


def test_runs_and_report_tables(conn: Connection) -> None:
    ids = [conn.execute(sa.text(
        "INSERT INTO import_run (kind, source_file, actor, started_at, report)"
        " VALUES (:k, :f, 'carol', now() - make_interval(mins => :m), CAST(:r AS jsonb))"
        " RETURNING id"), {"k": k, "f": f, "m": m, "r": json.dumps(REPORT)}).scalar_one()
        for k, f, m in (("incidents", "cases.xlsx", 10), ("osm", "x.pbf", 5))]
    listed = runs.list_runs(conn)
    assert [r.id for r in listed[:2]] == [ids[1], ids[0]]
    assert listed[0].problems == 2 and listed[0].dry_run is False
    assert [r.id for r in runs.list_runs(conn, kind="incidents")] == [ids[0]]
    assert {"incidents", "osm"} <= set(runs.kinds(conn))

    run = runs.get_run(conn, ids[0])
    tables = runs.report_tables(run.report)
    figures = dict(map(tuple, tables[0].rows))
    assert figures["rows"] == "3" and figures["written › incident"] == "2"
    assert figures["dry_run"] == "✗" and figures["files"] == "a.csv, b.csv"
    problems = tables[1]
    assert problems.caption == "problems"
    assert sorted(problems.columns) == ["code", "field", "hint", "row"]  # jsonb orders keys
    second = dict(zip(problems.columns, problems.rows[1], strict=True))
    assert second == {"row": "3", "field": "time", "code": "", "hint": "日期"}
    with pytest.raises(NotFound):
        runs.get_run(conn, 10**9)


def test_long_lists_are_cut_and_counted() -> None:
    tables = runs.report_tables({"problems": [{"row": i} for i in range(runs.MAX_ROWS + 7)]})
    assert len(tables[0].rows) == runs.MAX_ROWS and tables[0].more == 7
