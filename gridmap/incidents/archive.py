"""Retention: whole months of cases out of the live tables into files (docs/city.md).

``archive(conn, before, directory)`` takes every monthly partition of ``incident`` and
``incident_event`` that ends on or before ``before``: each is detached (a catalogue change,
no row is rewritten), written to ``<directory>/<partition>.csv.gz`` with ``COPY … TO``, and
dropped. The rollups keep their counts (dashboards and trends still show archived months).
Rows of other tables that refer to archived cases (photos, comments, supervision) are left
where they are (they hold no rows of the case itself) and are counted in the report. :func:`restore` loads an archive file back.
``dry_run`` reports what would move and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import gzip
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.db import partitions
from gridmap.db.engine import raw_psycopg
from gridmap.errors import ValidationError

_REFERRING = ("incident_photo", "case_comment", "supervision", "notification", "address_queue")


@dataclass
class ArchiveReport:
    """Partitions archived (or that would be), their rows and files."""

    before: str
    dry_run: bool
    partitions: list[dict[str, Any]] = field(default_factory=list)
    incidents: int = 0
    events: int = 0
    referring_rows: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly mapping."""
        return asdict(self)


def _due(conn: Connection, before: dt.date) -> list[partitions.Partition]:
    out = []
    for table in ("incident", "incident_event"):
        for p in partitions.list_partitions(conn, table):
            if p.month is not None and partitions.add_months(p.month, 1) <= before:
                out.append(p)
    return out


def _count(conn: Connection, name: str) -> int:
    return int(conn.execute(sa.text(
        f"SELECT count(*) FROM {name}")).scalar_one())  # noqa: S608 - catalogue name


def _referring(conn: Connection, names: list[str]) -> dict[str, int]:
    """Rows of other tables that refer to cases in the incident partitions ``names``."""
    out: dict[str, int] = {}
    for table in _REFERRING:
        if conn.execute(sa.text("SELECT to_regclass(:t) IS NOT NULL"), {"t": table}).scalar():
            n = sum(int(conn.execute(sa.text(
                f"SELECT count(*) FROM {table} r WHERE EXISTS (SELECT 1 FROM {p} i "  # noqa: S608
                "WHERE i.id = r.incident_id)")).scalar_one()) for p in names)
            if n:
                out[table] = n
    return out


def _export(conn: Connection, name: str, path: Path) -> None:
    cur = raw_psycopg(conn).cursor()
    with gzip.open(path, "wb") as fh, cur.copy(
            f"COPY {name} TO STDOUT WITH (FORMAT csv, HEADER)") as cp:  # noqa: S608
        for chunk in cp:
            fh.write(chunk)


def archive(conn: Connection, before: dt.date, directory: Path, *,
            dry_run: bool = False) -> ArchiveReport:
    """Archive every month that ends on or before ``before`` (see the module docstring).

    Raises
    ------
    ValidationError
        ``city.archive_future``: ``before`` after the first day of the current month.
    """
    if before > dt.date.today().replace(day=1):
        raise ValidationError("city.archive_future", params={"before": before.isoformat()})
    report = ArchiveReport(before.isoformat(), dry_run)
    due = _due(conn, before)
    for p in due:
        n = _count(conn, p.name)
        path = directory / f"{p.name}.csv.gz"
        report.partitions.append({"name": p.name, "rows": n, "file": str(path)})
        if p.table == "incident":
            report.incidents += n
        else:
            report.events += n
    report.referring_rows = _referring(conn, [p.name for p in due if p.table == "incident"])
    if dry_run or not due:
        return report
    directory.mkdir(parents=True, exist_ok=True)
    with conn.begin_nested():
        for p in due:
            partitions.detach(conn, p.table, p.month or before)
            _export(conn, p.name, directory / f"{p.name}.csv.gz")
            conn.execute(sa.text(f"DROP TABLE {p.name}"))  # noqa: S608 - catalogue name
    return report


def restore(conn: Connection, path: Path) -> int:
    """Load an archive file back into its live table (the month's partition is recreated by
    the insert path or lands in the default partition); returns the rows loaded.

    Rollups are not changed: they kept the archived counts.
    """
    name = path.name.removesuffix(".csv.gz")
    table = name.rsplit("_p", 1)[0]
    if table not in partitions.PARTITIONED:
        raise ValidationError("city.archive_unknown_file", params={"file": path.name})
    month = dt.date(int(name[-7:-3]), int(name[-2:]), 1)
    partitions.ensure(conn, month, month, tables=(table,))
    conn.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))  # noqa: S608
    cur = raw_psycopg(conn).cursor()
    with gzip.open(path, "rb") as fh, cur.copy(
            f"COPY {table} FROM STDIN WITH (FORMAT csv, HEADER)") as cp:  # noqa: S608
        while chunk := fh.read(1 << 20):
            cp.write(chunk)
    conn.execute(sa.text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))  # noqa: S608
    return int(cur.rowcount)
