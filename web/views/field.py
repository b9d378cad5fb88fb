"""The phone page for field reporting (``/field``, issue #14): grid workers, inspectors and
楼长/路长 report a problem with the phone's position and photos, see 我的上报 and 我的任务.

Mobile-first (tested at 390×844), its own light template (no desktop header), everything
else in the browser (``static/field/field.js``) through ``/api/field/*``: unsent reports wait
in IndexedDB (vendored ``idb-keyval``) and are sent once each when the network returns (the
server ignores a repeated client id). A service worker (``/field/sw.js``, scope ``/field``)
keeps the page's assets so it opens without a network.
"""

from __future__ import annotations

import functools
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template
from markupsafe import Markup

from gridmap.field import area
from gridmap.incidents.states import STATE_LABELS
from web import db, i18n
from web.access import current_scope, current_user, roles_required, settings
from web.views import maps

bp = Blueprint("field", __name__, url_prefix="/field")

i18n.register({
    "zh": {
        "field.title": "现场上报", "field.tab.report": "上报", "field.tab.mine": "我的上报",
        "field.tab.tasks": "我的任务", "field.locate": "重新定位",
        "field.locating": "正在定位…", "field.accuracy": "定位精度约 ±{m} 米，可拖动标记修正",
        "field.no_position": "无法获取手机定位：请在地图上点选位置，或输入地址查找",
        "field.picked": "已在地图上选定位置", "field.address": "地址（可选）",
        "field.find": "查找", "field.not_found": "没有找到这个地址",
        "field.category": "问题类别", "field.common": "常用", "field.all": "全部类别",
        "field.choose": "请选择类别", "field.description": "问题描述",
        "field.photos": "照片（1–6 张）", "field.add_photo": "拍照或选择照片",
        "field.remove": "删除", "field.submit": "上报",
        "field.need_position": "请先确定位置", "field.need_category": "请选择问题类别",
        "field.need_photo": "请至少添加 1 张照片", "field.too_many": "最多 6 张照片",
        "field.duplicate": "附近 {r} 米内已有同类未结案件，可能是重复上报：",
        "field.metres": "{m} 米", "field.saved_offline": "已保存在手机上，联网后自动发送",
        "field.sent": "上报成功，案卷号 {no}", "field.sending": "正在发送…",
        "field.queue": "待发送 {n} 条", "field.online": "在线", "field.offline": "离线",
        "field.failed": "未能发送：{msg}", "field.discard": "放弃此条",
        "field.pending": "待发送", "field.none_mine": "还没有上报",
        "field.none_tasks": "暂无任务", "field.task.verify": "核实",
        "field.task.check": "核查", "field.found": "属实", "field.not_there": "不属实",
        "field.check_pass": "核查通过（结案）", "field.check_fail": "未解决（返工）",
        "field.after_photo": "处置后照片（核查必填）", "field.need_after": "请先拍处置后照片",
        "field.done": "已完成", "field.verified": "已核实", "field.photo_count": "{n} 张照片",
        "field.logout": "退出", "field.case_no": "案卷号",
    },
    "en": {
        "field.title": "Field report", "field.tab.report": "Report", "field.tab.mine": "My reports",
        "field.tab.tasks": "My tasks", "field.locate": "Locate again",
        "field.locating": "Locating…",
        "field.accuracy": "Position accurate to about ±{m} m; drag the marker to correct it",
        "field.no_position": "No position from the phone: tap the map or look up an address",
        "field.picked": "Position picked on the map", "field.address": "Address (optional)",
        "field.find": "Find", "field.not_found": "Address not found",
        "field.category": "Category", "field.common": "Common", "field.all": "All categories",
        "field.choose": "Choose a category", "field.description": "Description",
        "field.photos": "Photos (1–6)", "field.add_photo": "Take or choose photos",
        "field.remove": "Remove", "field.submit": "Report",
        "field.need_position": "Set the position first",
        "field.need_category": "Choose a category", "field.need_photo": "Add at least 1 photo",
        "field.too_many": "At most 6 photos",
        "field.duplicate": "An open case of this category lies within {r} m (possible duplicate):",
        "field.metres": "{m} m", "field.saved_offline": "Saved on the phone; sent when online",
        "field.sent": "Reported: case {no}", "field.sending": "Sending…",
        "field.queue": "{n} waiting to send", "field.online": "online",
        "field.offline": "offline", "field.failed": "Not sent: {msg}",
        "field.discard": "Discard", "field.pending": "waiting to send",
        "field.none_mine": "No reports yet", "field.none_tasks": "No tasks",
        "field.task.verify": "Verify", "field.task.check": "Check",
        "field.found": "Confirmed", "field.not_there": "Not found",
        "field.check_pass": "Passed (close)", "field.check_fail": "Not solved (rework)",
        "field.after_photo": "After photo (required to check)",
        "field.need_after": "Take the after photo first", "field.done": "Done",
        "field.verified": "Verified", "field.photo_count": "{n} photos",
        "field.logout": "Log out", "field.case_no": "Case",
    },
})


def _tiles() -> str | None:
    """A raster tile URL for the configured basemap (``None``: our own vector basemap)."""
    s = settings()
    if s.basemap == "osm":
        return "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    if s.basemap == "tianditu" and s.tianditu_key:
        return ("https://t0.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
                "&VERSION=1.0.0&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
                f"&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={s.tianditu_key}")
    return None


INLINE: tuple[str, ...] = ("vendor/idb-keyval/idb-keyval.umd.js", "field/queue.js",
                           "field/field.js", "field/tasks.js")
"""Scripts inlined into the page (with the CSP nonce): on a slow link every extra request
costs a round trip (Slow 4G: 562 ms), so the form works after the HTML alone; Leaflet and
the basemap follow (loaded by field.js) and draw the map when they arrive."""


@functools.lru_cache(maxsize=16)
def _read(static: str, name: str, mtime: float) -> str:
    return (Path(static) / name).read_text(encoding="utf-8")


def inline(name: str) -> Markup:
    """A static file's text for a ``<script nonce>``/``<style>`` body (cached per mtime)."""
    static = current_app.static_folder or ""
    path = Path(static) / name
    text = _read(static, name, path.stat().st_mtime)
    if "</script" in text.lower() or "</style" in text.lower():
        raise ValueError(f"{name} cannot be inlined")
    return Markup(text)  # noqa: S704 - our own static file, checked above


@bp.get("")
@roles_required("staff", "supervisor", "officer")
def page() -> str:
    """The phone page: the form with the categories (common first) rendered on the server,
    the critical CSS and scripts inline; data from /api/field/*."""
    user = current_user()
    assert user is not None  # roles_required() ran first
    lang = i18n.current_language()
    scope = current_scope()
    with db.read() as conn:
        cats = area.categories(conn, scope)
        home = area.home_point(conn, scope)
    config = {
        "user": user.username, "lang": lang, "tiles": _tiles(), "home": home,
        "basemap": "none" if _tiles() is None and maps.display_crs(settings().basemap)
        == "wgs84" else settings().basemap,
        "states": {k: (v if lang == "zh" else k) for k, v in STATE_LABELS.items()},
        "maxPhotos": settings().photos_per_report,
    }
    return render_template("field/index.html", config=config, user=user, inline=inline,
                           common=[c for c in cats if c["common"]],
                           others=[c for c in cats if not c["common"]], scripts=INLINE)


@bp.get("/sw.js")
def service_worker() -> Response:
    """The service worker, served from /field/ so its scope is /field (no login needed:
    it holds no data, only the list of the page's assets)."""
    path = current_app.static_folder or ""
    with open(f"{path}/field/sw.js", encoding="utf-8") as f:
        body = f.read()
    resp = Response(body, mimetype="text/javascript")
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["Service-Worker-Allowed"] = "/field"
    return resp
