"""Supervisor page (监督): incident heatmap with filters and playback, per-grid indicator
choropleth (结案率, 按期结案率, 超期未结), hotspots, overdue cases, grid details.

The page itself is a small HTML skeleton (Folium map with local assets); the browser
fetches everything else from ``/api`` by bbox, zoom and time window
(``static/supervisor/supervisor.js``). Supervisors see only their area: every query
is restricted to :func:`web.auth.scope_community_ids`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify, render_template, request
from sqlalchemy.engine import Connection

from gridmap import incidents
from gridmap.errors import NotFound, PermissionDenied, Problem
from gridmap.incidents import indicators
from web import auth, db, i18n, maps
from web.incidents_api import (
    check,
    current_viewer,
    grid_indicator_props,
    incident_feature,
    parse_window,
    viewer_required,
)

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")

OPEN_CASES_SHOWN = 20

STATE_LABELS = {
    "zh": {
        "reported": "信息收集", "filed": "立案", "dispatched": "已派遣", "handling": "处置中",
        "returned": "回退", "extended": "延期", "parked": "挂账", "handled": "已处置反馈",
        "rework": "返工", "closed": "核查结案", "evaluated": "已评价", "voided": "作废",
    },
    "en": {
        "reported": "Reported", "filed": "Filed", "dispatched": "Dispatched",
        "handling": "Handling", "returned": "Returned", "extended": "Extended",
        "parked": "Parked", "handled": "Handled", "rework": "Rework", "closed": "Closed",
        "evaluated": "Evaluated", "voided": "Voided",
    },
}
SOURCE_LABELS = {
    "zh": {"patrol": "网格员巡查", "hotline_12345": "12345热线", "public": "公众举报",
           "video": "视频监控", "iot": "物联感知", "referral": "上级交办"},
    "en": {"patrol": "Grid patrol", "hotline_12345": "12345 hotline", "public": "Public report",
           "video": "Video", "iot": "IoT sensor", "referral": "Referral"},
}
URGENCY_LABELS = {
    "zh": {"normal": "常规", "key": "重点", "urgent": "应急"},
    "en": {"normal": "Routine", "key": "Priority", "urgent": "Emergency"},
}

i18n.register({
    "zh": {
        "sup.title": "事件监督", "sup.loading": "加载中…", "sup.window": "时间范围",
        "sup.window.24h": "最近24小时", "sup.window.7d": "最近7天", "sup.window.30d": "最近30天",
        "sup.window.custom": "自定义", "sup.start": "开始", "sup.end": "结束",
        "sup.filters": "筛选", "sup.category": "类别", "sup.status": "状态",
        "sup.urgency": "紧急程度", "sup.source": "来源", "sup.refresh": "刷新",
        "sup.playback": "时间回放", "sup.step.day": "按天", "sup.step.hour": "按小时",
        "sup.prev": "上一步", "sup.next": "下一步", "sup.play": "播放", "sup.pause": "暂停",
        "sup.indicator": "网格指标", "sup.show_grids": "显示网格",
        "sup.closure_rate": "结案率", "sup.ontime_rate": "按期结案率", "sup.overdue_open": "超期未结",
        "sup.hotspot": "热点", "sup.hotspots_n": "热点网格：{n}",
        "sup.overdue_list": "超期案件", "sup.case_no": "案卷号", "sup.grid": "网格",
        "sup.due_at": "处置时限", "sup.description": "描述",
        "sup.count_points": "{n} 起事件", "sup.count_cells": "{n} 起事件，{c} 个单元",
        "sup.filed": "立案数", "sup.closed": "结案数", "sup.due": "应结案数",
        "sup.open_cases": "未结案件", "sup.no_due": "无应结案件",
        "sup.score": "综合指标值（等级）",
        "sup.to_confirm": "边界待确认", "sup.to_confirm_hint": "靠近网格边界或不在任何网格内的事件："
        "点击一行，选择所属网格。", "sup.distance": "距边界(米)", "sup.confirm_in": "确认属于",
        "sup.current": "当前", "sup.inside": "在网格内", "sup.confirmed": "已确认",
    },
    "en": {
        "sup.title": "Incident supervision", "sup.loading": "Loading…", "sup.window": "Time window",
        "sup.window.24h": "Last 24 hours", "sup.window.7d": "Last 7 days",
        "sup.window.30d": "Last 30 days", "sup.window.custom": "Custom", "sup.start": "Start",
        "sup.end": "End", "sup.filters": "Filters", "sup.category": "Category",
        "sup.status": "Status", "sup.urgency": "Urgency", "sup.source": "Source",
        "sup.refresh": "Refresh", "sup.playback": "Playback", "sup.step.day": "By day",
        "sup.step.hour": "By hour", "sup.prev": "Previous", "sup.next": "Next",
        "sup.play": "Play", "sup.pause": "Pause", "sup.indicator": "Grid indicator",
        "sup.show_grids": "Show grids", "sup.closure_rate": "Closure rate",
        "sup.ontime_rate": "On-time closure rate", "sup.overdue_open": "Overdue open",
        "sup.hotspot": "Hotspot", "sup.hotspots_n": "Hotspot grids: {n}",
        "sup.overdue_list": "Overdue cases", "sup.case_no": "Case no.", "sup.grid": "Grid",
        "sup.due_at": "Due", "sup.description": "Description",
        "sup.count_points": "{n} incidents", "sup.count_cells": "{n} incidents in {c} cells",
        "sup.filed": "Filed", "sup.closed": "Closed", "sup.due": "Due for closure",
        "sup.open_cases": "Open cases", "sup.no_due": "No cases due",
        "sup.score": "Composite score (grade)",
        "sup.to_confirm": "Locations to confirm", "sup.to_confirm_hint": "Incidents near a grid "
        "boundary or outside every grid: click a row and choose the grid.",
        "sup.distance": "to boundary (m)", "sup.confirm_in": "Confirm in",
        "sup.current": "current", "sup.inside": "inside", "sup.confirmed": "Confirmed",
    },
})


def _labels(table: dict[str, dict[str, str]]) -> list[tuple[str, str]]:
    lang = i18n.current_language()
    return list(table.get(lang, table["zh"]).items())


_EXTENT_SQL = sa.text(
    """
    SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
    FROM (SELECT ST_Extent(geom) AS e FROM community
          WHERE CAST(:ids AS int[]) IS NULL OR id = ANY(CAST(:ids AS int[]))) x
    """
)


def area_extent(
    conn: Connection, community_ids: list[int] | None
) -> tuple[float, float, float, float] | None:
    """Bounding box of the viewer's communities (all when ``None``)."""
    row = conn.execute(_EXTENT_SQL, {"ids": community_ids}).one()
    if row[0] is None:
        return None
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


@bp.get("")
@auth.roles_required("supervisor")
def page() -> str:
    """The supervisor page (HTML skeleton; data comes from /api)."""

    viewer = viewer_required()
    lang = i18n.current_language()
    with db.read() as conn:
        extent = area_extent(conn, None if viewer.community_ids is None else list(viewer.community_ids))
        cats = incidents.categories(conn)
    parts = maps.build_map(plugins=("heat",), bounds=extent)
    categories = [
        {"code": c["code"], "label": c["name_zh"] if lang == "zh" else c["name_en"]}
        for c in cats if c.get("parent_code")
    ]
    return render_template(
        "supervisor/index.html",
        map=parts,
        categories=categories,
        statuses=_labels(STATE_LABELS),
        urgencies=_labels(URGENCY_LABELS),
        sources=_labels(SOURCE_LABELS),
        page_config={"locale": "zh-CN" if lang == "zh" else "en", "display": parts.display},
    )


@bp.get("/api/grids/<int:grid_id>")
@auth.roles_required("supervisor")
def grid_summary(grid_id: int) -> Response:
    """A grid's indicators for the window and its open cases (masked for the viewer)."""

    viewer = viewer_required()
    problems: list[Problem] = []
    start, end = parse_window(request.args, problems, default="30d")
    check(problems)
    now = datetime.now(UTC)
    start = start or now - timedelta(days=30)
    end = end or now
    with db.read() as conn:
        grid = conn.execute(
            sa.text("SELECT id, grid_code, name, community_id FROM grid WHERE id = :id"),
            {"id": grid_id},
        ).mappings().first()
        if grid is None:
            raise NotFound(f"grid {grid_id} not found")
        if viewer.community_ids is not None and grid["community_id"] not in viewer.community_ids:
            raise PermissionDenied("grid is outside your area / 不在您的管辖范围")
        ind = indicators.compute(conn, "grid", start, end, unit_ids=[grid_id], all_units=True)
        cases = incidents.list_incidents(
            conn, {"grid_ids": [grid_id], "open": True}, 1, OPEN_CASES_SHOWN
        )
    feats = [incident_feature(r, viewer) for r in cases["items"]]
    lang = i18n.current_language()
    open_cases = []
    for f in feats:
        p = f["properties"]
        p["state_label"] = STATE_LABELS.get(lang, STATE_LABELS["zh"]).get(p.get("state", ""), "")
        open_cases.append({"id": f["id"], **p})
    row: dict[str, Any] = grid_indicator_props(ind[0] if ind else {"unit_id": grid_id})
    return jsonify({
        "grid": dict(grid),
        "indicators": row,
        "open_cases": open_cases,
        "open_total": cases["total"],
    })


__all__ = ["bp", "area_extent", "current_viewer"]
