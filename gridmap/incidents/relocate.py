"""Changing where an incident is placed, after it was located on intake
(:mod:`gridmap.incidents.locate`):

- :func:`reassign_open`: after a redraw is activated (``grids.activate``, same transaction),
  the open incidents of the community move to the grids of the new active version;
- :func:`confirm_location`: a supervisor confirms the grid of an incident flagged
  ``near_boundary`` or placed in the nearest grid (属地兜底), or moves it to one of the
  :func:`boundary_candidates` (the nearest active grids); recorded in ``audit_log``.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.config import Settings
from gridmap.errors import Conflict, NotFound, Problem, ValidationError
from gridmap.incidents.states import CLOSED_STATES, OPEN_STATES

_REASSIGN_SQL = sa.text(
    """
    WITH target AS (
        SELECT i.id, i.geom FROM incident i
        WHERE i.state = ANY(:open_states)
          AND (i.community_id = :cid
               OR i.grid_id IN (SELECT g.id FROM grid g WHERE g.community_id = :cid))
    ), pick AS (
        SELECT t.id, n.grid_id, n.version_id, n.inside, n.dist, n.bdist
        FROM target t
        CROSS JOIN LATERAL (
            SELECT k.grid_id, k.version_id, ST_Intersects(k.geom, t.geom) AS inside,
                   ST_Distance(k.geom::geography, t.geom::geography) AS dist,
                   ST_Distance(ST_Boundary(k.geom)::geography, t.geom::geography) AS bdist
            FROM (SELECT gg.grid_id, gg.version_id, gg.geom
                  FROM grid_geometry gg JOIN grid_version gv ON gv.id = gg.version_id
                  WHERE gv.community_id = :cid AND gv.status = 'active'
                  ORDER BY gg.geom <-> t.geom LIMIT 8) k
            ORDER BY ST_Intersects(k.geom, t.geom) DESC,
                     ST_Distance(k.geom::geography, t.geom::geography), k.grid_id LIMIT 1) n
    )
    UPDATE incident i SET
        grid_id = p.grid_id, grid_version_id = p.version_id,
        located_by = CASE WHEN p.inside THEN 'grid' ELSE 'nearest_grid' END,
        grid_distance_m = CASE WHEN p.inside THEN NULL ELSE p.dist END,
        near_boundary = p.inside AND p.bdist <= :near_m,
        boundary_distance_m = CASE WHEN p.inside AND p.bdist <= :near_m THEN p.bdist END,
        -- a supervisor's confirmation was about the old plan: ask again if the grid changed
        location_confirmed_at = CASE WHEN i.grid_id = p.grid_id THEN i.location_confirmed_at END,
        location_confirmed_by = CASE WHEN i.grid_id = p.grid_id THEN i.location_confirmed_by END
    FROM pick p WHERE i.id = p.id
    """
)


def reassign_open(conn: Connection, community_id: int, *,
                  near_boundary_m: float = Settings.near_boundary_m) -> int:
    """Re-assign the open incidents of a community to the grids of its active version.

    Called by ``grids.activate`` in the same transaction after a redraw is activated. Closed,
    evaluated and voided incidents keep the grid they were handled in. A supervisor's location
    confirmation is cleared where the grid changes (it was about the old plan).

    Returns
    -------
    int
        Number of incidents re-assigned.
    """
    with conn.begin_nested():
        res = conn.execute(_REASSIGN_SQL, {"cid": community_id, "open_states": list(OPEN_STATES),
                                           "near_m": near_boundary_m})
    return int(res.rowcount or 0)


# --------------------------------------------------------------------------------------
# supervisors confirm points near a boundary or outside every grid
# --------------------------------------------------------------------------------------

CANDIDATE_GRIDS = 5
"""How many of the nearest active grids a supervisor may choose from."""

_CANDIDATES_SQL = sa.text(
    """
    SELECT k.grid_id, g.grid_code, g.name AS grid_name, k.version_id, gv.community_id,
           c.street_id, ST_Intersects(k.geom, i.geom) AS inside,
           ST_Distance(k.geom::geography, i.geom::geography) AS distance_m,
           k.grid_id = i.grid_id AS current
    FROM incident i
    CROSS JOIN LATERAL (
        SELECT gg.grid_id, gg.version_id, gg.geom
        FROM grid_geometry gg JOIN grid_version gv2 ON gv2.id = gg.version_id
        WHERE gv2.status = 'active'
        ORDER BY gg.geom <-> i.geom LIMIT :k) k
    JOIN grid_version gv ON gv.id = k.version_id
    JOIN grid g ON g.id = k.grid_id
    JOIN community c ON c.id = gv.community_id
    WHERE i.id = :id
    ORDER BY ST_Intersects(k.geom, i.geom) DESC, distance_m, k.grid_id
    """
)


def boundary_candidates(conn: Connection, incident_id: int) -> list[dict[str, Any]]:
    """The active grids nearest to an incident (at most :data:`CANDIDATE_GRIDS`): the grids
    a supervisor may confirm it in. Each: ``grid_id, grid_code, grid_name, version_id,
    community_id, street_id, inside, distance_m, current``; containing grids first."""
    rows = conn.execute(_CANDIDATES_SQL, {"id": incident_id, "k": CANDIDATE_GRIDS}
                        ).mappings().all()
    return [dict(r, distance_m=round(float(r["distance_m"]), 1)) for r in rows]


def confirm_location(conn: Connection, incident_id: int, *, actor: str,
                     grid_id: int | None = None, note: str | None = None) -> dict[str, Any]:
    """A supervisor confirms the grid of an incident, or moves it to a neighbouring grid.

    ``grid_id`` (default: the current grid) must be one of :func:`boundary_candidates`. The
    incident takes that grid's version, community and street; it is marked confirmed
    (``location_confirmed_at/by``) and the change is written to ``audit_log``. Closed cases
    keep the grid they were handled in: they can be confirmed, not moved.

    Raises
    ------
    NotFound
        Unknown incident.
    ValidationError
        No grid to confirm, or a grid that is not among the nearest candidates.
    Conflict
        Moving a closed, evaluated or voided case.
    """
    row = conn.execute(sa.text(
        "SELECT id, state, grid_id, grid_version_id, community_id, street_id, located_by, "
        "grid_distance_m FROM incident WHERE id = :id FOR UPDATE"), {"id": incident_id}
    ).mappings().first()
    if row is None:
        raise NotFound("incidents.not_found", {"id": incident_id})
    target = grid_id if grid_id is not None else row["grid_id"]
    if target is None:
        raise ValidationError("incidents.no_grid_yet")
    cands = {c["grid_id"]: c for c in boundary_candidates(conn, incident_id)}
    if target not in cands:
        raise ValidationError(
            "incidents.not_a_nearest_grid",
            [Problem("incidents.not_a_candidate_grid", field="grid_id")],
            {"grid": target, "k": CANDIDATE_GRIDS, "incident": incident_id})
    moving = target != row["grid_id"]
    if moving and row["state"] in CLOSED_STATES:
        raise Conflict("incidents.closed_keeps_grid",
                       {"incident": incident_id, "state": row["state"]})
    c = cands[target]
    after = {"grid_id": target, "grid_version_id": c["version_id"],
             "community_id": c["community_id"], "street_id": c["street_id"],
             "located_by": "grid" if c["inside"] else "nearest_grid",
             "grid_distance_m": None if c["inside"] else c["distance_m"]}
    with conn.begin_nested():
        conn.execute(sa.text(
            "UPDATE incident SET grid_id = :grid_id, grid_version_id = :grid_version_id, "
            "community_id = :community_id, street_id = :street_id, located_by = :located_by, "
            "grid_distance_m = :grid_distance_m, location_confirmed_at = now(), "
            "location_confirmed_by = :actor, lock_version = lock_version + 1 WHERE id = :id"),
            {**after, "actor": actor, "id": incident_id})
        conn.execute(sa.text(
            "INSERT INTO audit_log (actor, action, object_type, object_id, before, after) "
            "VALUES (:actor, :action, 'incident', :oid, CAST(:before AS jsonb), "
            "CAST(:after AS jsonb))"),
            {"actor": actor, "action": "incident.location_moved" if moving
             else "incident.location_confirmed", "oid": str(incident_id),
             "before": json.dumps({k: row[k] for k in after}),
             "after": json.dumps({**after, "note": note})})
    return {"incident_id": incident_id, "moved": moving, **after}
