"""Reading incidents: one incident with its labels, its history, and pages of incidents
matching the shared filters (:func:`filter_sql`, also used by hotspots and indicators).

Rows are returned unmasked: mask them with :func:`gridmap.incidents.privacy.masked_for`
before showing them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import NotFound
from gridmap.incidents.intake import SOURCE_LABELS
from gridmap.incidents.states import CLOSED_STATES, STATE_LABELS
from gridmap.reference.categories import URGENCY_LABELS

_SELECT = """
    SELECT i.id, i.external_id, i.case_no, i.category_code AS category,
           c.name_zh AS category_name, c.default_responsible_unit AS responsible_unit,
           i.source, i.urgency, i.state AS status, i.description, i.address, i.media_url,
           i.reporter_name, i.reporter_phone, i.reported_at, ST_X(i.geom) AS lon,
           ST_Y(i.geom) AS lat, i.street_id, i.community_id, i.estate_id, i.building_id,
           i.grid_id, g.grid_code, i.grid_version_id, i.located_by, i.grid_distance_m,
           i.near_boundary, i.boundary_distance_m, i.duplicate_of, i.filed_at, i.dispatched_at,
           i.due_at, i.handled_at, i.closed_at, i.parked_at, i.extensions, i.rework_count,
           i.synthetic, i.location_confirmed_at, i.location_confirmed_by,
           i.geocode_level, i.geocode_score, i.geocode_status, i.address_far,
           i.address_distance_m,
           (SELECT max(e.at) FROM incident_event e WHERE e.incident_id = i.id) AS updated_at
    FROM incident i
    JOIN event_category c ON c.code = i.category_code
    LEFT JOIN grid g ON g.id = i.grid_id
"""


def _decorate(row: Mapping[Any, Any]) -> dict[str, Any]:
    out = dict(row)
    out["state"] = out["status"]
    out["status_label"] = STATE_LABELS.get(out["status"])
    out["urgency_label"] = URGENCY_LABELS.get(out["urgency"])
    out["source_label"] = SOURCE_LABELS.get(out["source"])
    return out


def get(conn: Connection, incident_id: int) -> dict[str, Any]:
    """One incident (unmasked: mask with :func:`masked_for` before showing it)."""
    row = conn.execute(sa.text(_SELECT + " WHERE i.id = :id"), {"id": incident_id}
                       ).mappings().first()
    if row is None:
        raise NotFound("incidents.not_found", {"id": incident_id})
    return _decorate(row)


def history(conn: Connection, incident_id: int) -> list[dict[str, Any]]:
    """The transitions of one incident, oldest first."""
    rows = conn.execute(sa.text(
        "SELECT at, actor, from_state, to_state, note, data FROM incident_event "
        "WHERE incident_id = :id ORDER BY at, id"), {"id": incident_id}).mappings().all()
    return [dict(r, to_label=STATE_LABELS.get(r["to_state"]),
                 from_label=STATE_LABELS.get(r["from_state"] or "")) for r in rows]


def filter_sql(filters: Mapping[str, Any], alias: str = "i") -> tuple[str, dict[str, Any]]:
    """WHERE clause (bound parameters only) for the shared incident filters.

    Keys: ``start``/``end`` (reported_at window), ``categories`` (codes; a 大类 code such as
    ``E01`` matches its sub-classes), ``statuses``, ``urgencies``, ``sources``, ``bbox``
    (lon0, lat0, lon1, lat1), ``grid_ids``, ``street_ids``, ``community_ids``, ``ids``,
    ``open`` (bool), ``overdue`` (bool: open and past due), ``synthetic`` (bool),
    ``to_confirm`` (bool: open, near a grid boundary or outside every grid, location not
    confirmed by a supervisor yet).
    """
    a = alias
    clauses = ["true"]
    p: dict[str, Any] = {}
    if filters.get("start") is not None:
        clauses.append(f"{a}.reported_at >= :f_start")
        p["f_start"] = filters["start"]
    if filters.get("end") is not None:
        clauses.append(f"{a}.reported_at < :f_end")
        p["f_end"] = filters["end"]
    if filters.get("categories"):
        clauses.append(f"({a}.category_code = ANY(:f_cat) OR left({a}.category_code, 3) = "
                       "ANY(:f_cat))")
        p["f_cat"] = list(filters["categories"])
    for key, col in (("statuses", "state"), ("urgencies", "urgency"), ("sources", "source"),
                     ("grid_ids", "grid_id"), ("ids", "id")):
        if filters.get(key):
            clauses.append(f"{a}.{col} = ANY(:f_{key})")
            p[f"f_{key}"] = list(filters[key])
    scope = []
    if filters.get("street_ids") is not None:
        scope.append(f"{a}.street_id = ANY(:f_streets)")
        p["f_streets"] = list(filters["street_ids"])
    if filters.get("community_ids") is not None:
        scope.append(f"{a}.community_id = ANY(:f_comms)")
        p["f_comms"] = list(filters["community_ids"])
    if scope:
        clauses.append("(" + " OR ".join(scope) + ")")
    if filters.get("bbox"):
        clauses.append(f"{a}.geom && ST_MakeEnvelope(:f_x0, :f_y0, :f_x1, :f_y1, 4326)")
        p.update(zip(("f_x0", "f_y0", "f_x1", "f_y1"), filters["bbox"], strict=True))
    if filters.get("open") is not None:
        op = "<> ALL" if filters["open"] else "= ANY"
        clauses.append(f"{a}.state {op}(:f_closed)")
        p["f_closed"] = list(CLOSED_STATES)
    if filters.get("overdue"):
        clauses.append(f"{a}.state <> ALL(:f_closed2) AND {a}.due_at < now()")
        p["f_closed2"] = list(CLOSED_STATES)
    if filters.get("synthetic") is not None:
        clauses.append(f"{a}.synthetic = :f_syn")
        p["f_syn"] = bool(filters["synthetic"])
    if filters.get("to_confirm"):  # open, near a boundary or 属地兜底, not confirmed yet
        clauses.append(f"({a}.near_boundary OR {a}.located_by = 'nearest_grid') AND "
                       f"{a}.location_confirmed_at IS NULL AND {a}.state <> ALL(:f_closed3)")
        p["f_closed3"] = list(CLOSED_STATES)
    return " AND ".join(clauses), p


def list_incidents(conn: Connection, filters: Mapping[str, Any], page: int = 1,
                   page_size: int = 100) -> dict[str, Any]:
    """A page of incidents matching ``filters`` (see :func:`filter_sql`), newest first.

    Overdue lists (``filters['overdue']``) are ordered most overdue first.

    Returns
    -------
    dict
        ``items`` (unmasked rows; mask with :func:`masked_for`), ``total``, ``page``,
        ``page_size``.
    """
    where, p = filter_sql(filters)
    total = conn.execute(sa.text(f"SELECT count(*) FROM incident i WHERE {where}"), p  # noqa: S608 - fixed fragments, bound values
                         ).scalar_one()
    order = "i.due_at ASC, i.id" if filters.get("overdue") else "i.reported_at DESC, i.id DESC"
    rows = conn.execute(sa.text(f"{_SELECT} WHERE {where} ORDER BY {order} "
                                "LIMIT :lim OFFSET :off"),
                        {**p, "lim": page_size, "off": (max(page, 1) - 1) * page_size}
                        ).mappings().all()
    return {"items": [_decorate(r) for r in rows], "total": int(total), "page": page,
            "page_size": page_size}
