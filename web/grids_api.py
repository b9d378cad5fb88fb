"""JSON API for grid plans under ``/api/grids`` (thin callers of :mod:`gridmap.grids`).

Reads need a login; every change needs the ``officer`` or ``admin`` role and the CSRF
token (header ``X-CSRFToken``). Edits of a draft carry the ``lock_version`` the client
last saw: a stale one gets 409 Conflict and nothing is written (two officers, one draft).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import shapely
from flask import Blueprint, Response, current_app, jsonify, request

from gridmap import grids
from gridmap.config import Settings
from gridmap.crs import to_wgs84
from gridmap.errors import Problem, ValidationError
from gridmap.grids.partition import PartitionParams
from web import db
from web.auth import current_user, roles_required
from web.i18n import current_language
from web.layers import display_param, shift_geojson
from web.messages import localise_problem

bp = Blueprint("grids_api", __name__, url_prefix="/api/grids")
EDITORS = ("officer", "admin")
CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def _settings() -> Settings:
    s: Settings = current_app.extensions["gridmap.settings"]
    return s


def _rules() -> grids.GridRules:
    return grids.GridRules.from_settings(_settings())


def _params() -> PartitionParams:
    s = _settings()
    return PartitionParams(households_min=s.grid_households_min,
                           households_max=s.grid_households_max)


def _actor() -> str:
    user = current_user()
    return user.username if user is not None else "anonymous"


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise ValidationError("the request body must be a JSON object")
    return body


def _int(body: dict[str, Any], key: str, problems: list[Problem], *,
         required: bool = False) -> int | None:
    value = body.get(key)
    if value is None:
        if required:
            problems.append(Problem(f"{key} is required", field=key))
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.isdigit():
            return int(value)
        problems.append(Problem(f"{key} must be an integer", field=key))
        return None
    return value


def _date(value: Any, problems: list[Problem]) -> dt.datetime:
    if value in (None, ""):
        return dt.datetime.now(CHINA_TZ)
    try:
        d = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        problems.append(Problem(f"effective {value!r} is not an ISO date", field="effective"))
        return dt.datetime.now(CHINA_TZ)
    return d if d.tzinfo else d.replace(tzinfo=CHINA_TZ)


def _check(problems: list[Problem]) -> None:
    if problems:
        raise ValidationError("invalid request", problems)


def _shift_geometries(obj: Any) -> Any:
    """Every GeoJSON geometry inside ``obj`` shifted WGS84 → GCJ-02 (display only)."""
    if isinstance(obj, list):
        return [_shift_geometries(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if isinstance(obj.get("type"), str) and "coordinates" in obj:
        return json.loads(shift_geojson([json.dumps(obj)])[0])
    return {k: _shift_geometries(v) for k, v in obj.items()}


def _json(obj: Any, status: int = 200) -> Response:
    """JSON response; with ``?display=gcj02`` (Amap basemap) geometries come shifted."""
    if display_param() == "gcj02":
        obj = _shift_geometries(obj)
    resp = jsonify(obj)
    resp.status_code = status
    return resp


# --------------------------------------------------------------------------- reads


@bp.get("/communities/<int:community_id>/versions")
@roles_required()
def versions(community_id: int) -> Response:
    with db.read() as conn:
        return _json({"community_id": community_id,
                      "active": grids.active_version(conn, community_id),
                      "versions": grids.list_versions(conn, community_id)})


@bp.get("/versions/<int:version_id>")
@roles_required()
def version(version_id: int) -> Response:
    with db.read() as conn:
        v = grids.get_version(conn, version_id)
        fc = grids.version_geojson(conn, version_id)
    return _json({"version": v, "grids": fc})


@bp.get("/versions/<int:version_id>/units")
@roles_required()
def units(version_id: int) -> Response:
    with db.write() as conn:  # may compute and store the unit cells once
        return _json(grids.units_geojson(conn, version_id))


@bp.get("/versions/<int:version_id>/validate")
@roles_required()
def validate(version_id: int) -> Response:
    with db.read() as conn:
        problems = grids.validate(conn, version_id, _rules())
    return _json({"version_id": version_id,
                  "errors": sum(p.severity == "error" for p in problems),
                  "problems": [localise_problem(p.as_dict(), current_language())
                               for p in problems]})


@bp.get("/versions/<int:version_id>/impact")
@roles_required()
def impact(version_id: int) -> Response:
    against = request.args.get("against", type=int)
    with db.read() as conn:
        return _json(grids.impact(conn, version_id, against))


@bp.get("/versions/<int:version_id>/history")
@roles_required()
def history(version_id: int) -> Response:
    with db.read() as conn:
        return _json({"ops": grids.edit_history(conn, version_id)})


@bp.get("/diff")
@roles_required()
def diff() -> Response:
    problems: list[Problem] = []
    old = _int(dict(request.args), "old", problems, required=True)
    new = _int(dict(request.args), "new", problems, required=True)
    _check(problems)
    assert old is not None and new is not None
    with db.read() as conn:
        return _json(grids.diff(conn, old, new))


@bp.get("/at")
@roles_required()
def at() -> Response:
    problems: list[Problem] = []
    lon = request.args.get("lon", type=float)
    lat = request.args.get("lat", type=float)
    if lon is None or lat is None or not (-180 <= lon <= 180 and -90 <= lat <= 90):
        problems.append(Problem("lon and lat are required WGS84 numbers", field="lon"))
    when = _date(request.args.get("at"), problems)
    _check(problems)
    assert lon is not None and lat is not None
    with db.read() as conn:
        return _json({"grid": grids.grid_at(conn, lon, lat, when)})


# --------------------------------------------------------------------------- changes


@bp.post("/communities/<int:community_id>/drafts")
@roles_required(*EDITORS)
def create_draft(community_id: int) -> Response:
    body = _body()
    with db.write() as conn:
        vid = grids.create_draft(conn, community_id, actor=_actor(), note=body.get("note"))
        v = grids.get_version(conn, vid)
    return _json({"version": v}, 201)


@bp.post("/communities/<int:community_id>/autopartition")
@roles_required(*EDITORS)
def autopartition(community_id: int) -> Response:
    problems: list[Problem] = []
    seed = _int(_body(), "seed", problems) or 0
    _check(problems)
    with db.write() as conn:
        vid = grids.auto_partition(conn, community_id, seed=seed, params=_params(),
                                   actor=_actor())
        v = grids.get_version(conn, vid)
    return _json({"version": v}, 201)


@bp.post("/versions/<int:version_id>/moves")
@roles_required(*EDITORS)
def moves(version_id: int) -> Response:
    body = _body()
    problems: list[Problem] = []
    lock = _int(body, "lock_version", problems, required=True)
    to_grid = _int(body, "to_grid", problems)
    raw = body.get("units")
    units: list[tuple[str, int]] = []
    if not isinstance(raw, list) or not raw:
        problems.append(Problem("units must be a non-empty list of [type, id]", field="units"))
    else:
        for i, u in enumerate(raw):
            if (isinstance(u, list) and len(u) == 2 and isinstance(u[0], str)
                    and isinstance(u[1], int) and not isinstance(u[1], bool)):
                units.append((u[0], u[1]))
            elif isinstance(u, dict) and isinstance(u.get("type"), str) and isinstance(
                    u.get("id"), int):
                units.append((u["type"], u["id"]))
            else:
                problems.append(Problem("expected [type, id]", row=i + 1, field="units"))
    _check(problems)
    with db.write() as conn:
        out = grids.move_units(conn, version_id, units, to_grid, actor=_actor(),
                               expected_lock_version=lock)
    return _json(out)


@bp.post("/versions/<int:version_id>/geometry")
@roles_required(*EDITORS)
def geometry(version_id: int) -> Response:
    body = _body()
    problems: list[Problem] = []
    lock = _int(body, "lock_version", problems, required=True)
    grid_id = _int(body, "grid_id", problems)
    geom = body.get("geometry")
    if isinstance(geom, dict) and geom.get("type") == "Feature":
        geom = geom.get("geometry")
    if not isinstance(geom, dict) or geom.get("type") not in ("Polygon", "MultiPolygon"):
        problems.append(Problem("geometry must be a GeoJSON Polygon", field="geometry"))
    _check(problems)
    assert isinstance(geom, dict)
    system = body.get("crs", "wgs84")
    if system not in ("wgs84", "gcj02"):
        raise ValidationError("crs must be wgs84 or gcj02", [Problem("unknown", field="crs")])
    try:
        from shapely.geometry import shape

        poly = shape(geom)
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        raise ValidationError(f"geometry is not valid GeoJSON: {exc}") from exc
    if system == "gcj02":  # drawn on a GCJ-02 basemap: converted explicitly, never silently
        poly = shapely.transform(poly, lambda xy: np.column_stack(
            to_wgs84(xy[:, 0], xy[:, 1], "gcj02")))
    with db.write() as conn:
        out = grids.set_grid_geometry(conn, version_id, grid_id, poly, actor=_actor(),
                                      expected_lock_version=lock, rules=_rules())
    return _json(out)


@bp.post("/versions/<int:version_id>/grids/<int:grid_id>")
@roles_required(*EDITORS)
def grid_attrs(version_id: int, grid_id: int) -> Response:
    body = _body()
    problems: list[Problem] = []
    lock = _int(body, "lock_version", problems, required=True)
    locked = body.get("locked")
    if locked is not None and not isinstance(locked, bool):
        problems.append(Problem("locked must be true or false", field="locked"))
    for key in ("name", "responsible_party"):
        if body.get(key) is not None and not isinstance(body[key], str):
            problems.append(Problem(f"{key} must be text", field=key))
    _check(problems)
    with db.write() as conn:
        out = grids.set_grid_attrs(conn, version_id, grid_id, actor=_actor(),
                                   expected_lock_version=lock, name=body.get("name"),
                                   responsible_party=body.get("responsible_party"),
                                   locked=locked)
    return _json(out)


@bp.post("/versions/<int:version_id>/undo")
@roles_required(*EDITORS)
def undo(version_id: int) -> Response:
    problems: list[Problem] = []
    lock = _int(_body(), "lock_version", problems, required=True)
    _check(problems)
    with db.write() as conn:
        return _json(grids.undo(conn, version_id, actor=_actor(), expected_lock_version=lock))


@bp.post("/versions/<int:version_id>/redo")
@roles_required(*EDITORS)
def redo(version_id: int) -> Response:
    problems: list[Problem] = []
    lock = _int(_body(), "lock_version", problems, required=True)
    _check(problems)
    with db.write() as conn:
        return _json(grids.redo(conn, version_id, actor=_actor(), expected_lock_version=lock))


@bp.post("/versions/<int:version_id>/rebalance")
@roles_required(*EDITORS)
def rebalance(version_id: int) -> Response:
    problems: list[Problem] = []
    lock = _int(_body(), "lock_version", problems, required=True)
    _check(problems)
    with db.write() as conn:
        return _json(grids.rebalance(conn, version_id, actor=_actor(), params=_params(),
                                     expected_lock_version=lock))


@bp.post("/versions/<int:version_id>/activate")
@roles_required(*EDITORS)
def activate(version_id: int) -> Response:
    body = _body()
    problems: list[Problem] = []
    lock = _int(body, "lock_version", problems, required=True)
    effective = _date(body.get("effective"), problems)
    _check(problems)
    with db.write() as conn:
        grids.activate(conn, version_id, effective=effective, actor=_actor(),
                       expected_lock_version=lock, rules=_rules())
        v = grids.get_version(conn, version_id)
        codes = [g["grid_code"] for g in grids.version_grids(conn, version_id)]
    return _json({"version": v, "grid_codes": codes})


@bp.post("/versions/<int:version_id>/revert")
@roles_required(*EDITORS)
def revert(version_id: int) -> Response:
    problems: list[Problem] = []
    effective = _date(_body().get("effective"), problems)
    _check(problems)
    with db.write() as conn:
        vid = grids.revert(conn, version_id, effective=effective, actor=_actor(),
                           rules=_rules())
        v = grids.get_version(conn, vid)
    return _json({"version": v}, 201)


@bp.post("/versions/<int:version_id>/discard")
@roles_required(*EDITORS)
def discard(version_id: int) -> Response:
    with db.write() as conn:
        grids.discard_draft(conn, version_id, actor=_actor())
    return _json({"discarded": version_id})
