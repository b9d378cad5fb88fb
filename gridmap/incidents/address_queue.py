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


_VISIBLE = """(CAST(:all AS boolean) OR EXISTS (
    SELECT 1 FROM jsonb_array_elements(q.candidates) c
    JOIN community m ON m.id = ANY(CAST(:c AS int[]))
     AND ST_Intersects(m.geom, ST_SetSRID(ST_MakePoint(CAST(c->>'lon' AS float8),
                                                       CAST(c->>'lat' AS float8)), 4326))))"""
"""A queued case has no point yet: an area-scoped viewer sees it when one of its candidates
lies in the viewer's communities; a case with no candidate in any scoped area is for
district-wide viewers (``community_ids`` ``None``)."""


def _scope(community_ids: frozenset[int] | None) -> dict[str, Any]:
    return {"all": community_ids is None, "c": sorted(community_ids or ())}


def list_pending(conn: Connection, community_ids: frozenset[int] | None = None, *,
                 limit: int = 200) -> list[dict[str, Any]]:
    """Pending queue rows visible in ``community_ids`` (``None``: all), oldest first, with
    candidates (level, score, reason, lon, lat, label); :func:`count_pending` gives the total."""
    rows = conn.execute(sa.text(
        f"SELECT {_COLS} FROM address_queue q WHERE status = 'pending' AND {_VISIBLE} "  # noqa: S608
        "ORDER BY created_at, id LIMIT :n"), {**_scope(community_ids), "n": limit}
    ).mappings().all()
    return [dict(r) for r in rows]


def count_pending(conn: Connection, community_ids: frozenset[int] | None = None) -> int:
    """How many pending rows ``community_ids`` may see (the list may show fewer)."""
    return int(conn.execute(sa.text(
        f"SELECT count(*) FROM address_queue q WHERE status = 'pending' AND {_VISIBLE}"),  # noqa: S608
        _scope(community_ids)).scalar_one())


def _in_scope(conn: Connection, lon: float, lat: float,
              community_ids: frozenset[int] | None) -> bool:
    if community_ids is None:
        return True
    return bool(conn.execute(sa.text(
        "SELECT EXISTS (SELECT 1 FROM community WHERE id = ANY(CAST(:c AS int[])) AND "
        "ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326)))"),
        {"c": sorted(community_ids), "x": lon, "y": lat}).scalar())


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


def _pending(conn: Connection, queue_id: int,
             community_ids: frozenset[int] | None = None) -> dict[str, Any]:
    sql = f"SELECT id, status, address, payload, candidates FROM address_queue q WHERE id = :id AND {_VISIBLE} FOR UPDATE OF q"  # noqa: S608, E501  (constants only)
    row = conn.execute(sa.text(sql), {**_scope(community_ids), "id": queue_id}
                       ).mappings().first()
    if row is None:   # unknown, or outside the viewer's area: the same answer
        raise NotFound("geocode.queue_not_found", {"id": queue_id})
    if row["status"] != "pending":
        raise Conflict("geocode.queue_already_resolved", {"id": queue_id,
                                                          "status": row["status"]})
    return dict(row)


def place(conn: Connection, queue_id: int, *, actor: str, candidate: int | None = None,
          lon: float | None = None, lat: float | None = None, coords: str = "wgs84",
          add_to_register: bool = False, params: IntakeParams | None = None,
          community_ids: frozenset[int] | None = None) -> dict[str, Any]:
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
        Unknown queue row (or not visible in ``community_ids``); already placed or dismissed.
    ValidationError
        Neither a valid candidate number nor both coordinates; a point outside
        ``community_ids`` (an area-scoped supervisor places cases in their own area only).
    """
    row = _pending(conn, queue_id, community_ids)
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
    if not _in_scope(conn, float(lon), float(lat), community_ids):
        raise ValidationError("geocode.place_outside_scope")
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


def dismiss(conn: Connection, queue_id: int, *, actor: str, note: str | None = None,
            community_ids: frozenset[int] | None = None) -> None:
    """Close a queued case without placing it (the reason goes into the payload)."""
    _pending(conn, queue_id, community_ids)
    conn.execute(sa.text(
        "UPDATE address_queue SET status = 'dismissed', resolved_at = now(), resolved_by = :a, "
        "payload = payload || CAST(:n AS jsonb) WHERE id = :id"),
        {"a": actor, "n": json.dumps({"dismiss_note": note}, ensure_ascii=False),
         "id": queue_id})
