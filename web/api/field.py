"""Field-reporting JSON API (issue #14, phone): reports with photos delivered exactly once,
my reports, my on-site tasks, categories, the possible-duplicate check, and the photos of
a case (list, add, serve).

Thin callers of :mod:`gridmap.field` and :mod:`gridmap.media`: the area scope and posts
decide who may do what; photos are visible to whoever may see their case and to nobody
else (404 otherwise) and are always sent ``Cache-Control: private, no-store``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from gridmap.field import access, area, reports, tasks
from gridmap.incidents.intake import IntakeParams
from gridmap.incidents.states import STATE_LABELS
from gridmap.media import photos as media
from gridmap.media.images import MediaParams
from web import db
from web.access import actor, current_scope, current_user, roles_required
from web.api import field_schemas as s
from web.api.common import json_response, jsonable, settings
from web.api.parsing import use

bp = Blueprint("field_api", __name__, url_prefix="/api")
NO_STORE = "private, no-store"
FIELD_ROLES = ("staff", "supervisor", "officer")  # admin passes every role check


def _uid() -> int | None:
    user = current_user()
    return None if user is None else user.id


def _plain(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: jsonable(v) for k, v in r.items()} for r in rows]


def _photo_json(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: jsonable(v) for k, v in row.items() if k != "path"}
    out["url"] = f"/api/photos/{row['id']}"
    out["thumb_url"] = f"/api/photos/{row['id']}/thumb"
    return out


def _files() -> list[bytes]:
    return [f.read() for f in request.files.getlist("photos")]


def _media() -> tuple[MediaParams, Any]:
    cfg = settings()
    return MediaParams.from_settings(cfg), media.media_root(cfg.data_dir)


def _no_store(resp: Response) -> Response:
    resp.headers["Cache-Control"] = NO_STORE
    return resp


@bp.post("/field/reports")
@roles_required(*FIELD_ROLES)
@use(s.ReportForm, "form")
def submit_report(body: dict[str, Any]) -> Response:
    """A field report with 1–6 photos (multipart ``photos``): 201 with the new case, or 200
    with the case already created for this ``client_id`` (nothing stored twice)."""
    user = current_user()
    assert user is not None  # roles_required() ran first
    params, root = _media()
    with db.write() as conn:
        row, created = reports.submit(
            conn, current_scope(), user_id=user.id, username=user.username,
            client_id=body["client_id"], data=body, photos=_files(),
            params=IntakeParams.from_settings(settings()), media_params=params, media_dir=root)
        photos = media.list_photos(conn, [int(row["id"])])
    out = {k: jsonable(row.get(k)) for k in ("id", "case_no", "state", "status_label",
                                             "category", "category_name", "duplicate_of",
                                             "reported_at", "address", "lon", "lat")}
    out.update(client_id=reports.parse_client_id(body["client_id"]), created=created,
               photos=[_photo_json(p) for p in photos])
    return _no_store(json_response(out, 201 if created else 200))


@bp.get("/field/reports")
@roles_required(*FIELD_ROLES)
@use(s.ListQuery)
def my_reports(args: dict[str, Any]) -> Response:
    """我的上报: the user's field reports with their states, newest first."""
    with db.read() as conn:
        rows = reports.my_reports(conn, _uid() or 0, limit=args["limit"])
    for r in rows:
        r["status_label"] = STATE_LABELS.get(r["state"])
    return _no_store(json_response({"reports": _plain(rows)}))


@bp.get("/field/tasks")
@roles_required(*FIELD_ROLES)
def my_tasks() -> Response:
    """我的任务: cases to 核实 (verify) and 核查 (check) on site in the user's grids/areas."""
    with db.read() as conn:
        rows = tasks.my_tasks(conn, current_scope(), _uid() or 0)
    for r in rows:
        r["status_label"] = STATE_LABELS.get(r["state"])
    return _no_store(json_response({"tasks": _plain(rows)}))


@bp.post("/field/tasks/<int:incident_id>/verify")
@roles_required(*FIELD_ROLES)
@use(s.VerifyBody, "json")
def verify(incident_id: int, body: dict[str, Any]) -> Response:
    """核实: record that the reported problem was (``found``) or was not found on site."""
    with db.write() as conn:
        event = tasks.verify(conn, current_scope(), incident_id, actor=actor(),
                             found=body["found"], note=body.get("note"))
    return json_response({k: jsonable(v) for k, v in event.items()}, 201)


@bp.get("/field/categories")
@roles_required(*FIELD_ROLES)
def categories() -> Response:
    """Reportable categories, the most used in the user's area first (``common``)."""
    with db.read() as conn:
        rows = area.categories(conn, current_scope())
    return json_response({"categories": rows})


@bp.get("/field/duplicates")
@roles_required(*FIELD_ROLES)
@use(s.DuplicateQuery)
def duplicates(args: dict[str, Any]) -> Response:
    """Open cases of the category near the point (warn before a duplicate report)."""
    radius = settings().duplicate_radius_m
    with db.read() as conn:
        rows = area.nearby_open(conn, args["lon"], args["lat"], args["category"],
                                radius_m=radius)
    for r in rows:
        r["status_label"] = STATE_LABELS.get(r["state"])
    return json_response({"radius_m": radius, "cases": _plain(rows)})


@bp.get("/incidents/<int:incident_id>/photos")
@roles_required()
def case_photos(incident_id: int) -> Response:
    """The photos of a case the user may see (before, then after)."""
    with db.read() as conn:
        rows = access.case_photos(conn, current_scope(), _uid(), incident_id)
    return _no_store(json_response({"photos": [_photo_json(r) for r in rows]}))


@bp.post("/incidents/<int:incident_id>/photos")
@roles_required()
@use(s.PhotoForm, "form")
def add_photos(incident_id: int, body: dict[str, Any]) -> Response:
    """Add 1–6 photos (multipart ``photos``) to an open case: ``stage`` after (处置/核查)."""
    params, root = _media()
    with db.write() as conn:
        rows = access.add_case_photos(conn, current_scope(), _uid(), incident_id, _files(),
                                      stage=body["stage"], actor=actor(), params=params,
                                      root=root)
    return _no_store(json_response({"photos": [_photo_json(r) for r in rows]}, 201))


def _serve(photo_id: int, thumb: bool) -> Response:
    _, root = _media()
    with db.read() as conn:
        row = access.photo(conn, current_scope(), _uid(), photo_id)
    data, mime = media.read_photo(root, row, thumb=thumb)
    resp = Response(data, mimetype=mime)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Disposition"] = "inline"
    return _no_store(resp)


@bp.get("/photos/<int:photo_id>")
@roles_required()
def photo(photo_id: int) -> Response:
    """A photo (EXIF stripped), to whoever may see its case; 404 for anybody else."""
    return _serve(photo_id, thumb=False)


@bp.get("/photos/<int:photo_id>/thumb")
@roles_required()
def thumb(photo_id: int) -> Response:
    """A photo's JPEG thumbnail (same rule)."""
    return _serve(photo_id, thumb=True)
