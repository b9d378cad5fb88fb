"""Automatic steps of the dispatch engine as case events (``incident_event``).

An automatic step (a rule proposal, a level raise) does not change the case's state: its
event has ``from_state = to_state`` (the current state), the actor (``system`` for the
engine, else the user who asked) and ``data`` with ``kind`` (``dispatch.proposed``,
``dispatch.level_raised`` …) and the reason, so the case history shows who/why.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

SYSTEM = "system"
"""Actor of automatic steps."""


def record(conn: Connection, at: dt.datetime, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert one event per row (one statement): ``incident_id``, ``state``, ``actor``,
    ``note`` (optional) and ``data`` (a JSON-serialisable mapping with ``kind``)."""
    if not rows:
        return
    conn.execute(sa.text(
        "INSERT INTO incident_event (incident_id, at, actor, from_state, to_state, note, data) "
        "SELECT t.id, :at, t.actor, t.state, t.state, t.note, t.data "
        "FROM unnest(CAST(:ids AS bigint[]), CAST(:states AS text[]), CAST(:actors AS text[]), "
        "CAST(:notes AS text[]), CAST(:datas AS jsonb[])) AS t(id, state, actor, note, data)"),
        {"at": at, "ids": [int(r["incident_id"]) for r in rows],
         "states": [r["state"] for r in rows],
         "actors": [r.get("actor") or SYSTEM for r in rows],
         "notes": [r.get("note") for r in rows],
         "datas": [json.dumps(r["data"], default=str) for r in rows]})


def dispatch_events(conn: Connection, incident_id: int) -> list[dict[str, Any]]:
    """The dispatch engine's events of one case (kind starting with ``dispatch.``), oldest
    first: what the history shows of proposals, dispatches, acceptance and level raises."""
    rows = conn.execute(sa.text(
        "SELECT at, actor, from_state, to_state, note, data FROM incident_event "
        "WHERE incident_id = :id AND data->>'kind' LIKE 'dispatch.%' ORDER BY at, id"),
        {"id": incident_id}).mappings().all()
    return [dict(r) for r in rows]
