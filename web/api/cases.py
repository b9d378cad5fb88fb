"""Case workspace JSON API (issue #14): the case list (search, filters, sorting, paging, map
points, XLSX export), one case for its page (fields, timeline, comments, the buttons this
user may use) and its steps, 我的待办 with counts, and a community's 三张清单 with its
editable service list and XLSX export.

Thin callers of :mod:`gridmap.cases`; who sees and does what is the library's scope
(:mod:`gridmap.accounts.scope`): personal data masked unless the user may see them, the
reporter's phone searchable only then.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from flask import Blueprint, Response, send_file

from gridmap import crs
from gridmap.accounts import scope as scopes
from gridmap.cases import detail, export, lists, search, worklist
from gridmap.dispatch.params import DispatchParams
from gridmap.incidents.intake import IntakeParams
from gridmap.supervision import notify
from web import db, i18n
from web.access import actor, current_scope, roles_required
from web.api import cases_schemas as s
from web.api.common import json_response, jsonable, settings
from web.api.parsing import use

bp = Blueprint("cases_api", __name__, url_prefix="/api/cases")

ROLES = ("staff", "supervisor", "officer")   # admin passes every role check
EXPORT_LIMIT = 50_000


def _plain(obj: Any) -> Any:
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return jsonable(obj)


def _split(args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the selection, the paging/sorting/display options) of a parsed case query."""
    opts: dict[str, Any] = {k: args.pop(k) for k in ("page", "page_size", "sort", "desc", "display")
            if k in args}
    return args, opts


def _masked(rows: list[dict[str, Any]], scope: scopes.Scope) -> list[dict[str, Any]]:
    return [scopes.masked(r, scope) for r in rows]


@bp.get("")
@roles_required(*ROLES)
@use(s.CaseListQuery)
def list_cases(args: dict[str, Any]) -> Response:
    """A page of the cases matching the search and filters inside the user's scope
    (``total`` counted up to 1,000: ``total_capped``)."""
    query, opts = _split(args)
    scope = current_scope()
    with db.read() as conn:
        out = search.search(conn, scope, query, page=opts["page"],
                            page_size=opts["page_size"], sort=opts["sort"], desc=opts["desc"])
    out["items"] = _masked(out["items"], scope)
    return json_response(_plain(out))


@bp.get("/points")
@roles_required(*ROLES)
@use(s.CaseQuery)
def points(args: dict[str, Any]) -> Response:
    """The positions of the selected cases for the map's clustered markers (at most 5,000,
    newest first): ``points`` as ``[id, lon, lat, state]``."""
    query, opts = _split(args)
    with db.read() as conn:
        out = search.points(conn, current_scope(), query)
    if opts.get("display") == "gcj02" and out["points"]:
        arr = np.array([p[1:3] for p in out["points"]], dtype=float)
        lon, lat = crs.wgs84_to_gcj02(arr[:, 0], arr[:, 1])
        for p, x, y in zip(out["points"], lon, lat, strict=True):
            p[1], p[2] = round(float(x), 6), round(float(y), 6)
    return json_response(out)


@bp.get("/export")
@roles_required(*ROLES)
@use(s.ExportQuery)
def export_cases(args: dict[str, Any]) -> Response:
    """The selection as an XLSX download (personal data masked as in the list)."""
    query, opts = _split(args)
    scope = current_scope()
    with db.read() as conn:
        rows = search.export_rows(conn, scope, query, sort=opts["sort"], desc=opts["desc"],
                                  limit=EXPORT_LIMIT)
    buf = io.BytesIO()
    export.export_cases(_masked(rows, scope), buf, lang=i18n.current_language())
    buf.seek(0)
    return send_file(buf, as_attachment=True, download_name="cases.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/<int:incident_id>")
@roles_required(*ROLES)
def case(incident_id: int) -> Response:
    """One case: fields (personal data masked by scope), ``history``, ``comments``,
    ``actions`` (the steps this user may take, each with what it needs), ``units``."""
    with db.read() as conn:
        return json_response(_plain(detail.view(conn, current_scope(), incident_id)))


@bp.post("/<int:incident_id>/act")
@roles_required(*ROLES)
@use(s.CaseActBody, "json")
def act(incident_id: int, body: dict[str, Any]) -> Response:
    """A step of the case from its page: 400 with every missing piece (reason, 延期 days),
    403 outside the user's scope or posts, 409 on a stale ``version`` or an illegal step."""
    cfg = settings()
    extra = {k: body[k] for k in ("satisfaction", "solved") if body.get(k) is not None}
    with db.write() as conn:
        scope = current_scope()
        detail.act(conn, scope, incident_id, body["to"], actor=actor(), note=body.get("note"),
                   extension=body.get("extension"),
                   higher_approval=body["higher_approval"], unit_id=body.get("unit_id"),
                   expected_version=body.get("version"),
                   params=DispatchParams.from_settings(cfg),
                   intake=IntakeParams.from_settings(cfg), notify=notify.send, **extra)
        return json_response(_plain(detail.view(conn, scope, incident_id)))


@bp.get("/<int:incident_id>/comments")
@roles_required(*ROLES)
def comments(incident_id: int) -> Response:
    """The comments of a case, oldest first."""
    with db.read() as conn:
        scopes.get_incident(conn, current_scope(), incident_id)
        return json_response({"comments": _plain(detail.comments(conn, incident_id))})


@bp.post("/<int:incident_id>/comments")
@roles_required(*ROLES)
@use(s.CommentBody, "json")
def add_comment(incident_id: int, body: dict[str, Any]) -> Response:
    """Add a comment to a case the user may see."""
    with db.write() as conn:
        row = detail.add_comment(conn, current_scope(), incident_id, author=actor() or "",
                                 body=body["body"])
    return json_response(_plain(row), 201)


@bp.get("/worklist")
@roles_required(*ROLES)
def worklist_counts() -> Response:
    """我的待办 counts per bucket (file, dispatch, accept, handle, check, evaluate) the
    user's posts have."""
    with db.read() as conn:
        return json_response({"counts": worklist.counts(conn, current_scope())})


@bp.get("/worklist/<bucket>")
@roles_required(*ROLES)
@use(s.WorkQuery)
def worklist_items(bucket: str, args: dict[str, Any]) -> Response:
    """A page of one 待办 bucket, most urgent first."""
    scope = current_scope()
    with db.read() as conn:
        out = worklist.items(conn, scope, bucket, page=args["page"],
                             page_size=args["page_size"])
    out["items"] = _masked(out["items"], scope)
    return json_response(_plain(out))


@bp.get("/lists/<int:community_id>")
@roles_required(*ROLES)
@use(s.ListsQuery)
def three_lists(community_id: int, args: dict[str, Any]) -> Response:
    """三张清单 of a community: 问题清单, 服务清单 (life-circle facilities + its own list),
    解决清单; ``may_edit``: whether the user may edit the service list."""
    scope = current_scope()
    params = DispatchParams.from_settings(settings())
    with db.read() as conn:
        out = lists.three_lists(conn, scope, community_id, solved_days=args["solved_days"],
                                recurrence_days=params.recurrence_days,
                                recurrence_count=params.recurrence_count)
    out["may_edit"] = lists.may_edit(scope, community_id)
    return json_response(_plain(out))


@bp.get("/lists/<int:community_id>/export")
@roles_required(*ROLES)
@use(s.ListsQuery)
def export_lists(community_id: int, args: dict[str, Any]) -> Response:
    """三张清单 of a community as one XLSX (five sheets)."""
    params = DispatchParams.from_settings(settings())
    with db.read() as conn:
        out = lists.three_lists(conn, current_scope(), community_id,
                                solved_days=args["solved_days"],
                                recurrence_days=params.recurrence_days,
                                recurrence_count=params.recurrence_count)
    buf = io.BytesIO()
    export.export_lists(out, buf, lang=args["lang"])
    buf.seek(0)
    return send_file(buf, as_attachment=True,
                     download_name=f"three-lists-{out['community']['code']}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.post("/lists/<int:community_id>/services")
@roles_required(*ROLES)
@use(s.ServiceBody, "json")
def add_service(community_id: int, body: dict[str, Any]) -> Response:
    """Add an entry to the community's own service list."""
    with db.write() as conn:
        row = lists.save_service(conn, current_scope(), community_id, body,
                                 actor=actor() or "")
    return json_response(_plain(row), 201)


@bp.put("/lists/<int:community_id>/services/<int:service_id>")
@roles_required(*ROLES)
@use(s.ServiceBody, "json")
def change_service(community_id: int, service_id: int, body: dict[str, Any]) -> Response:
    """Change an entry of the community's own service list."""
    with db.write() as conn:
        row = lists.save_service(conn, current_scope(), community_id, body,
                                 actor=actor() or "", service_id=service_id)
    return json_response(_plain(row))


@bp.delete("/lists/<int:community_id>/services/<int:service_id>")
@roles_required(*ROLES)
def delete_service(community_id: int, service_id: int) -> Response:
    """Remove an entry of the community's own service list."""
    with db.write() as conn:
        lists.delete_service(conn, current_scope(), community_id, service_id)
    return json_response({"deleted": service_id})
