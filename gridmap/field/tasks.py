"""On-site tasks of grid workers and inspectors (我的任务): 核实 (verify a reported case on
site) and 核查 (check a handled case on site, then close it or send it back for rework).

A task is a case in the user's grids (active grid assignments) or in the areas of the units
where a post of theirs allows ``verify`` / ``check``: state ``reported`` (not their own
report) for 核实, ``handled`` for 核查. 核查 itself goes through the dispatch engine
(``closed`` or ``rework``); 核实 is recorded here as an event that leaves the state as it is.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts import scope as scopes
from gridmap.accounts.scope import Scope
from gridmap.errors import IllegalTransition, PermissionDenied


def _areas(conn: Connection, scope: Scope, user_id: int, action: str
           ) -> tuple[list[int], list[int], list[int]]:
    """Street, community and grid ids where the user does ``action`` on site."""
    grids = [int(r[0]) for r in conn.execute(sa.text(
        "SELECT g.id FROM grid_assignment a JOIN grid g ON g.grid_code = a.grid_code"
        " WHERE a.user_id = :u AND a.valid_from <= current_date"
        " AND (a.valid_to IS NULL OR a.valid_to >= current_date)"), {"u": user_id})]
    streets: list[int] = []
    comms: list[int] = []
    if scope.staff is not None:
        units = scope.staff.units_for(action)
        for unit, area in scope.staff.areas:
            if unit in units:
                streets += area.street_ids
                comms += area.community_ids
                grids += area.grid_ids
    elif scope.role in ("supervisor", "officer", "admin"):
        comms = scope.ids() or []
    return sorted(set(streets)), sorted(set(comms)), sorted(set(grids))


def my_tasks(conn: Connection, scope: Scope, user_id: int, *, limit: int = 100
             ) -> list[dict[str, Any]]:
    """The user's on-site tasks, oldest first: ``task`` ``verify`` (核实) or ``check`` (核查)."""
    out: list[dict[str, Any]] = []
    for task, state in (("verify", "reported"), ("check", "handled")):
        streets, comms, grids = _areas(conn, scope, user_id, task)
        if not (streets or comms or grids):
            continue
        rows = conn.execute(sa.text(
            "SELECT i.id, i.case_no, i.category_code AS category, c.name_zh AS category_name,"
            " c.name_en AS category_name_en, i.state, i.address, i.description,"
            " i.reported_at, i.handled_at, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat,"
            " i.lock_version, (SELECT count(*) FROM incident_event e WHERE e.incident_id = i.id"
            "  AND e.data->>'kind' = 'field.verified') AS verified"
            " FROM incident i JOIN event_category c ON c.code = i.category_code"
            " WHERE i.state = :st AND (i.street_id = ANY(:s) OR i.community_id = ANY(:c)"
            " OR i.grid_id = ANY(:g)) AND (:st <> 'reported' OR i.reported_by IS DISTINCT"
            " FROM :u) ORDER BY coalesce(i.handled_at, i.reported_at), i.id LIMIT :n"),
            {"st": state, "s": streets, "c": comms, "g": grids, "u": user_id, "n": limit})
        out += [{**dict(r), "task": task} for r in rows.mappings()]
    return out


def verify(conn: Connection, scope: Scope, incident_id: int, *, actor: str, found: bool,
           note: str | None = None) -> dict[str, Any]:
    """核实: record the on-site verification of a reported case (state unchanged; the
    受理员 then files or voids it). Returns the event; the same finding by the same person
    again (a queued phone sending twice) returns the first one (``repeat``) and adds none.

    Raises
    ------
    PermissionDenied
        Outside the scope, or no post allowing ``verify`` covers the case.
    IllegalTransition
        ``field.not_reported``: the case is past 信息收集.
    """
    row = scopes.get_incident(conn, scope, incident_id)
    if scope.staff is not None and not scope.staff.covers(row, scope.staff.units_for("verify")):
        raise PermissionDenied("scope.post_denied", {"action": "verify"})
    if row["state"] != "reported":
        raise IllegalTransition("field.not_reported", {"state": row["status_label"]})
    before = conn.execute(sa.text(
        "SELECT at FROM incident_event WHERE incident_id = :i AND actor = :a"
        " AND data->>'kind' = 'field.verified' AND (data->>'found')::boolean = :f"
        " ORDER BY at DESC LIMIT 1"), {"i": incident_id, "a": actor, "f": bool(found)}).first()
    data = {"kind": "field.verified", "found": bool(found)}
    if before is not None:  # sent again (an offline phone after a lost answer): once
        return {"incident_id": incident_id, "at": before[0], "actor": actor, **data,
                "note": note, "repeat": True}
    at = dt.datetime.now(dt.UTC)
    conn.execute(sa.text(
        "INSERT INTO incident_event (incident_id, at, actor, from_state, to_state, note, data)"
        " VALUES (:i, :at, :a, 'reported', 'reported', :n, CAST(:d AS jsonb))"),
        {"i": incident_id, "at": at, "a": actor, "n": note, "d": json.dumps(data)})
    return {"incident_id": incident_id, "at": at, "actor": actor, **data, "note": note}
