"""Reports from the field page: created exactly once per client id, with their photos.

The phone generates a UUID per report and sends it with every attempt. The case stores it
(``incident.client_id``, unique; also ``external_id = 'field:<uuid>'``, so the intake's own
replay rule agrees). Attempts are serialised by the incident table lock the intake takes
(``SHARE ROW EXCLUSIVE``, self-conflicting): the first creates the case and stores its
photos; every later one sees the committed case and returns it unchanged (no second case,
no second set of photos).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts.scope import Scope
from gridmap.errors import PermissionDenied, Problem, ValidationError
from gridmap.incidents import query, write
from gridmap.incidents.intake import IntakeParams, starting_state_only
from gridmap.media import photos as media
from gridmap.media.images import MediaParams

FIELDS: tuple[str, ...] = ("category", "lon", "lat", "description", "address", "urgency")
"""What a field report may carry besides its photos (never a state: intake starts at 信息收集)."""


def parse_client_id(value: Any) -> str:
    """The canonical text of a client-generated report id (a UUID).

    Raises
    ------
    ValidationError
        ``field.bad_client_id``.
    """
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise ValidationError("field.report_invalid", [Problem(
            "field.bad_client_id", {"value": str(value)[:40]}, field="client_id")]) from None


def may_report(conn: Connection, scope: Scope, user_id: int) -> bool:
    """Whether a user may report from the field: a post allowing ``report`` (网格员, 监督员),
    an active grid assignment (楼长/路长), or a non-staff case role."""
    if scope.staff is None:
        return scope.role in ("supervisor", "officer", "admin")
    if scope.staff.units_for("report"):
        return True
    return bool(conn.execute(sa.text(
        "SELECT 1 FROM grid_assignment WHERE user_id = :u AND valid_from <= current_date"
        " AND (valid_to IS NULL OR valid_to >= current_date) LIMIT 1"), {"u": user_id}).first())


def find(conn: Connection, client_id: str) -> int | None:
    """The case created for ``client_id`` (``None`` when there is none yet)."""
    found = conn.execute(sa.text("SELECT id FROM incident WHERE client_id = CAST(:c AS uuid)"),
                         {"c": client_id}).scalar()
    return None if found is None else int(found)


def submit(conn: Connection, scope: Scope, *, user_id: int, username: str,
           client_id: str, data: dict[str, Any], photos: list[bytes], params: IntakeParams,
           media_params: MediaParams, media_dir: Path) -> tuple[dict[str, Any], bool]:
    """Create the case of a field report with its 1–6 photos, once per ``client_id``.

    Returns the case row and whether it was created now (``False``: a repeat).

    Raises
    ------
    ValidationError
        Every problem of the report and of each photo at once; nothing is stored.
    PermissionDenied
        ``field.report_denied``: the user may not report from the field.
    """
    cid = parse_client_id(client_id)
    if not may_report(conn, scope, user_id):
        raise PermissionDenied("field.report_denied")
    conn.execute(sa.text("LOCK TABLE incident IN SHARE ROW EXCLUSIVE MODE"))
    existing = find(conn, cid)
    if existing is not None:
        return query.get(conn, existing), False
    problems: list[Problem] = []
    try:
        starting_state_only({k: data.get(k) for k in ("state", "status")})
    except ValidationError as err:
        problems += err.problems
    try:
        media.check_count(len(photos), media_params, minimum=1)
        prepared = media.prepare_all(photos, media_params)
    except ValidationError as err:
        problems += err.problems
        prepared = []
    rec = {k: data[k] for k in FIELDS if data.get(k) not in (None, "")}
    rec.update(source="patrol", external_id=f"field:{cid}")
    savepoint = conn.begin_nested()  # undone when anything else is wrong
    row: dict[str, Any] = {}
    try:
        row = write.create(conn, rec, actor=username, params=params)
    except ValidationError as err:
        problems = err.problems + problems
    if problems:
        savepoint.rollback()
        raise ValidationError("field.report_invalid", problems)
    savepoint.commit()
    conn.execute(sa.text("UPDATE incident SET client_id = CAST(:c AS uuid), reported_by = :u"
                         " WHERE id = :id"), {"c": cid, "u": user_id, "id": row["id"]})
    media.store_prepared(conn, int(row["id"]), prepared, stage="before",
                         uploaded_by=username, root=media_dir)
    return query.get(conn, int(row["id"])), True


def my_reports(conn: Connection, user_id: int, *, limit: int = 50) -> list[dict[str, Any]]:
    """The user's field reports, newest first: case number, category, state, photos."""
    rows = conn.execute(sa.text(
        "SELECT i.id, i.case_no, i.client_id::text AS client_id, i.category_code AS category,"
        " c.name_zh AS category_name, c.name_en AS category_name_en, i.state, i.address,"
        " i.description, i.reported_at, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat,"
        " i.duplicate_of, (SELECT count(*) FROM incident_photo p WHERE p.incident_id = i.id)"
        " AS photos FROM incident i JOIN event_category c ON c.code = i.category_code"
        " WHERE i.reported_by = :u ORDER BY i.reported_at DESC, i.id DESC LIMIT :n"),
        {"u": user_id, "n": limit}).mappings()
    return [dict(r) for r in rows]
