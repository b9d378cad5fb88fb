"""JSON API for grid plans under ``/api/grids`` (thin callers of :mod:`gridmap.grids`).

Reads need a login; every change needs the ``officer`` or ``admin`` role and the CSRF
token (header ``X-CSRFToken``). Edits of a draft carry the ``lock_version`` the client
last saw: a stale one gets 409 Conflict and nothing is written (two officers, one draft).
Every response honours ``?display=gcj02`` (geometries shifted for an Amap basemap).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from flask import Blueprint, Response
from shapely.geometry import shape

from gridmap import grids
from gridmap.crs import to_wgs84
from gridmap.errors import InputTooLarge, ValidationError
from gridmap.grids import activation as grid_activation
from gridmap.grids.partition import PartitionParams
from web import db
from web.access import actor, current_user, roles_required
from web.api import grid_schemas as schemas
from web.api.common import json_response, settings, shift_geometries
from web.api.parsing import describe, parse, use
from web.api.schemas import DisplayQuery
from web.i18n import current_language

bp = Blueprint("grids_api", __name__, url_prefix="/api/grids")
EDITORS = ("officer", "admin")
INCIDENT_COUNT_ROLES = EDITORS
"""Roles that get per-grid open-incident counts in an impact preview."""


def _rules() -> grids.GridRules:
    return grids.GridRules.from_settings(settings())


def _params() -> PartitionParams:
    s = settings()
    return PartitionParams(households_min=s.grid_households_min,
                           households_max=s.grid_households_max)


def _json(obj: Any, status: int = 200) -> Response:
    """JSON response; with ``?display=gcj02`` (Amap basemap) geometries come shifted."""
    if parse(DisplayQuery)["display"] == "gcj02":
        obj = shift_geometries(obj)
    return json_response(obj, status)


# --------------------------------------------------------------------------- reads


@bp.get("/communities/<int:community_id>/versions")
@roles_required()
@describe(DisplayQuery)
def versions(community_id: int) -> Response:
    """The community's grid versions and its active one."""
    with db.read() as conn:
        return _json({"community_id": community_id,
                      "active": grids.active_version(conn, community_id),
                      "versions": grids.list_versions(conn, community_id)})


@bp.get("/versions/<int:version_id>")
@roles_required()
@describe(DisplayQuery)
def version(version_id: int) -> Response:
    """A version and its grids (GeoJSON)."""
    with db.read() as conn:
        v = grids.get_version(conn, version_id)
        fc = grids.version_geojson(conn, version_id)
    return _json({"version": v, "grids": fc})


@bp.get("/versions/<int:version_id>/units")
@roles_required()
@describe(DisplayQuery)
def units(version_id: int) -> Response:
    """The version's units (buildings, blocks) with their grid (GeoJSON).

    A GET never writes: unit cells a community has no stored copy of yet are computed in
    this read's transaction and discarded with it (they are stored by the edits that need
    them: a new draft, a move, an impact preview on a write path).
    """
    with db.read() as conn:
        return _json(grids.units_geojson(conn, version_id))


@bp.get("/versions/<int:version_id>/validate")
@roles_required()
@describe(DisplayQuery)
def validate(version_id: int) -> Response:
    """Validation problems of a version (texts in the session's language)."""
    with db.read() as conn:
        problems = grids.validate(conn, version_id, _rules())
    lang = current_language()
    return _json({"version_id": version_id,
                  "errors": sum(p.severity == "error" for p in problems),
                  "problems": [p.as_dict(lang) for p in problems]})


@bp.get("/versions/<int:version_id>/impact")
@roles_required()
@use(schemas.ImpactQuery)
def impact(version_id: int, args: dict[str, Any]) -> Response:
    """Impact of a version against the active one (or ``against``): moves, grid totals.

    Open-incident counts per grid are case data: only the editors (officer, admin), who
    see every case, get them; for other roles ``open_incidents`` is left out.
    """
    with db.read() as conn:
        out = grids.impact(conn, version_id, args.get("against"))
    user = current_user()
    if user is None or user.role not in INCIDENT_COUNT_ROLES:
        for g in out["grids"]:
            for side in ("before", "after"):
                if g.get(side):
                    g[side].pop("open_incidents", None)
    return _json(out)


@bp.get("/versions/<int:version_id>/history")
@roles_required()
@describe(DisplayQuery)
def history(version_id: int) -> Response:
    """The edit operations of a draft."""
    with db.read() as conn:
        return _json({"ops": grids.edit_history(conn, version_id)})


@bp.get("/diff")
@roles_required()
@use(schemas.DiffQuery)
def diff(args: dict[str, Any]) -> Response:
    """Differences between two versions."""
    with db.read() as conn:
        return _json(grids.diff(conn, args["old"], args["new"]))


@bp.get("/at")
@roles_required()
@use(schemas.AtQuery)
def at(args: dict[str, Any]) -> Response:
    """The grid at a point and time."""
    with db.read() as conn:
        return _json({"grid": grids.grid_at(conn, args["lon"], args["lat"], args["at"])})


# --------------------------------------------------------------------------- changes


@bp.post("/communities/<int:community_id>/drafts")
@roles_required(*EDITORS)
@use(schemas.DraftBody, "json")
def create_draft(community_id: int, body: dict[str, Any]) -> Response:
    """Start a draft from the community's active plan."""
    with db.write() as conn:
        vid = grids.create_draft(conn, community_id, actor=actor(), note=body.get("note"))
        v = grids.get_version(conn, vid)
    return _json({"version": v}, 201)


@bp.post("/communities/<int:community_id>/autopartition")
@roles_required(*EDITORS)
@use(schemas.SeedBody, "json")
def autopartition(community_id: int, body: dict[str, Any]) -> Response:
    """A new draft partitioned automatically."""
    with db.write() as conn:
        vid = grids.auto_partition(conn, community_id, seed=body.get("seed") or 0,
                                   params=_params(), actor=actor(),
                                   second_target=body.get("second_target"))
        v = grids.get_version(conn, vid)
    return _json({"version": v}, 201)


@bp.post("/versions/<int:version_id>/moves")
@roles_required(*EDITORS)
@use(schemas.MovesBody, "json")
def moves(version_id: int, body: dict[str, Any]) -> Response:
    """Move units (buildings, blocks) into a grid (``to_grid`` null: a new grid)."""
    cap = settings().max_move_units
    if len(body["units"]) > cap:
        raise InputTooLarge("security.too_many_units", params={"max": cap, "n": len(body["units"])})
    with db.write() as conn:
        out = grids.move_units(conn, version_id, body["units"], body.get("to_grid"),
                               actor=actor(), expected_lock_version=body["lock_version"])
    return _json(out)


@bp.post("/versions/<int:version_id>/geometry")
@roles_required(*EDITORS)
@use(schemas.GeometryBody, "json")
def geometry(version_id: int, body: dict[str, Any]) -> Response:
    """Redraw a grid (or draw a new one) as a polygon; ``crs=gcj02`` for a GCJ-02 basemap."""
    try:
        poly = shape(body["geometry"])
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        raise ValidationError("web.geometry_invalid", params={"error": str(exc)}) from exc
    if body["crs"] == "gcj02":  # drawn on a GCJ-02 basemap: converted explicitly
        poly = shapely.transform(poly, lambda xy: np.column_stack(
            to_wgs84(xy[:, 0], xy[:, 1], "gcj02")))
    with db.write() as conn:
        out = grids.set_grid_geometry(conn, version_id, body.get("grid_id"), poly,
                                      actor=actor(), expected_lock_version=body["lock_version"],
                                      rules=_rules())
    return _json(out)


@bp.post("/versions/<int:version_id>/grids/<int:grid_id>")
@roles_required(*EDITORS)
@use(schemas.GridAttrsBody, "json")
def grid_attrs(version_id: int, grid_id: int, body: dict[str, Any]) -> Response:
    """Set a grid's name, responsible party (责任主体) or lock."""
    with db.write() as conn:
        out = grids.set_grid_attrs(conn, version_id, grid_id, actor=actor(),
                                   expected_lock_version=body["lock_version"],
                                   name=body.get("name"),
                                   responsible_party=body.get("responsible_party"),
                                   locked=body.get("locked"))
    return _json(out)


@bp.post("/versions/<int:version_id>/undo")
@roles_required(*EDITORS)
@use(schemas.LockBody, "json")
def undo(version_id: int, body: dict[str, Any]) -> Response:
    """Undo the draft's last edit."""
    with db.write() as conn:
        return _json(grids.undo(conn, version_id, actor=actor(),
                                expected_lock_version=body["lock_version"]))


@bp.post("/versions/<int:version_id>/redo")
@roles_required(*EDITORS)
@use(schemas.LockBody, "json")
def redo(version_id: int, body: dict[str, Any]) -> Response:
    """Redo the draft's last undone edit."""
    with db.write() as conn:
        return _json(grids.redo(conn, version_id, actor=actor(),
                                expected_lock_version=body["lock_version"]))


@bp.post("/versions/<int:version_id>/rebalance")
@roles_required(*EDITORS)
@use(schemas.RebalanceBody, "json")
def rebalance(version_id: int, body: dict[str, Any]) -> Response:
    """Rebalance the draft's grids towards the household range (and a workload target)."""
    with db.write() as conn:
        return _json(grids.rebalance(conn, version_id, actor=actor(), params=_params(),
                                     expected_lock_version=body["lock_version"],
                                     second_target=body.get("second_target")))


@bp.post("/versions/<int:version_id>/activate")
@roles_required(*EDITORS)
@use(schemas.ActivateBody, "json")
def activate(version_id: int, body: dict[str, Any]) -> Response:
    """Activate a valid draft from ``effective`` (grid codes are assigned)."""
    with db.write() as conn:
        grids.activate(conn, version_id, effective=body["effective"], actor=actor(),
                       expected_lock_version=body["lock_version"], rules=_rules())
        v = grids.get_version(conn, version_id)
        codes = [g["grid_code"] for g in grids.version_grids(conn, version_id)]
    return _json({"version": v, "grid_codes": codes})


@bp.post("/versions/<int:version_id>/revert")
@roles_required(*EDITORS)
@use(schemas.RevertBody, "json")
def revert(version_id: int, body: dict[str, Any]) -> Response:
    """Make an earlier version active again (as a new version)."""
    with db.write() as conn:
        vid = grids.revert(conn, version_id, effective=body["effective"], actor=actor(),
                           rules=_rules())
        v = grids.get_version(conn, vid)
    return _json({"version": v}, 201)


@bp.post("/versions/<int:version_id>/discard")
@roles_required(*EDITORS)
@describe(DisplayQuery)
def discard(version_id: int) -> Response:
    """Delete a draft."""
    with db.write() as conn:
        grids.discard_draft(conn, version_id, actor=actor())
    return _json({"discarded": version_id})


@bp.post("/versions/<int:version_id>/unschedule")
@roles_required(*EDITORS)
@describe(DisplayQuery)
def unschedule(version_id: int) -> Response:
    """Withdraw a plan scheduled for a later date (待生效): it becomes a draft again."""
    with db.write() as conn:
        grid_activation.cancel_schedule(conn, version_id, actor=actor())
        v = grids.get_version(conn, version_id)
    return _json({"version": v})

