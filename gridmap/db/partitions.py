"""Monthly partitions of the incident tables (migration 0020, docs/city.md).

``incident`` is partitioned by ``reported_at`` and ``incident_event`` by ``at``, one partition
per calendar month in Asia/Shanghai named ``<table>_pYYYY_MM``, plus ``<table>_default`` for
rows of a month without a partition. :func:`ensure` creates months ahead (the SQL function
``gm_ensure_month_partitions`` of the migration moves rows of a new month out of the default
partition); :func:`list_partitions` shows what exists; :func:`detach` takes whole months out
(retention, :mod:`gridmap.incidents.archive`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError

PARTITIONED = {"incident": "reported_at", "incident_event": "at"}
MONTHS_AHEAD = 3
LOCAL_TZ = "Asia/Shanghai"
_NAME = re.compile(r"^(incident|incident_event)_p(\d{4})_(\d{2})$")


@dataclass(frozen=True)
class Partition:
    """One monthly partition (``month`` is its first day) and its row estimate."""

    table: str
    name: str
    month: dt.date | None
    rows: int


def _check_table(table: str) -> None:
    if table not in PARTITIONED:
        raise ValidationError("city.not_partitioned", params={"table": table})


def add_months(day: dt.date, months: int) -> dt.date:
    """The first day of the month ``months`` after ``day``'s month."""
    m = day.month - 1 + months
    return dt.date(day.year + m // 12, m % 12 + 1, 1)


def ensure(conn: Connection, first: dt.date, last: dt.date,
           tables: tuple[str, ...] = ("incident", "incident_event")) -> int:
    """Create the monthly partitions from ``first``'s month to ``last``'s month (both
    included) where missing; returns how many were created.

    Creating a partition takes a short ACCESS EXCLUSIVE lock on the parent, so the import
    path calls this only when a month is missing (:func:`missing_months`).
    """
    made = 0
    for table in tables:
        _check_table(table)
        made += int(conn.execute(sa.text(
            "SELECT gm_ensure_month_partitions(CAST(:t AS regclass), :a, :b)"),
            {"t": table, "a": first, "b": last}).scalar_one())
    return made


def ensure_ahead(conn: Connection, today: dt.date | None = None,
                 months: int = MONTHS_AHEAD) -> int:
    """Partitions for this month and ``months`` ahead (``gridmap db partitions ensure``)."""
    today = today or dt.datetime.now(dt.UTC).date()
    return ensure(conn, today.replace(day=1), add_months(today.replace(day=1), months))


def ensure_for(conn: Connection, times: pd.Series) -> int:
    """Partitions for the months of ``times`` (tz-aware) up to this month (their events),
    created only when one is missing. Creating a partition locks the parent exclusively until
    commit: the import path calls this only on a first load (docs/city.md)."""
    if times.empty:
        return 0
    local = times.dt.tz_convert(LOCAL_TZ)
    today = dt.datetime.now(ZoneInfo(LOCAL_TZ)).date()
    first = min(local.min().date(), today)
    last = max(local.max().date(), today)
    return ensure(conn, first, last) if missing_months(conn, first, last) else 0


def missing_months(conn: Connection, first: dt.date, last: dt.date,
                   table: str = "incident") -> list[dt.date]:
    """Months between ``first`` and ``last`` without a partition of ``table``."""
    _check_table(table)
    have = {p.month for p in list_partitions(conn, table)}
    out, m = [], first.replace(day=1)
    while m <= last:
        if m not in have:
            out.append(m)
        m = add_months(m, 1)
    return out


def list_partitions(conn: Connection, table: str = "incident") -> list[Partition]:
    """The partitions of ``table`` (default partition last, ``month`` None)."""
    _check_table(table)
    rows = conn.execute(sa.text(
        "SELECT c.relname, greatest(c.reltuples, 0)::bigint FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = CAST(:t AS regclass) "
        "ORDER BY c.relname"), {"t": table}).all()
    out = []
    for name, n in rows:
        m = _NAME.match(name)
        month = dt.date(int(m.group(2)), int(m.group(3)), 1) if m else None
        out.append(Partition(table, name, month, int(n)))
    return sorted(out, key=lambda p: (p.month is None, p.month or dt.date.min))


def default_rows(conn: Connection, table: str = "incident") -> int:
    """Rows in the default partition (cases of a month that had no partition yet)."""
    _check_table(table)
    return int(conn.execute(sa.text(
        f"SELECT count(*) FROM {table}_default")).scalar_one())  # noqa: S608 - checked name


def detach(conn: Connection, table: str, month: dt.date) -> str:
    """Detach ``table``'s partition of ``month``; returns the now standalone table's name."""
    _check_table(table)
    name = f"{table}_p{month:%Y_%m}"
    if not any(p.name == name for p in list_partitions(conn, table)):
        raise ValidationError("city.no_partition", params={"table": table,
                                                           "month": f"{month:%Y-%m}"})
    conn.execute(sa.text(f"ALTER TABLE {table} DETACH PARTITION {name}"))  # noqa: S608
    return name
