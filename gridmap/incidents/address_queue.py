"""The 地址待确认 queue: cases whose address could not be placed with confidence.

A supervisor sees each queued case with its candidates (:func:`list_pending`), then either
picks a candidate or places the case by hand (:func:`place`: the incident is created through
the ordinary write path, with ``geocode_status`` ``confirmed`` or ``manual``), optionally adding
the address to the standard address register (who and when are kept), or dismisses it
(:func:`dismiss`, e.g. a duplicate call). Every step is recorded on the queue row.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import crs
from gridmap.errors import Conflict, NotFound, ValidationError
from gridmap.geocode.register import add_entry
from gridmap.incidents import write
from gridmap.incidents.intake import IntakeParams

_COLS = ("id, created_at, channel, address, level, score, reason, candidates, status, "
         "resolved_at, resolved_by, incident_id, entry_id, payload->>'category_code' AS "
         "category_code, payload->>'description' AS description, "
         "payload->>'reported_at' AS reported_at")


def list_pending(conn: Connection, *, limit: int = 200) -> list[dict[str, Any]]:
    """Pending queue rows, oldest first, with candidates (level, score, reason, lon, lat, label)."""
    rows = conn.execute(sa.text(
        f"SELECT {_COLS} FROM address_queue WHERE status = 'pending' "  # noqa: S608
        "ORDER BY created_at, id LIMIT :n"), {"n": limit}).mappings().all()
    return [dict(r) for r in rows]


def list_far(conn: Connection, community_ids: frozenset[int] | None = None, *,
             limit: int = 100) -> list[dict[str, Any]]:
    """Open cases whose reported point lies far from their address's match (newest first),
    within ``community_ids`` (``None``: the whole district)."""
    rows = conn.execute(sa.text("""
        SELECT i.id, i.case_no, i.address, i.category_code, ST_X(i.geom) AS lon,
               ST_Y(i.geom) AS lat, i.address_distance_m, i.reported_at
        FROM incident i
        WHERE i.address_far AND i.state NOT IN ('closed', 'evaluated', 'voided')
          AND (CAST(:all AS boolean) OR i.community_id = ANY(CAST(:c AS int[])))
        ORDER BY i.reported_at DESC, i.id DESC LIMIT :n"""),
        {"all": community_ids is None, "c": sorted(community_ids or ()), "n": limit})
    return [dict(r) for r in rows.mappings()]


def get_entry(conn: Connection, queue_id: int) -> dict[str, Any]:
    """One queue row (any status)."""
    row = conn.execute(sa.text(f"SELECT {_COLS} FROM address_queue WHERE id = :id"),  # noqa: S608
                       {"id": queue_id}).mappings().first()
    if row is None:
        raise NotFound("geocode.queue_not_found", {"id": queue_id})
    return dict(row)


def _pending(conn: Connection, queue_id: int) -> dict[str, Any]:
    row = conn.execute(sa.text(
        "SELECT id, status, address, payload, candidates FROM address_queue WHERE id = :id "
        "FOR UPDATE"), {"id": queue_id}).mappings().first()
    if row is None:
        raise NotFound("geocode.queue_not_found", {"id": queue_id})
    if row["status"] != "pending":
        raise Conflict("geocode.queue_already_resolved", {"id": queue_id,
                                                          "status": row["status"]})
    return dict(row)


def place(conn: Connection, queue_id: int, *, actor: str, candidate: int | None = None,
          lon: float | None = None, lat: float | None = None, coords: str = "wgs84",
          add_to_register: bool = False, params: IntakeParams | None = None) -> dict[str, Any]:
    """Place a queued case at candidate number ``candidate`` (0-based) or at ``lon``/``lat``
    (in ``coords``: a point picked on a GCJ-02 basemap is converted to WGS84 explicitly).

    Returns
    -------
    dict
        ``incident_id``, ``geocode_status`` (confirmed | manual), ``entry_id`` (register entry
        added, or None).

    Raises
    ------
    NotFound, Conflict
        Unknown queue row; already placed or dismissed.
    ValidationError
        Neither a valid candidate number nor both coordinates.
    """
    row = _pending(conn, queue_id)
    cands = row["candidates"] or []
    if candidate is not None:
        if not 0 <= candidate < len(cands):
            raise ValidationError("geocode.bad_candidate", params={"n": len(cands)})
        lon, lat = cands[candidate]["lon"], cands[candidate]["lat"]
        how, level, score = "confirmed", cands[candidate]["level"], cands[candidate]["score"]
    elif lon is None or lat is None:
        raise ValidationError("geocode.place_needs_point")
    else:
        how, level, score = "manual", None, None
        x, y = crs.to_wgs84(np.array([lon], dtype=float), np.array([lat], dtype=float), coords)
        lon, lat = float(x[0]), float(y[0])
    payload = {k: v for k, v in dict(row["payload"]).items() if v is not None}
    payload.update(lon=lon, lat=lat)
    with conn.begin_nested():
        inc = write.create(conn, payload, actor=actor, params=params)
        conn.execute(sa.text(
            "UPDATE incident SET geocode_status = :how, geocode_level = :lv, geocode_score = :sc "
            "WHERE id = :id"), {"how": how, "lv": level, "sc": score, "id": inc["id"]})
        entry_id = add_entry(conn, row["address"], float(lon), float(lat), actor=actor) \
            if add_to_register else None
        conn.execute(sa.text(
            "UPDATE address_queue SET status = 'placed', resolved_at = now(), resolved_by = :a, "
            "incident_id = :i, entry_id = :e WHERE id = :id"),
            {"a": actor, "i": inc["id"], "e": entry_id, "id": queue_id})
    return {"incident_id": int(inc["id"]), "geocode_status": how, "entry_id": entry_id}


def dismiss(conn: Connection, queue_id: int, *, actor: str, note: str | None = None) -> None:
    """Close a queued case without placing it (the reason goes into the payload)."""
    _pending(conn, queue_id)
    conn.execute(sa.text(
        "UPDATE address_queue SET status = 'dismissed', resolved_at = now(), resolved_by = :a, "
        "payload = payload || CAST(:n AS jsonb) WHERE id = :id"),
        {"a": actor, "n": json.dumps({"dismiss_note": note}, ensure_ascii=False),
         "id": queue_id})
