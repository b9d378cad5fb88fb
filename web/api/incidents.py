"""Incident JSON API: locate, incidents (GeoJSON, paginated), transitions, overdue cases,
locations to confirm.

Every endpoint is a thin caller of the library: requests are parsed by the schemas of
:mod:`web.api.schemas` (400 listing every bad parameter), the viewer's area scope is
applied by :mod:`gridmap.accounts.scope` (the same functions the CLI calls), and the JSON
is shaped by :mod:`web.api.common`. A whole district's incidents are never sent as one
GeoJSON: ``/api/incidents`` needs a bbox and is paginated.
"""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, current_app
from sqlalchemy.engine import Engine

from gridmap import incidents
from gridmap.accounts import scope as scopes
from gridmap.incidents import addressing
from gridmap.incidents import locate as locate_lib
from web import db
from web.access import actor, current_scope, roles_required
from web.api import schemas
from web.api.common import (
    incident_feature,
    incident_page,
    json_response,
    jsonable,
    settings,
)
from web.api.parsing import use

bp = Blueprint("incidents_api", __name__, url_prefix="/api")

READ_ROLES = ("supervisor", "officer")  # admin passes every role check
WRITE_ROLES = ("supervisor", "officer")
CONFIRM_ROLES = ("supervisor",)
_ENGINE_LOCK = threading.Lock()


def intake_params() -> incidents.IntakeParams:
    """Intake parameters (near-boundary distance, duplicates, working day) from settings."""
    return incidents.IntakeParams.from_settings(settings())


def locate_engine() -> Engine:
    """A small pool for ``/api/locate`` only: autocommit, no pre-ping.

    Locate is read-only and latency-critical (p99 ≤ 20 ms at 200 req/s). The shared engine
    pings every checked-out connection and wraps each request in BEGIN … ROLLBACK: three
    extra round trips, more than the query itself on a busy machine. A connection that
    died is invalidated on its error and :func:`locate` retries once.
    """
    eng: Engine | None = current_app.extensions.get("gridmap.locate_engine")
    if eng is None:
        with _ENGINE_LOCK:
            eng = current_app.extensions.get("gridmap.locate_engine")
            if eng is None:
                eng = sa.create_engine(
                    db.replica_or_primary().url, pool_size=4, max_overflow=4,
                    pool_pre_ping=False,
                    pool_recycle=600, isolation_level="AUTOCOMMIT",
                )
                current_app.extensions["gridmap.locate_engine"] = eng
    return eng


@bp.get("/locate")
@use(schemas.LocateQuery)
def locate(args: dict[str, Any]) -> Response:
    """Locate a point: street, community, estate, building and grid (open to any user)."""
    for attempt in (0, 1):
        try:
            with locate_engine().connect() as conn:
                result = locate_lib.locate_point(
                    conn, args["lon"], args["lat"], at=args.get("at"),
                    near_boundary_m=settings().near_boundary_m)
            break
        except sa.exc.DBAPIError as exc:  # a pooled connection died (DB restart): retry once
            if attempt or not exc.connection_invalidated:
                raise
    return json_response({k: jsonable(v) for k, v in result.items()})


@bp.get("/incidents")
@roles_required(*READ_ROLES)
@use(schemas.IncidentListQuery)
def list_incidents(args: dict[str, Any]) -> Response:
    """Incidents in a bbox, filtered, paginated (GeoJSON FeatureCollection)."""
    page, size = args.pop("page"), args.pop("page_size")
    scope = current_scope()
    with db.read() as conn:
        result = scopes.list_incidents(conn, scope, args, page, size)
    return incident_page(result, scope, page, size)


@bp.post("/incidents")
@roles_required(*WRITE_ROLES)
@use(schemas.IncidentBody, "json")
def create_incident(body: dict[str, Any]) -> Response:
    """Create an incident (located into street/community/estate/building/grid)."""
    with db.write() as conn:  # placed from its address, or queued for a supervisor (#19)
        out = addressing.create_or_queue(
            conn, body, actor=actor(), channel="api", params=intake_params(),
            address_params=addressing.AddressParams.from_settings(settings()))
    if "queued" in out:
        return json_response({"queued": out["queued"], "candidates": out["candidates"]}, 202)
    return json_response(incident_feature(out["incident"], current_scope()), 201)


@bp.get("/incidents/<int:incident_id>")
@roles_required(*READ_ROLES)
def get_incident(incident_id: int) -> Response:
    """One incident with its transition history."""
    scope = current_scope()
    with db.read() as conn:
        row = scopes.get_incident(conn, scope, incident_id)
        history = incidents.history(conn, incident_id)
    feature = incident_feature(row, scope)
    feature["properties"]["history"] = [{k: jsonable(v) for k, v in h.items()} for h in history]
    return json_response(feature)


@bp.post("/incidents/<int:incident_id>/transitions")
@roles_required(*WRITE_ROLES)
@use(schemas.TransitionBody, "json")
def transition(incident_id: int, body: dict[str, Any]) -> Response:
    """Move a case to another state (only legal transitions): ``{"to": state, "note"}``;
    评价 (``to=evaluated``) records ``satisfaction`` 1–5 and ``solved``."""
    scope = current_scope()
    with db.write() as conn:
        scopes.transition(conn, scope, incident_id, body["to"], actor=actor(),
                          note=body.get("note"), params=intake_params(),
                          satisfaction=body.get("satisfaction"), solved=body.get("solved"))
        row = incidents.get(conn, incident_id)
    return json_response(incident_feature(row, scope))


def _special_list(flag: str, args: dict[str, Any]) -> Response:
    """A page of the viewer's incidents with ``flag`` set (``overdue`` or ``to_confirm``)."""
    page, size = args.pop("page"), args.pop("page_size")
    args[flag] = True
    scope = current_scope()
    with db.read() as conn:
        result = scopes.list_incidents(conn, scope, args, page, size)
    return incident_page(result, scope, page, size)


@bp.get("/incidents/overdue")
@roles_required(*READ_ROLES)
@use(schemas.SpecialListQuery)
def overdue(args: dict[str, Any]) -> Response:
    """Open cases past their deadline, most overdue first (paginated)."""
    return _special_list("overdue", args)


@bp.get("/incidents/to-confirm")
@roles_required(*CONFIRM_ROLES)
@use(schemas.SpecialListQuery)
def to_confirm(args: dict[str, Any]) -> Response:
    """Cases near a grid boundary or outside every grid whose location no supervisor has
    confirmed yet (the viewer's area), newest first, paginated."""
    return _special_list("to_confirm", args)


@bp.get("/incidents/<int:incident_id>/location")
@roles_required(*CONFIRM_ROLES)
def location_candidates(incident_id: int) -> Response:
    """The grids an incident may be confirmed in (nearest active grids, containing first)."""
    with db.read() as conn:
        row, cands = scopes.location_candidates(conn, current_scope(), incident_id)
    return json_response({
        "incident_id": incident_id, "grid_id": row["grid_id"],
        "near_boundary": row["near_boundary"], "located_by": row["located_by"],
        "location_confirmed_at": jsonable(row["location_confirmed_at"]),
        "location_confirmed_by": row["location_confirmed_by"], "candidates": cands})


@bp.post("/incidents/<int:incident_id>/location")
@roles_required(*CONFIRM_ROLES)
@use(schemas.LocationBody, "json")
def confirm_location(incident_id: int, body: dict[str, Any]) -> Response:
    """Confirm the incident's grid or move it to a candidate grid (audit-logged; closed
    cases can be confirmed, not moved): ``{"grid_id": id?, "note"?}``."""
    scope = current_scope()
    with db.write() as conn:
        out = scopes.confirm_location(conn, scope, incident_id, actor=actor(),
                                      grid_id=body.get("grid_id"), note=body.get("note"))
        row = incidents.get(conn, incident_id)
    return json_response({**incident_feature(row, scope), "moved": out["moved"]})
