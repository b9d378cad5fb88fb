"""The 督办 list (supervision board) per street and per unit, within a viewer's scope.

Entries are the lit cases of the last :mod:`~gridmap.supervision.scan` (``cleared_at`` NULL
unless asked for), red before yellow, most urgent deadline first. A unit's list holds the
cases it handles and the cases escalated to it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import NotFound, ValidationError
from gridmap.supervision.access import Viewer, check_unit

LIGHTS = ("yellow", "red")

_FROM = """
FROM supervision s
JOIN incident i ON i.id = s.incident_id
LEFT JOIN org_unit u ON u.id = s.unit_id
LEFT JOIN org_unit x ON x.id = s.escalated_to
WHERE {where}
"""
_COLS = """
SELECT s.incident_id, i.case_no, i.category_code, i.state, i.urgency, i.level, s.light,
       s.since, s.reminders, s.last_reminded_at, s.escalated_at, s.cleared_at,
       s.unit_id, u.code AS unit_code, u.name AS unit_name,
       s.escalated_to, x.code AS escalated_to_code, x.name AS escalated_to_name,
       i.street_id, i.community_id, i.grid_id, i.dispatched_at, i.accept_due_at,
       i.accepted_at, i.due_at,
       CASE WHEN i.accept_due_at IS NOT NULL AND i.accepted_at IS NULL
            THEN i.accept_due_at ELSE i.due_at END AS deadline
"""


def _where(viewer: Viewer, street_id: int | None, unit_id: int | None, light: str | None,
           include_cleared: bool) -> tuple[str, dict[str, Any]]:
    cond, p = viewer.case_filter("i")
    parts = [cond]
    if not include_cleared:
        parts.append("s.cleared_at IS NULL")
    if street_id is not None:
        parts.append("i.street_id = :street")
        p["street"] = street_id
    if unit_id is not None:
        parts.append("(s.unit_id = :unit OR s.escalated_to = :unit)")
        p["unit"] = unit_id
    if light is not None:
        parts.append("s.light = :light")
        p["light"] = light
    return " AND ".join(parts), p


def list_board(conn: Connection, viewer: Viewer, *, street_id: int | None = None,
               unit_id: int | None = None, light: str | None = None,
               include_cleared: bool = False, page: int = 1, page_size: int = 50
               ) -> dict[str, Any]:
    """A page of the 督办 list.

    Parameters
    ----------
    street_id, unit_id:
        The street's list, or the unit's (its cases and those escalated to it).
    light:
        ``yellow`` or ``red`` only.

    Returns
    -------
    dict
        ``total``, ``counts`` (``yellow``/``red`` of the whole filtered list), ``page``,
        ``page_size``, ``items``.

    Raises
    ------
    PermissionDenied
        ``unit_id`` outside the viewer's units.
    ValidationError
        Unknown light or page numbers below 1.
    """
    problems = []
    if light is not None and light not in LIGHTS:
        problems.append("light")
    if page < 1 or not 1 <= page_size <= 500:
        problems.append("page")
    if problems:
        raise ValidationError("supervise.bad_board_query", params={"fields": ", ".join(problems)})
    if unit_id is not None:
        check_unit(viewer, unit_id)
    where, p = _where(viewer, street_id, unit_id, None, include_cleared)
    counts = {"yellow": 0, "red": 0}
    counts.update({str(k): int(v) for k, v in conn.execute(sa.text(
        "SELECT s.light, count(*) " + _FROM.format(where=where) + " GROUP BY 1"), p)})
    where, p = _where(viewer, street_id, unit_id, light, include_cleared)
    rows = conn.execute(sa.text(
        _COLS + _FROM.format(where=where)
        + " ORDER BY (s.light = 'red') DESC, deadline, s.incident_id LIMIT :lim OFFSET :off"),
        {**p, "lim": page_size, "off": (page - 1) * page_size}).mappings().all()
    total = counts[light] if light else counts["yellow"] + counts["red"]
    return {"total": total, "counts": counts, "page": page, "page_size": page_size,
            "items": [dict(r) for r in rows]}


def unit_summary(conn: Connection, viewer: Viewer, *, street_id: int | None = None
                 ) -> list[dict[str, Any]]:
    """Lit cases per handling unit (``yellow``, ``red``, ``escalated``) in the viewer's scope."""
    where, p = _where(viewer, street_id, None, None, False)
    rows = conn.execute(sa.text(
        "SELECT s.unit_id, u.code AS unit_code, u.name AS unit_name, "
        "count(*) FILTER (WHERE s.light = 'yellow') AS yellow, "
        "count(*) FILTER (WHERE s.light = 'red') AS red, "
        "count(*) FILTER (WHERE s.escalated_at IS NOT NULL) AS escalated"
        + _FROM.format(where=where) + " GROUP BY 1, 2, 3 ORDER BY red DESC, yellow DESC, 2"),
        p).mappings().all()
    return [dict(r) for r in rows]


def unit_id(conn: Connection, code: str) -> int:
    """The id of the unit with ``code`` (``supervise.unknown_unit`` if none)."""
    row = conn.execute(sa.text("SELECT id FROM org_unit WHERE code = :c"), {"c": code}).first()
    if row is None:
        raise NotFound("supervise.unknown_unit", {"code": code})
    return int(row[0])


def street_id(conn: Connection, code: str) -> int:
    """The id of the street with ``code`` (``supervise.unknown_street`` if none)."""
    row = conn.execute(sa.text("SELECT id FROM street WHERE code = :c"), {"c": code}).first()
    if row is None:
        raise NotFound("supervise.unknown_street", {"code": code})
    return int(row[0])
