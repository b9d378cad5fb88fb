"""Supervisor page (监督): incident heatmap with filters and playback, per-grid indicator
choropleth (结案率, 按期结案率, 超期未结), hotspots, overdue cases, grid details.

The page itself is a small HTML skeleton (Folium map with local assets); the browser
fetches everything else from ``/api`` by bbox, zoom and time window
(``static/supervisor/supervisor.js``; grid details from :mod:`web.api.aggregates`).
Supervisors see only their area: the map opens on it and every query is restricted to
their :class:`~gridmap.accounts.scope.Scope`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from gridmap import incidents, mapdata
from web import db, i18n
from web.access import current_scope, roles_required
from web.views import maps

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")

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
        # issue #16: filters, overdue drawer, heat switch and legend, print
        "sup.all": "全部", "sup.select_all": "全部", "sup.clear": "清除", "sup.n_selected": "已选 {n} 项",
        "sup.refresh_hint": "清除所有筛选并重新加载", "sup.heat": "事件热力",
        "sup.show_heat": "显示热力", "sup.heat_low": "少", "sup.heat_high": "多",
        "sup.overdue_for": "超期时长", "sup.open_table": "展开表格", "sup.close": "关闭",
        "sup.export_xlsx": "导出 XLSX", "sup.export_csv": "导出 CSV", "sup.print": "打印",
        "sup.days_hours": "{d}天{h}小时", "sup.hours": "{h}小时",
        "sup.hotspots_drawn": "热点网格：{n}（地图上 {m}）", "sup.printed": "打印时间",
        "sup.attribution": "数据来源：本系统事件、网格与基础地理数据",
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
        "sup.all": "all", "sup.select_all": "All", "sup.clear": "Clear", "sup.n_selected": "{n} selected",
        "sup.refresh_hint": "Clear every filter and reload", "sup.heat": "Incident heat",
        "sup.show_heat": "Show heat", "sup.heat_low": "few", "sup.heat_high": "many",
        "sup.overdue_for": "Overdue by", "sup.open_table": "Open table", "sup.close": "Close",
        "sup.export_xlsx": "Export XLSX", "sup.export_csv": "Export CSV", "sup.print": "Print",
        "sup.days_hours": "{d} d {h} h", "sup.hours": "{h} h",
        "sup.hotspots_drawn": "Hotspot grids: {n} ({m} on the map)", "sup.printed": "Printed",
        "sup.attribution": "Data: this system's incidents, grids and base geography",
    },
})

# 新兴热点 layer and PAI/hit-rate figures (#17 §4; static/js/supervisor-ehsa.js, /api/analysis)
i18n.register({
    "zh": {
        "ehsa.title": "新兴热点", "ehsa.show": "显示新兴热点", "ehsa.step": "时间步长",
        "ehsa.week": "周", "ehsa.month": "月", "ehsa.loading": "计算中…",
        "ehsa.status": "{first} 至 {last}，{n_steps} 个{step}，{n_grids} 个网格，{cases} 件案件",
        "ehsa.none": "没有显著的热点或冷点模式",
        "ehsa.method": "Gi* 逐期计算，FDR 校正（α = {alpha}），Mann-Kendall 趋势检验",
        "ehsa.pai_gi": "Gi* 热点检验：{predicted_from} 起一期的热点网格（占面积 {area}）命中 "
                       "{period} 起一期案件 {hit}（{n}/{total}），PAI {pai}",
        "ehsa.pai_ehsa": "新兴热点检验：{predicted_from} 起一期仍为热点的网格（占面积 {area}）"
                         "命中 {period} 起一期案件 {hit}（{n}/{total}），PAI {pai}",
        "ehsa.pai_none": "{period} 起一期没有案件，无法检验",
        "ehsa.pai_hint": "命中率：下一期案件落在上一期热点内的比例；PAI = 命中率 ÷ 面积占比，"
                         "1 表示不比平均巡查更好",
        "ehsa.grid": "网格", "ehsa.cases": "案件", "ehsa.hot_steps": "显著热点期数",
        "ehsa.cold_steps": "显著冷点期数", "ehsa.trend": "趋势 z（p）",
    },
    "en": {
        "ehsa.title": "Emerging hot spots", "ehsa.show": "Show emerging hot spots",
        "ehsa.step": "Time step", "ehsa.week": "weeks", "ehsa.month": "months",
        "ehsa.loading": "Computing…",
        "ehsa.status": "{first} to {last}, {n_steps} {step}, {n_grids} grids, {cases} cases",
        "ehsa.none": "No significant hot or cold spot pattern",
        "ehsa.method": "Gi* per step, FDR-corrected (α = {alpha}), Mann-Kendall trend",
        "ehsa.pai_gi": "Gi* hotspots of the period from {predicted_from} (covering {area}) caught "
                       "{hit} of the cases from {period} ({n}/{total}), PAI {pai}",
        "ehsa.pai_ehsa": "Emerging hot spots still hot in the period from {predicted_from} "
                         "(covering {area}) caught {hit} of the cases from {period} "
                         "({n}/{total}), PAI {pai}",
        "ehsa.pai_none": "No cases in the period from {period}: nothing to score",
        "ehsa.pai_hint": "Hit rate: share of next period's cases inside last period's hot "
                         "spots; PAI = hit rate ÷ area share (1 = no better than even patrols)",
        "ehsa.grid": "Grid", "ehsa.cases": "Cases", "ehsa.hot_steps": "Significant hot steps",
        "ehsa.cold_steps": "Significant cold steps", "ehsa.trend": "Trend z (p)",
    },
})


def category_groups(cats: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """Sub-categories grouped under their 大类 (in catalogue order) for the filter."""
    def label(c: dict[str, Any]) -> str:
        return str(c["name_zh"] if lang == "zh" else (c.get("name_en") or c["name_zh"]))

    groups = {c["code"]: {"code": c["code"], "label": label(c), "children": []}
              for c in cats if not c.get("parent_code")}
    for c in cats:
        parent = c.get("parent_code")
        if parent:
            group = groups.setdefault(parent, {"code": parent, "label": parent, "children": []})
            group["children"].append({"code": c["code"], "label": label(c)})
    return [g for g in groups.values() if g["children"]]


@bp.get("")
@roles_required("supervisor")
def page() -> str:
    """The supervisor page (HTML skeleton; data comes from /api)."""
    scope = current_scope()
    lang = i18n.current_language()
    with db.read() as conn:
        extent = mapdata.extent(conn, scope.ids())
        cats = incidents.categories(conn)
    parts = maps.build_map(plugins=("heat",), bounds=extent)
    return render_template(
        "supervisor/index.html",
        map=parts,
        category_groups=category_groups(cats, lang),
        statuses=i18n.labels("state", incidents.STATES),
        urgencies=i18n.labels("urgency", incidents.URGENCIES),
        sources=i18n.labels("source", incidents.SOURCES),
        page_config={"locale": "zh-CN" if lang == "zh" else "en", "display": parts.display},
    )
