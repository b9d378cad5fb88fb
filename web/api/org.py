"""JSON API for units, staff posts and grid assignments under ``/api/org`` (thin callers of
:mod:`gridmap.org`).

Reads need a login; every change needs the ``admin`` role and the CSRF token (header
``X-CSRFToken``). Bad input: 400 with every problem; unknown ids 404; a taken unit code or a
unit with active children 409.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, request

from gridmap.accounts.users import hash_password
from gridmap.errors import Problem, ValidationError
from gridmap.org import areas, importing, posts, staff, tree, units
from gridmap.org import assignments as asg
from gridmap.org.kinds import kinds_from_settings
from gridmap.org.sheets import read_org_file
from web import db
from web.access import roles_required
from web.api import org_schemas as schemas
from web.api.common import json_response, settings
from web.api.parsing import describe, parse, use
from web.i18n import current_language

bp = Blueprint("org_api", __name__, url_prefix="/api/org")
ADMIN = "admin"


def _plain(obj: Any) -> Any:
    """Dataclasses as dicts, dates as ISO text (Flask would write HTTP dates)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(obj).items()}
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (dt.date, dt.datetime)):
        return obj.isoformat()
    return obj


# --------------------------------------------------------------------------- catalogues


@bp.get("/kinds")
@roles_required()
def kinds() -> Response:
    """The unit-kind catalogue: code, names, default line and level."""
    lang = current_language()
    return json_response({"kinds": [
        {"code": k.code, "label": k.label(lang), "zh": k.zh, "en": k.en, "line": k.line,
         "level": k.level} for k in kinds_from_settings(settings()).kinds]})


@bp.get("/posts")
@roles_required()
def post_catalogue() -> Response:
    """The posts, their names and the actions each allows."""
    lang = current_language()
    return json_response({"actions": list(posts.ACTIONS), "posts": [
        {"code": p.code, "label": p.label(lang), "zh": p.zh, "en": p.en,
         "actions": [a for a in posts.ACTIONS if posts.may([p.code], a)]}
        for p in posts.CATALOGUE]})


# --------------------------------------------------------------------------- units


@bp.get("/units")
@roles_required()
@use(schemas.UnitsQuery)
def list_units(args: dict[str, Any]) -> Response:
    """Every unit (flat, or as a tree with ``?tree=true``)."""
    with db.read() as conn:
        if args["tree"]:
            nodes = tree.tree(conn, include_inactive=args["include_inactive"])
            return json_response({"tree": [n.as_dict() for n in nodes]})
        found = units.list_units(conn, include_inactive=args["include_inactive"])
    return json_response({"units": [u.as_dict() for u in found]})


@bp.get("/units/<int:unit_id>")
@roles_required()
def get_unit(unit_id: int) -> Response:
    """A unit, its parent chain (escalation order), its staff and the ids of its areas."""
    with db.read() as conn:
        unit = units.get_unit(conn, unit_id)
        chain = [units.get_unit(conn, i).as_dict() for i in tree.parent_chain(conn, unit_id)]
        members = staff.staff_of_unit(conn, unit_id)
        ids = areas.unit_area_ids(conn, unit_id)
    return json_response({"unit": unit.as_dict(), "parent_chain": chain,
                          "staff": _plain(members), "area_ids": _plain(ids)})


@bp.post("/units")
@roles_required(ADMIN)
@use(schemas.UnitBody, "json")
def create_unit(body: dict[str, Any]) -> Response:
    """Create a unit (201)."""
    with db.write() as conn:
        unit = units.create_unit(conn, body, kinds_from_settings(settings()))
    return json_response({"unit": unit.as_dict()}, 201)


@bp.patch("/units/<int:unit_id>")
@roles_required(ADMIN)
@use(schemas.UnitPatch, "json")
def update_unit(unit_id: int, body: dict[str, Any]) -> Response:
    """Change fields of a unit (its code stays)."""
    with db.write() as conn:
        unit = units.update_unit(conn, unit_id, body, kinds_from_settings(settings()))
    return json_response({"unit": unit.as_dict()})


@bp.post("/units/<int:unit_id>/deactivate")
@roles_required(ADMIN)
def deactivate_unit(unit_id: int) -> Response:
    """Deactivate a unit (409 while active units hang below it)."""
    with db.write() as conn:
        unit = units.deactivate_unit(conn, unit_id)
    return json_response({"unit": unit.as_dict()})


@bp.post("/units/<int:unit_id>/reactivate")
@roles_required(ADMIN)
def reactivate_unit(unit_id: int) -> Response:
    """Make a deactivated unit active again (409 while its parent is inactive)."""
    with db.write() as conn:
        unit = units.reactivate_unit(conn, unit_id)
    return json_response({"unit": unit.as_dict()})


@bp.get("/units/<int:unit_id>/staff")
@roles_required()
@use(schemas.StaffQuery)
def unit_staff(unit_id: int, args: dict[str, Any]) -> Response:
    """The unit's post holders (only those of ``?post=`` if given)."""
    with db.read() as conn:
        units.get_unit(conn, unit_id)
        found = (staff.staff_with_post(conn, unit_id, args["post"]) if args.get("post")
                 else staff.staff_of_unit(conn, unit_id))
    return json_response({"staff": _plain(found)})


# --------------------------------------------------------------------------- posts


@bp.get("/users/<int:user_id>/posts")
@roles_required()
def user_posts(user_id: int) -> Response:
    """The active posts of a user."""
    with db.read() as conn:
        found = staff.posts_of(conn, user_id)
    return json_response({"user_id": user_id, "posts": _plain(found)})


def _post_target(conn: Any, body: dict[str, Any]) -> tuple[int, int]:
    uid = body.get("user_id")
    if uid is None:
        uid = staff.user_id(conn, body["username"])
    unit_id = body.get("unit_id")
    if unit_id is None:
        unit_id = units.unit_by_code(conn, body["unit_code"]).id
    return int(uid), int(unit_id)


@bp.post("/staff-posts")
@roles_required(ADMIN)
@use(schemas.PostBody, "json")
def assign_post(body: dict[str, Any]) -> Response:
    """Give a user a post in a unit."""
    with db.write() as conn:
        uid, unit_id = _post_target(conn, body)
        post = staff.assign_post(conn, uid, unit_id, body["post"])
    return json_response({"user_id": uid, "post": _plain(post)})


@bp.post("/staff-posts/revoke")
@roles_required(ADMIN)
@use(schemas.PostBody, "json")
def revoke_post(body: dict[str, Any]) -> Response:
    """Take a post away (kept inactive for history)."""
    with db.write() as conn:
        uid, unit_id = _post_target(conn, body)
        staff.revoke_post(conn, uid, unit_id, body["post"])
    return json_response({"user_id": uid, "unit_id": unit_id, "revoked": body["post"]})


# --------------------------------------------------------------------------- assignments


@bp.get("/assignments")
@roles_required()
@use(schemas.AssignmentsQuery)
def list_assignments(args: dict[str, Any]) -> Response:
    """Grid assignments, filtered by grid, user, community, street and day."""
    with db.read() as conn:
        found = asg.list_assignments(conn, **args)
    return json_response({"assignments": _plain(found)})


@bp.post("/assignments")
@roles_required(ADMIN)
@use(schemas.AssignmentBody, "json")
def create_assignment(body: dict[str, Any]) -> Response:
    """Assign a user to a grid (and 小区) with a duty (201)."""
    with db.write() as conn:
        uid = body["user_id"] if body.get("user_id") is not None else staff.user_id(
            conn, body["username"])
        a = asg.assign_grid(conn, uid, body["grid_code"], role=body["role"],
                            estate=body.get("estate"), duty=body.get("duty"),
                            valid_from=body["valid_from"], valid_to=body["valid_to"])
    return json_response({"assignment": _plain(a)}, 201)


@bp.post("/assignments/<int:assignment_id>/end")
@roles_required(ADMIN)
@use(schemas.EndBody, "json")
def end_assignment(assignment_id: int, body: dict[str, Any]) -> Response:
    """End an assignment on a day (default today)."""
    with db.write() as conn:
        a = asg.end_assignment(conn, assignment_id, body["on"])
    return json_response({"assignment": _plain(a)})


@bp.get("/coverage")
@roles_required()
@use(schemas.CoverageQuery)
def coverage(args: dict[str, Any]) -> Response:
    """Grid-worker coverage per community or street (target 100 %) and the uncovered grids."""
    with db.read() as conn:
        rows = asg.coverage(conn, level=args["level"], on=args["on"],
                            street_code=args.get("street_code"))
        gaps = asg.unassigned_grids(conn, on=args["on"], street_code=args.get("street_code"))
    return json_response({
        "level": args["level"], "target": 1.0,
        "coverage": [{**_plain(c), "share": c.share} for c in rows], "gaps": _plain(gaps)})


# --------------------------------------------------------------------------- import


@bp.post("/import")
@roles_required(ADMIN)
@describe(schemas.OrgImportForm, "form")
def import_file() -> Response:
    """Import units, staff and grid assignments from a file (multipart ``file``).

    One XLSX with the sheets 单位, 人员, 网格分配 or a CSV (form ``kind`` when its headers do not
    tell); ``dry_run`` validates and counts without writing. Every problem of every sheet at
    once (400, nothing written). New accounts' temporary passwords are in the answer, once.
    """
    form = parse(schemas.OrgImportForm, "form")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationError("org.import_invalid", [Problem("org.file_missing", field="file")])
    suffix = Path(upload.filename).suffix.lower() or ".csv"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"org{suffix}"
        upload.save(path)
        sheets, problems = read_org_file(path, form.get("kind"))
        with db.write() as conn:
            report = importing.import_org(conn, sheets, hash_password=hash_password,
                                          kinds=kinds_from_settings(settings()),
                                          dry_run=form["dry_run"], read_problems=problems)
    lang = current_language()
    body = {k: v for k, v in dataclasses.asdict(report).items()
            if k not in ("passwords", "warnings")}
    body["warnings"] = [w.as_dict(lang) for w in report.warnings]
    body["passwords"] = [{"username": u, "temporary_password": p} for u, p in report.passwords]
    resp = json_response(body, 200 if form["dry_run"] else 201)
    resp.headers["Cache-Control"] = "no-store"  # temporary passwords: never cached
    return resp
