"""JSON API of 督办 (supervision), notifications and the unit/post indicators.

Every endpoint needs a login; what a caller sees is decided by the library
(:func:`gridmap.supervision.access.viewer_for`: units see their own, supervisors their
area). Notifications are the caller's own and their units'. Indicators answer JSON, or a
CSV/XLSX download with ``format=csv|xlsx`` (the area indicators' writer).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Blueprint, Response
from sqlalchemy.engine import Connection

from gridmap import messages
from gridmap.incidents.indicators import export
from gridmap.supervision import access, board, indicators, notify, posts
from gridmap.supervision.params import PostLimits
from web import db
from web.access import current_user, roles_required
from web.api import supervision_schemas as schemas
from web.api.common import json_response, jsonable, settings
from web.api.parsing import use
from web.i18n import current_language

bp = Blueprint("supervision_api", __name__, url_prefix="/api")
_MIME = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _viewer(conn: Connection) -> access.Viewer:
    return access.viewer_for(conn, current_user())


def _user_id() -> int:
    user = current_user()
    assert user is not None  # roles_required() ran first
    return user.id


def _rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: jsonable(v) for k, v in r.items()} for r in items]


@bp.get("/supervision/board")
@roles_required()
@use(schemas.BoardQuery)
def board_list(args: dict[str, Any]) -> Response:
    """The 督办 list (red first, nearest deadline first) of a street or unit, paginated."""
    with db.read() as conn:
        street = board.street_id(conn, args["street"]) if args.get("street") else None
        unit = board.unit_id(conn, args["unit"]) if args.get("unit") else None
        res = board.list_board(conn, _viewer(conn), street_id=street, unit_id=unit,
                               light=args.get("light"), include_cleared=args["include_cleared"],
                               page=args["page"], page_size=args["page_size"])
    return json_response({**res, "items": _rows(res["items"])})


@bp.get("/supervision/summary")
@roles_required()
@use(schemas.SummaryQuery)
def board_summary(args: dict[str, Any]) -> Response:
    """Lit cases per handling unit (yellow, red, escalated)."""
    with db.read() as conn:
        street = board.street_id(conn, args["street"]) if args.get("street") else None
        rows = board.unit_summary(conn, _viewer(conn), street_id=street)
    return json_response({"units": rows})


@bp.get("/notifications")
@roles_required()
@use(schemas.NotificationsQuery)
def notifications(args: dict[str, Any]) -> Response:
    """The caller's notifications (their own and their units'), newest first; each with its
    text in the session language."""
    lang = current_language()
    with db.read() as conn:
        res = notify.list_for_user(conn, _user_id(), unread_only=args["unread"],
                                   page=args["page"], page_size=args["page_size"])
    for r in res["items"]:
        r["text"] = messages.render(r["kind"], r["params"] or {}, lang)
    return json_response({**res, "items": _rows(res["items"])})


@bp.get("/notifications/unread-count")
@roles_required()
def unread_count() -> Response:
    """The caller's unread count (badge): ``unread``, ``own`` and per unit of their posts."""
    with db.read() as conn:
        return json_response(notify.unread_summary(conn, _user_id()))


@bp.post("/notifications/read")
@roles_required()
@use(schemas.ReadBody, "json")
def mark_read(body: dict[str, Any]) -> Response:
    """Mark notifications read: ``{"ids": [...]}`` or ``{"all": true}``."""
    uid = _user_id()
    with db.write() as conn:
        n = notify.mark_read(conn, uid, body["ids"])
        unread = notify.unread_count(conn, uid)
    return json_response({"marked": n, "unread": unread})


def _answer(rows: list[dict[str, Any]], fields: Mapping[str, tuple[str, str]],
            args: Mapping[str, Any], name: str) -> Response:
    """Rows as JSON, or as a CSV/XLSX download."""
    fmt = args["format"]
    if fmt == "json":
        return json_response({"columns": {k: v[0 if current_language() == "zh" else 1]
                                          for k, v in fields.items()}, "rows": _rows(rows)})
    with tempfile.TemporaryDirectory() as tmp:
        path = export(rows, Path(tmp) / f"{name}.{fmt}",
                      lang=args.get("lang") or current_language(), fields=fields)
        data = path.read_bytes()
    resp = Response(data, mimetype=_MIME[fmt])
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return resp


@bp.get("/indicators/units")
@roles_required()
@use(schemas.PeriodQuery)
def unit_indicators(args: dict[str, Any]) -> Response:
    """部门 indicators (立案数 score, 结案率, 按期处置率, 返工率, composite, grade) per unit."""
    with db.read() as conn:
        rows = indicators.unit_indicators(conn, _viewer(conn), args["start"], args["end"])
    return _answer(rows, indicators.UNIT_FIELDS, args, "units")


@bp.get("/indicators/posts")
@roles_required()
@use(schemas.PostQuery)
def post_indicators(args: dict[str, Any]) -> Response:
    """岗位 indicators of one post (监督员, 受理员, 派遣员, 值班长) per holder."""
    with db.read() as conn:
        rows = posts.post_indicators(conn, _viewer(conn), args["post"], args["start"],
                                     args["end"], limits=PostLimits.from_settings(settings()))
    return _answer(rows, posts.post_fields(args["post"]), args, f"posts-{args['post']}")


@bp.get("/indicators/hotline")
@roles_required()
@use(schemas.HotlineQuery)
def hotline(args: dict[str, Any]) -> Response:
    """12345 三率 (响应率, 解决率, 满意率) per unit or street."""
    with db.read() as conn:
        rows = indicators.hotline_rates(conn, _viewer(conn), args["start"], args["end"],
                                        by=args["by"], satisfied_from=args["satisfied_from"])
    return _answer(rows, indicators.HOTLINE_FIELDS, args, "hotline")


@bp.get("/indicators/levels")
@roles_required()
@use(schemas.LevelQuery)
def levels(args: dict[str, Any]) -> Response:
    """小事不出网格、大事不出社区: shares closed at grid and community level."""
    with db.read() as conn:
        rows = indicators.level_rates(conn, _viewer(conn), args["start"], args["end"],
                                      area=args["area"])
    return _answer(rows, indicators.LEVEL_FIELDS, args, f"levels-{args['area']}")
