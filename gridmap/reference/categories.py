"""The event category catalogue (事件/部件 classes, reference/cases.md §6): reading and
validating the CSV, loading it into ``event_category``, and listing the stored categories.

Each category carries its default urgency (:data:`URGENCIES`) and its time limit in one of
the units of :mod:`gridmap.reference.workcal`.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.config import DATA_GEO
from gridmap.errors import Problem, ValidationError
from gridmap.reference import workcal

EVENT_CATEGORIES_CSV = DATA_GEO / "event_categories.csv"

URGENCIES: tuple[str, ...] = ("normal", "key", "urgent")
URGENCY_LABELS = {"normal": "常规", "key": "重点", "urgent": "应急"}

_OPTIONAL_TEXT = ("filing_condition", "closing_condition", "default_responsible_unit",
                  "confidence", "limit_confidence", "limit_source")


def _opt(rec: dict[str, Any], key: str) -> str | None:
    return (rec.get(key) or "").strip() or None


def _read_row(rec: dict[str, Any], i: int, problems: list[Problem]) -> dict[str, Any]:
    """One catalogue row, its problems appended to ``problems``."""
    code = (rec.get("code") or "").strip()
    limit = (rec.get("time_limit") or "").strip()
    unit = (rec.get("time_unit") or "").strip() or None
    urg = (rec.get("default_urgency") or "normal").strip()
    if not code:
        problems.append(Problem("reference.empty_code", row=i, field="code"))
    if urg not in URGENCIES:
        problems.append(Problem("reference.unknown_urgency", {"urgency": urg}, row=i,
                                field="default_urgency"))
    if unit is not None and unit not in workcal.UNITS:
        problems.append(Problem("reference.unknown_time_unit", {"unit": unit}, row=i,
                                field="time_unit"))
    try:
        limit_v = float(limit) if limit else None
    except ValueError:
        problems.append(Problem("reference.time_limit_not_number", {"limit": limit}, row=i,
                                field="time_limit"))
        limit_v = None
    row: dict[str, Any] = {
        "code": code, "parent_code": _opt(rec, "parent_code"),
        "name_zh": (rec.get("name_zh") or "").strip(),
        "name_en": (rec.get("name_en") or "").strip(),
        "default_urgency": urg, "time_limit": limit_v, "time_unit": unit,
        "urgent_time_limit": None, "urgent_time_unit": None,
    }
    row.update({k: _opt(rec, k) for k in _OPTIONAL_TEXT})
    return row


def read_event_categories(path: Path = EVENT_CATEGORIES_CSV) -> list[dict[str, Any]]:
    """Parse and validate the event category catalogue (all problems at once).

    Raises
    ------
    ValidationError
        Listing every problem of the file.
    """
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    with open(path, encoding="utf-8-sig") as fh:
        for i, rec in enumerate(csv.DictReader(fh), start=1):
            rows.append(_read_row(rec, i, problems))
    codes = [r["code"] for r in rows]
    for i, c in enumerate(codes, start=1):
        if codes.count(c) > 1:
            problems.append(Problem("reference.duplicate_code", {"code": c}, row=i,
                                    field="code"))
    if problems:
        raise ValidationError("reference.event_catalogue_invalid", problems, {"file": path.name})
    return rows


def load_event_categories(conn: Connection, path: Path = EVENT_CATEGORIES_CSV, *,
                          update_existing: bool = False) -> int:
    """Load an event catalogue (validated; every problem at once); returns the row count.

    By default only codes not stored yet are added, so re-running the shipped catalogue
    (every ``gridmap db migrate``) never undoes a city's own limits and names;
    ``update_existing`` (``gridmap import catalogue event-categories``) overwrites them.
    A ``parent_code`` must be in the file or already stored.
    """
    rows = read_event_categories(path)
    cols = list(rows[0]) if rows else []
    stored = {r[0] for r in conn.execute(sa.text("SELECT code FROM event_category"))}
    known = stored | {r["code"] for r in rows}
    bad = [Problem("reference.unknown_parent_code", {"code": r["parent_code"]}, row=i,
                   field="parent_code")
           for i, r in enumerate(rows, start=1)
           if r["parent_code"] and r["parent_code"] not in known]
    if bad:
        raise ValidationError("reference.event_catalogue_invalid", bad, {"file": path.name})
    if not rows:
        return 0
    conflict = ("DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c != "code")
                if update_existing else "DO NOTHING")
    # parents first, so that the hierarchy is complete at every step
    rows = sorted(rows, key=lambda r: r["parent_code"] is not None)
    with conn.begin_nested():
        conn.execute(
            sa.text(
                f"INSERT INTO event_category ({', '.join(cols)}) "  # noqa: S608 - fixed names
                f"VALUES ({', '.join(':' + c for c in cols)}) ON CONFLICT (code) {conflict}"
            ),
            rows,
        )
    return len(rows)


def categories(conn: Connection) -> list[dict[str, Any]]:
    """All categories with their parent's name (``parent_name``)."""
    rows = conn.execute(sa.text(
        "SELECT c.*, p.name_zh AS parent_name FROM event_category c "
        "LEFT JOIN event_category p ON p.code = c.parent_code ORDER BY c.code")).mappings().all()
    return [dict(r) for r in rows]


def category_codes(conn: Connection) -> list[str]:
    """All category codes."""
    return [r[0] for r in conn.execute(sa.text("SELECT code FROM event_category ORDER BY code"))]
