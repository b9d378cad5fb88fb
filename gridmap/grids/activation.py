"""Putting a grid plan in force: now, or scheduled for a future date (issue #16).

A draft activated with an effective date in the future is **scheduled** (status
``scheduled``, 待生效): it is not yet the active plan, so every query of the current grids
(``status = 'active'``: incident reassignment, hotspots, indicators, assignments, the map)
keeps using the plan in force today. The plan it replaces stays ``active`` with
``valid_to`` set to that date, so date-aware queries (:func:`gridmap.grids.versions.grid_at`,
incident location at a report time) already answer with the right plan on either side of
the date.

At its date a scheduled plan is **promoted** (:func:`activate_due`): the old plan is
retired, the new one becomes ``active``, new grids get their codes, responsible parties
are copied onto the grids and open incidents are re-assigned, exactly as an immediate
activation does (:func:`promote`). ``activate_due`` runs

- from ``gridmap grids activate-due`` (once, or ``--every SECONDS`` as a service / timer);
- lazily in the web app, at most once a minute per process before a request
  (``web.activation``), so a plan is in force on the first request after its date even
  without a timer.

A scheduled plan can be withdrawn before its date (:func:`cancel_schedule`): it returns to
a draft and the old plan's ``valid_to`` is cleared. One plan per community can be scheduled
at a time.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import Conflict
from gridmap.grids.checks import GridRules
from gridmap.grids.codes import assign_codes
from gridmap.grids.frame import load_frame
from gridmap.grids.impact import changed_grids, incident_table
from gridmap.grids.store import audit, version_row
from gridmap.incidents.relocate import reassign_open

SYSTEM_ACTOR = "system:activate-due"
"""Actor of the audit rows written when a scheduled plan comes into force by itself."""

_DUE_SQL = sa.text(
    "SELECT id FROM grid_version WHERE status = 'scheduled' AND valid_from <= :at"
    " ORDER BY valid_from, id FOR UPDATE SKIP LOCKED")
_PREV_SQL = sa.text(
    "SELECT id FROM grid_version WHERE community_id = :c AND status = 'active' FOR UPDATE")


def geoms_json(conn: Connection, version_id: int | None, gids: Sequence[int]
               ) -> dict[str, Any]:
    """GeoJSON geometry of the grids ``gids`` of a version, by grid code (audit rows)."""
    if version_id is None or not gids:
        return {}
    rows = conn.execute(sa.text(
        "SELECT g.grid_code, ST_AsGeoJSON(gg.geom, 7) FROM grid_geometry gg JOIN grid g"
        " ON g.id = gg.grid_id WHERE gg.version_id = :v AND gg.grid_id = ANY(:g)"),
        {"v": version_id, "g": list(gids)}).all()
    return {code: json.loads(gj) for code, gj in rows}


def schedule(conn: Connection, v: dict[str, Any], prev_id: int | None, effective: dt.datetime,
             actor: str, rules: GridRules, warnings: list[str]) -> None:
    """Mark the (checked) draft ``v`` as scheduled from ``effective``; the plan in force
    (``prev_id``) stays active until then, with ``valid_to = effective``.

    New grids get their final codes now (a plan is published with its codes before it
    takes effect, 公示); only grids of this version change. Responsible parties reach the
    shared ``grid`` rows and incidents are re-assigned at promotion."""
    version_id = v["id"]
    if conn.execute(sa.text(
            "SELECT 1 FROM grid_version WHERE community_id = :c AND status = 'scheduled'"),
            {"c": v["community_id"]}).first():
        raise Conflict("grids.already_scheduled", {"version": version_id})
    with conn.begin_nested():
        before_geo = geoms_json(conn, prev_id, changed_grids(conn, prev_id, version_id))
        if prev_id is not None:
            conn.execute(sa.text("UPDATE grid_version SET valid_to = :e WHERE id = :p"),
                         {"e": effective, "p": prev_id})
        new_codes = assign_codes(conn, load_frame(conn, v["community_id"]), version_id,
                                 prev_id, rules)
        after_geo = geoms_json(conn, version_id, changed_grids(conn, prev_id, version_id))
        conn.execute(sa.text(
            "UPDATE grid_version SET status = 'scheduled', valid_from = :e, valid_to = NULL,"
            " lock_version = lock_version + 1, updated_by = :a, updated_at = now()"
            " WHERE id = :v"), {"e": effective, "a": actor, "v": version_id})
        audit(conn, actor, "grid.schedule", version_id,
              {"version": prev_id, "grids": before_geo},
              {"version": version_id, "generation": v["generation"], "effective": effective,
               "new_codes": new_codes, "grids": after_geo, "warnings": warnings})


def promote(conn: Connection, version_id: int, prev_id: int | None, effective: dt.datetime,
            actor: str, rules: GridRules, warnings: list[str]) -> None:
    """Put version ``version_id`` in force from ``effective`` in one savepoint: retire
    ``prev_id``, give new grids their codes, copy responsible parties onto the grids,
    re-assign open incidents and write the audit row with before/after geometry."""
    v = version_row(conn, version_id)
    cid = v["community_id"]
    fr = load_frame(conn, cid)
    with conn.begin_nested():
        gids = changed_grids(conn, prev_id, version_id)
        before_geo = geoms_json(conn, prev_id, gids)
        if prev_id is not None:
            conn.execute(sa.text(
                "UPDATE grid_version SET status = 'retired', valid_to = :e WHERE id = :p"),
                {"e": effective, "p": prev_id})
        new_codes = assign_codes(conn, fr, version_id, prev_id, rules)
        conn.execute(sa.text(
            "UPDATE grid g SET responsible_party = gg.responsible_party FROM grid_geometry gg"
            " WHERE gg.version_id = :v AND gg.grid_id = g.id"), {"v": version_id})
        conn.execute(sa.text(
            "UPDATE grid_version SET status = 'active', valid_from = :e, valid_to = NULL,"
            " activated_at = now(), lock_version = lock_version + 1, updated_by = :a,"
            " updated_at = now() WHERE id = :v"), {"e": effective, "a": actor, "v": version_id})
        after_geo = geoms_json(conn, version_id, changed_grids(conn, prev_id, version_id))
        reassigned = int(reassign_open(conn, cid) or 0) if incident_table(conn) else None
        audit(conn, actor, "grid.activate", version_id,
              {"version": prev_id, "grids": before_geo},
              {"version": version_id, "generation": v["generation"], "effective": effective,
               "new_codes": new_codes, "grids": after_geo, "incidents_reassigned": reassigned,
               "warnings": warnings})


def activate_due(conn: Connection, *, at: dt.datetime | None = None,
                 actor: str = SYSTEM_ACTOR, rules: GridRules | None = None) -> list[int]:
    """Promote every scheduled plan whose date has come (``valid_from <= at``, default the
    transaction's now), oldest date first; returns the promoted version ids.

    Rows are locked with ``SKIP LOCKED``: two runners at once (a timer and the web app)
    never promote the same plan twice. Call inside a transaction that is committed.
    """
    when = at if at is not None else conn.execute(sa.text("SELECT now()")).scalar_one()
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    done: list[int] = []
    for vid in conn.execute(_DUE_SQL, {"at": when}).scalars().all():
        v = version_row(conn, int(vid))
        prev = conn.execute(_PREV_SQL, {"c": v["community_id"]}).scalar()
        promote(conn, int(vid), int(prev) if prev is not None else None, v["valid_from"],
                actor, rules or GridRules(), [])
        done.append(int(vid))
    return done


def due_count(conn: Connection, at: dt.datetime | None = None) -> int:
    """How many scheduled plans are due (a cheap check before :func:`activate_due`)."""
    return int(conn.execute(sa.text(
        "SELECT count(*) FROM grid_version WHERE status = 'scheduled'"
        " AND valid_from <= COALESCE(CAST(:at AS timestamptz), now())"), {"at": at}).scalar_one())


def cancel_schedule(conn: Connection, version_id: int, *, actor: str) -> None:
    """Withdraw a scheduled plan before its date: it becomes a draft again and the plan in
    force loses its end date.

    Raises
    ------
    Conflict
        The version is not scheduled (a plan already in force is changed by a new draft
        or a revert, not cancelled).
    """
    v = version_row(conn, version_id, for_update=True)
    if v["status"] != "scheduled":
        raise Conflict("grids.cancel_not_scheduled",
                       {"version": version_id, "status": v["status"]})
    with conn.begin_nested():
        conn.execute(sa.text(
            "UPDATE grid_version SET valid_to = NULL WHERE community_id = :c"
            " AND status = 'active'"), {"c": v["community_id"]})
        conn.execute(sa.text(
            "UPDATE grid_version SET status = 'draft', valid_from = NULL,"
            " lock_version = lock_version + 1, updated_by = :a, updated_at = now()"
            " WHERE id = :v"), {"a": actor, "v": version_id})
        audit(conn, actor, "grid.unschedule", version_id,
              {"effective": v["valid_from"]}, {"status": "draft"})
