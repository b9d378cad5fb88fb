"""Import runs (``import_run``) and their reports, laid out as readable tables.

A report is whatever JSON the import stored (counts, problems, warnings, per-layer
figures). :func:`report_tables` turns it into sections a page can show without knowing the
import: one table of the scalar figures (nested keys joined with ``›``) and one table per
list of records (its columns the union of the records' keys).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import NotFound

MAX_ROWS = 500
"""Rows shown of one list in a report (the rest counted)."""


@dataclass(frozen=True)
class Run:
    """One import run (``report`` only when read with :func:`get_run`)."""

    id: int
    kind: str
    source_file: str | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    actor: str | None
    dry_run: bool | None = None
    problems: int | None = None
    report: Any = None


@dataclass
class ReportTable:
    """A section of a report: a caption (its key path), columns and rows of text."""

    caption: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    more: int = 0


_LIST = sa.text("""
SELECT id, kind, source_file, started_at, finished_at, actor,
       CASE WHEN jsonb_typeof(report->'dry_run') = 'boolean' THEN (report->>'dry_run')::boolean
       END AS dry_run,
       CASE WHEN jsonb_typeof(report->'problems') = 'array'
            THEN jsonb_array_length(report->'problems') END AS problems
FROM import_run
WHERE CAST(:kind AS text) IS NULL OR kind = :kind
ORDER BY started_at DESC NULLS LAST, id DESC
LIMIT :lim
""")


def list_runs(conn: Connection, kind: str | None = None, limit: int = 200) -> list[Run]:
    """The latest import runs (optionally of one ``kind``), newest first, without reports."""
    rows = conn.execute(_LIST, {"kind": kind or None, "lim": max(1, min(limit, 1000))})
    return [Run(**dict(r)) for r in rows.mappings()]


def kinds(conn: Connection) -> list[str]:
    """The kinds of import that have run."""
    return [r[0] for r in conn.execute(sa.text("SELECT DISTINCT kind FROM import_run ORDER BY 1"))]


def get_run(conn: Connection, run_id: int) -> Run:
    """One import run with its report. Raises :class:`NotFound` (``admin.no_import_run``)."""
    row = conn.execute(sa.text(
        "SELECT id, kind, source_file, started_at, finished_at, actor, report FROM import_run"
        " WHERE id = :i"), {"i": run_id}).mappings().first()
    if row is None:
        raise NotFound("admin.no_import_run", {"id": run_id})
    return Run(**dict(row))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _is_records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _walk(value: Any, path: str, scalars: list[list[str]], tables: list[ReportTable]) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            _walk(sub, f"{path} › {key}" if path else str(key), scalars, tables)
    elif _is_records(value):
        columns: list[str] = []
        for rec in value:
            columns += [str(k) for k in rec if str(k) not in columns]
        rows = [[_text(rec.get(c)) for c in columns] for rec in value[:MAX_ROWS]]
        tables.append(ReportTable(path, columns, rows, max(0, len(value) - MAX_ROWS)))
    elif isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
        scalars.append([path, ", ".join(_text(v) for v in value[:MAX_ROWS])])
    else:
        scalars.append([path, _text(value)])


def report_tables(report: Any) -> list[ReportTable]:
    """The report as tables: the figures first (key, value), then each list of records."""
    scalars: list[list[str]] = []
    tables: list[ReportTable] = []
    _walk(report, "", scalars, tables)
    head = [ReportTable("", ["key", "value"], scalars)] if scalars else []
    return head + tables
