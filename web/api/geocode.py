"""Address API: geocode one address, and the 地址待确认 queue of the supervisor page.

- ``GET /api/geocode?address=…``: level, score, status, reason and candidates of one
  address against the standard address register (nothing written);
- ``GET /api/address-queue``: pending cases whose address could not be placed with
  confidence, with their candidates (WGS84 points, register labels, reasons);
- ``POST /api/address-queue/<id>/place``: a candidate number or a point placed by hand,
  optionally added to the register (who and when are kept) → the new incident;
- ``POST /api/address-queue/<id>/dismiss``;
- ``GET /api/address-queue/far``: open cases of the viewer's area whose reported point lies
  far from their address's match (flagged at intake).

Thin callers of :mod:`gridmap.geocode` and :mod:`gridmap.incidents.address_queue`. Texts
(levels, reasons) are rendered from the message catalogues in the session's language.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from flask import Blueprint, Response

from gridmap import crs, messages
from gridmap.geocode import match, register
from gridmap.incidents import address_queue
from web import db, i18n
from web.access import actor, current_scope, roles_required
from web.api import geocode_schemas as schemas
from web.api.common import json_response, jsonable, settings
from web.api.parsing import use

bp = Blueprint("geocode_api", __name__, url_prefix="/api")

QUEUE_ROLES = ("supervisor",)  # admin passes every role check
READ_ROLES = ("supervisor", "officer", "staff")  # staff: the phone report page (#14)

i18n.register({
    "zh": {
        "addrq.title": "地址待确认", "addrq.hint": "地址无法可靠定位的案件：点击一行，在地图上"
        "选择候选位置，或拖动标记手动放置。", "addrq.address": "地址", "addrq.level": "匹配级别",
        "addrq.score": "得分", "addrq.received": "接收时间", "addrq.choose": "选择此位置",
        "addrq.by_hand": "手动放置：拖动地图上的标记", "addrq.place_here": "放置在此处",
        "addrq.add_register": "同时加入标准地址库", "addrq.dismiss": "不予定位（关闭）",
        "addrq.placed": "已定位，事件编号", "addrq.none": "没有待确认的地址",
        "addrq.no_candidates": "没有候选位置", "addrq.candidate": "候选",
        "addrq.far": "坐标与地址不符", "addrq.far_hint": "上报坐标距地址匹配位置较远的未结案件：",
        "addrq.distance": "相距(米)",
    },
    "en": {
        "addrq.title": "Addresses to confirm", "addrq.hint": "Cases whose address could not be "
        "placed with confidence: click a row, pick a candidate on the map, or drag a marker to "
        "place the case by hand.", "addrq.address": "Address", "addrq.level": "Match level",
        "addrq.score": "Score", "addrq.received": "Received", "addrq.choose": "Place here",
        "addrq.by_hand": "Place by hand: drag the marker on the map",
        "addrq.place_here": "Place here",
        "addrq.add_register": "Also add to the address register",
        "addrq.dismiss": "Do not place (close)", "addrq.placed": "Placed, incident",
        "addrq.none": "No addresses to confirm", "addrq.no_candidates": "No candidates",
        "addrq.candidate": "Candidate", "addrq.far": "Point far from the address",
        "addrq.far_hint": "Open cases whose reported point is far from their address's match:",
        "addrq.distance": "Apart (m)",
    },
})


def _text(code: str | None) -> str | None:
    return messages.render(code, None, i18n.current_language()) if code else None


def _shifted(items: list[dict[str, Any]], display: str) -> list[dict[str, Any]]:
    """``lon``/``lat`` of every item shifted WGS84 → GCJ-02 for an Amap basemap (display only)."""
    pts = [i for i in items if i.get("lon") is not None and i.get("lat") is not None]
    if display != "gcj02" or not pts:
        return items
    lon, lat = crs.wgs84_to_gcj02(np.array([i["lon"] for i in pts], dtype=float),
                                  np.array([i["lat"] for i in pts], dtype=float))
    for i, x, y in zip(pts, lon.tolist(), lat.tolist(), strict=True):
        i["lon"], i["lat"] = x, y
    return items


def _candidates(cands: list[dict[str, Any]] | None, display: str = "wgs84"
                ) -> list[dict[str, Any]]:
    return _shifted([{**c, "n": n, "level_label": _text(f"geocode.level.{c['level']}"),
                      "reason_text": _text(c.get("reason"))} for n, c in enumerate(cands or [])],
                    display)


@bp.get("/geocode")
@roles_required(*READ_ROLES)
@use(schemas.GeocodeQuery)
def geocode_one(args: dict[str, Any]) -> Response:
    """Geocode one address (nothing written)."""
    with db.read() as conn:
        idx = register.load_index(conn)
    r = match.geocode(idx, [args["address"]], match.MatchParams.from_settings(settings()))
    row = r.iloc[0]
    level = row["level"] if isinstance(row["level"], str) else None
    return json_response(jsonable({
        "address": args["address"], "level": level, "score": float(row["score"]),
        "status": row["status"], "reason": row["reason"], "reason_text": _text(row["reason"]),
        "level_label": _text(f"geocode.level.{level}") if level else None,
        "candidates": _candidates(row["candidates"], args["display"])}))


@bp.get("/address-queue")
@roles_required(*QUEUE_ROLES)
@use(schemas.QueueQuery)
def queue(args: dict[str, Any]) -> Response:
    """Pending 地址待确认 cases with their candidates, oldest first."""
    area = current_scope().community_ids
    with db.read() as conn:
        rows = address_queue.list_pending(conn, area, limit=args["limit"])
        total = address_queue.count_pending(conn, area)
    items = [{**{k: v for k, v in r.items() if k != "candidates"},
              "level_label": _text(f"geocode.level.{r['level']}") if r["level"] else None,
              "reason_text": _text(r["reason"]),
              "candidates": _candidates(r["candidates"], args["display"])}
             for r in rows]
    return json_response(jsonable({"total": total, "shown": len(items), "items": items}))


@bp.get("/address-queue/far")
@roles_required(*QUEUE_ROLES)
@use(schemas.QueueQuery)
def far(args: dict[str, Any]) -> Response:
    """Open cases of the viewer's area whose point lies far from their address's match."""
    with db.read() as conn:
        rows = address_queue.list_far(conn, current_scope().community_ids, limit=args["limit"])
    return json_response(jsonable({"total": len(rows), "items": _shifted(rows, args["display"])}))


@bp.post("/address-queue/<int:queue_id>/place")
@roles_required(*QUEUE_ROLES)
@use(schemas.PlaceBody, "json", arg="body")
def place(queue_id: int, body: dict[str, Any]) -> Response:
    """Place a queued case at a candidate or by hand; the new incident's id."""
    with db.write() as conn:
        out = address_queue.place(conn, queue_id, actor=actor(), candidate=body.get("candidate"),
                                  lon=body.get("lon"), lat=body.get("lat"),
                                  coords=body["display"],
                                  add_to_register=body["add_to_register"],
                                  community_ids=current_scope().community_ids)
    return json_response(out, 201)


@bp.post("/address-queue/<int:queue_id>/dismiss")
@roles_required(*QUEUE_ROLES)
@use(schemas.DismissBody, "json", arg="body")
def dismiss(queue_id: int, body: dict[str, Any]) -> Response:
    """Close a queued case without placing it."""
    with db.write() as conn:
        address_queue.dismiss(conn, queue_id, actor=actor(), note=body.get("note"),
                              community_ids=current_scope().community_ids)
    return json_response({"id": queue_id, "status": "dismissed"})
