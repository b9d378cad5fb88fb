"""The audit log: ``audit_log`` plus the other history tables, read as one list.

Sources (``Entry.source``):

``audit``
    ``audit_log`` rows (grid versions: draft, edits, undo/redo, activation, discard;
    incident locations; accounts changed on the admin pages). A grid edit links to its
    ``grid_edit_op`` row (``edit_id``), whose before/after snapshots hold the geometry.
``incident``
    ``incident_event`` (state changes of cases).
``session``
    ``user_session`` (a login: when, from which address, how it ended).
``import``
    ``import_run`` (imports of files).

Filters are validated all at once (:func:`parse_filter`); the SQL is a fixed ``UNION ALL``
of the sources the object type allows, every value bound.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import NotFound, Problem, ValidationError

OBJECT_TYPES: tuple[str, ...] = ("grid_version", "incident", "user", "import_run")
"""Object types an entry can be about (the filter's choices)."""
SOURCES: tuple[str, ...] = ("audit", "incident", "session", "import")
MAX_TEXT = 64
MAX_PAGE = 500


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to list: all filters optional; ``until`` exclusive."""

    actor: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@dataclass(frozen=True)
class Entry:
    """One thing that happened."""

    source: str
    ref: int
    at: dt.datetime
    actor: str | None
    action: str
    object_type: str | None
    object_id: str | None
    note: str | None
    edit_id: int | None
    changes: tuple[tuple[str, str, str], ...] = ()
    """``(field, before, after)`` of an ``audit_log`` row whose before/after are flat
    records (account changes, incident locations); empty otherwise."""


def record(conn: Connection, actor: str | None, action: str, object_type: str,
           object_id: str, before: Any = None, after: Any = None) -> None:
    """Write one ``audit_log`` row (``before``/``after`` as JSON, ``None`` for none)."""
    conn.execute(sa.text(
        "INSERT INTO audit_log (actor, action, object_type, object_id, before, after)"
        " VALUES (:a, :act, :t, :o, CAST(:b AS jsonb), CAST(:af AS jsonb))"),
        {"a": actor, "act": action, "t": object_type, "o": object_id,
         "b": None if before is None else json.dumps(before, default=str),
         "af": None if after is None else json.dumps(after, default=str)})


def _day(raw: str, name: str, problems: list[Problem]) -> dt.datetime | None:
    if not raw:
        return None
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        problems.append(Problem("admin.bad_date", {"value": raw[:MAX_TEXT]}, field=name))
        return None
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def parse_filter(raw: Mapping[str, str | None]) -> AuditFilter:
    """An :class:`AuditFilter` from text fields ``actor``, ``object_type``, ``object_id``,
    ``since`` and ``until`` (``YYYY-MM-DD``; ``until`` inclusive as a day).

    Raises
    ------
    ValidationError
        ``admin.invalid_filter`` with every problem at once.
    """
    problems: list[Problem] = []
    text = {k: (raw.get(k) or "").strip() for k in
            ("actor", "object_type", "object_id", "since", "until")}
    for key in ("actor", "object_id"):
        if len(text[key]) > MAX_TEXT or any(ord(ch) < 32 for ch in text[key]):
            problems.append(Problem("admin.bad_text", {"max": MAX_TEXT}, field=key))
    if text["object_type"] and text["object_type"] not in OBJECT_TYPES:
        problems.append(Problem("admin.bad_object_type",
                                {"value": text["object_type"][:MAX_TEXT],
                                 "choices": ", ".join(OBJECT_TYPES)}, field="object_type"))
    since = _day(text["since"], "since", problems)
    until = _day(text["until"], "until", problems)
    if until is not None:
        until += dt.timedelta(days=1)
    if since is not None and until is not None and until <= since:
        problems.append(Problem("admin.bad_range", field="until"))
    if problems:
        raise ValidationError("admin.invalid_filter", problems)
    return AuditFilter(actor=text["actor"] or None, object_type=text["object_type"] or None,
                       object_id=text["object_id"] or None, since=since, until=until)


# Each source as the same columns; "edit_id" links audit rows of grid edits to grid_edit_op.
_BRANCHES: dict[str, tuple[str, tuple[str, ...]]] = {
    "audit": ("""
SELECT 'audit' AS source, a.id AS ref, a.at, a.actor, a.action, a.object_type, a.object_id,
       NULL::text AS note, e.id AS edit_id,
       CASE WHEN a.object_type IN ('user', 'incident')
            THEN jsonb_build_object('before', a.before, 'after', a.after) END AS detail
FROM audit_log a
LEFT JOIN grid_edit_op e ON a.object_type = 'grid_version' AND a.action LIKE 'grid.edit.%'
     AND e.version_id::text = a.object_id AND e.seq::text = a.after->>'op'""", OBJECT_TYPES),
    "incident": ("""
SELECT 'incident', ev.id, ev.at, ev.actor, 'incident.' || ev.to_state, 'incident',
       ev.incident_id::text, ev.note, NULL::bigint, NULL::jsonb
FROM incident_event ev""", ("incident",)),
    "session": ("""
SELECT 'session', s.id, s.created_at, u.username, 'session.login', 'user', u.username,
       concat_ws(' · ', NULLIF(s.client, ''), s.revoked_reason), NULL::bigint, NULL::jsonb
FROM user_session s JOIN app_user u ON u.id = s.user_id""", ("user",)),
    "import": ("""
SELECT 'import', r.id, r.started_at, r.actor, 'import.' || r.kind, 'import_run', r.id::text,
       r.source_file, NULL::bigint, NULL::jsonb
FROM import_run r""", ("import_run",)),
}
_WHERE = """
WHERE (CAST(:actor AS text) IS NULL OR lower(x.actor) = lower(:actor))
  AND (CAST(:otype AS text) IS NULL OR x.object_type = :otype)
  AND (CAST(:oid AS text) IS NULL OR x.object_id = :oid)
  AND (CAST(:since AS timestamptz) IS NULL OR x.at >= :since)
  AND (CAST(:until AS timestamptz) IS NULL OR x.at < :until)"""


def _sql(f: AuditFilter) -> str:
    """The fixed ``UNION ALL`` of the sources that can hold ``f.object_type``."""
    parts = [sql for sql, types in _BRANCHES.values()
             if f.object_type is None or f.object_type in types]
    return "SELECT * FROM (" + "\nUNION ALL\n".join(parts) + ") x" + _WHERE  # noqa: S608 - fixed fragments


def _params(f: AuditFilter) -> dict[str, Any]:
    return {"actor": f.actor, "otype": f.object_type, "oid": f.object_id,
            "since": f.since, "until": f.until}


def audit_sql(f: AuditFilter) -> tuple[str, dict[str, Any]]:
    """The unordered SQL of the entries matching ``f`` (rows with ``detail``) and its
    parameters; callers add ``ORDER BY x.at DESC …`` and paging."""
    return _sql(f), _params(f)


def list_entries(conn: Connection, f: AuditFilter, *, limit: int = 100,
                 offset: int = 0) -> tuple[list[Entry], int]:
    """Entries matching ``f``, newest first, and how many match in all.

    Parameters
    ----------
    limit, offset:
        The page (``limit`` at most :data:`MAX_PAGE`).
    """
    limit = max(1, min(int(limit), MAX_PAGE))
    sql = _sql(f)
    p = _params(f)
    total = int(conn.execute(sa.text(f"SELECT count(*) FROM ({sql}) c"), p).scalar_one())  # noqa: S608 - fixed fragments
    rows = conn.execute(sa.text(
        f"{sql} ORDER BY x.at DESC, x.source, x.ref DESC LIMIT :lim OFFSET :off"),  # noqa: S608
        {**p, "lim": limit, "off": max(0, int(offset))}).mappings().all()
    return [_entry(dict(r)) for r in rows], total


def _short(value: Any) -> str:
    text = "" if value is None else (
        json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value))
    return text if len(text) <= 80 else text[:79] + "…"


def changes(before: Any, after: Any) -> tuple[tuple[str, str, str], ...]:
    """The fields of two flat records that differ, as text (``before`` may be ``None``)."""
    old = before if isinstance(before, dict) else {}
    new = after if isinstance(after, dict) else {}
    keys = [*new, *(k for k in old if k not in new)]
    return tuple((str(k), _short(old.get(k)), _short(new.get(k))) for k in keys
                 if old.get(k) != new.get(k))


def _entry(row: dict[str, Any]) -> Entry:
    detail = row.pop("detail", None) or {}
    return Entry(**row, changes=changes(detail.get("before"), detail.get("after")))


_GEOMETRY = sa.text("""
SELECT s.side, g.key::int AS grid_id, gr.grid_code, gr.name,
       ST_AsGeoJSON(ST_SetSRID(ST_GeomFromWKB(decode(g.value->>'geom', 'hex')), 4326), 6) AS geom
FROM grid_edit_op e
CROSS JOIN LATERAL (VALUES ('before', e.before), ('after', e.after)) AS s(side, snap)
CROSS JOIN LATERAL jsonb_each(s.snap->'grids') AS g(key, value)
LEFT JOIN grid gr ON gr.id = g.key::int
WHERE e.id = :id AND g.value <> 'null'::jsonb
ORDER BY s.side, g.key::int
""")


def edit_geometry(conn: Connection, edit_id: int) -> dict[str, Any]:
    """The grids a grid edit touched, before and after, as GeoJSON.

    Returns
    -------
    dict
        ``{"id", "kind", "actor", "at", "version_id", "before": FeatureCollection,
        "after": FeatureCollection}``; features carry ``grid_id``, ``grid_code``, ``name``.

    Raises
    ------
    NotFound
        ``admin.no_edit`` for an unknown edit.
    """
    head = conn.execute(sa.text(
        "SELECT id, kind, actor, at, version_id FROM grid_edit_op WHERE id = :id"),
        {"id": edit_id}).mappings().first()
    if head is None:
        raise NotFound("admin.no_edit", {"id": edit_id})
    out: dict[str, Any] = {**dict(head), "at": head["at"].isoformat(),
                           "before": {"type": "FeatureCollection", "features": []},
                           "after": {"type": "FeatureCollection", "features": []}}
    for r in conn.execute(_GEOMETRY, {"id": edit_id}).mappings():
        out[r["side"]]["features"].append({
            "type": "Feature", "geometry": json.loads(r["geom"]),
            "properties": {"grid_id": r["grid_id"], "grid_code": r["grid_code"],
                           "name": r["name"]}})
    return out


PLAN_ACTIONS: tuple[str, ...] = ("grid.activate", "grid.schedule")
"""Audit actions of a grid plan put in force or scheduled: their rows hold the before/after
geometry of every changed grid (``before/after -> 'grids'``, by grid code)."""

_PLAN_GEOMETRY = sa.text("""
SELECT s.side, g.key AS grid_code, gr.id AS grid_id, gr.name, g.value::text AS geom
FROM audit_log a
CROSS JOIN LATERAL (VALUES ('before', a.before), ('after', a.after)) AS s(side, snap)
CROSS JOIN LATERAL jsonb_each(COALESCE(s.snap->'grids', '{}'::jsonb)) AS g(key, value)
LEFT JOIN grid gr ON gr.grid_code = g.key
WHERE a.id = :id
ORDER BY s.side, g.key
""")


def plan_geometry(conn: Connection, audit_id: int) -> dict[str, Any]:
    """The grids a plan activation (or scheduling) changed, before and after, as GeoJSON,
    in the shape of :func:`edit_geometry` (``kind`` is the action, ``version_id`` the plan).

    Raises
    ------
    NotFound
        ``admin.no_plan_change`` when ``audit_id`` is no activation or scheduling row.
    """
    head = conn.execute(sa.text(
        "SELECT id, action AS kind, actor, at, object_id FROM audit_log"
        " WHERE id = :id AND action = ANY(:actions)"),
        {"id": audit_id, "actions": list(PLAN_ACTIONS)}).mappings().first()
    if head is None:
        raise NotFound("admin.no_plan_change", {"id": audit_id})
    out: dict[str, Any] = {
        "id": head["id"], "kind": head["kind"], "actor": head["actor"],
        "at": head["at"].isoformat(), "version_id": int(head["object_id"]),
        "before": {"type": "FeatureCollection", "features": []},
        "after": {"type": "FeatureCollection", "features": []}}
    for r in conn.execute(_PLAN_GEOMETRY, {"id": audit_id}).mappings():
        out[r["side"]]["features"].append({
            "type": "Feature", "geometry": json.loads(r["geom"]),
            "properties": {"grid_id": r["grid_id"], "grid_code": r["grid_code"],
                           "name": r["name"]}})
    return out
