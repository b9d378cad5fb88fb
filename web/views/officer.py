"""Officer page (网格员/网格调整): redraw a community's grids on the map.

A small HTML skeleton (Folium map with local Leaflet + Leaflet.draw assets); the browser
does everything through ``/api/grids`` (``static/officer/officer.js``): pick a
community, open or create a draft, click units (buildings / blocks) to move them into the
selected grid (Districtr-style painting), draw a polygon for a freehand edit, undo/redo,
validate (problems highlighted on the map), preview the impact, activate.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from gridmap import mapdata
from web import db, i18n
from web.access import roles_required
from web.views import maps

bp = Blueprint("officer", __name__, url_prefix="/officer")

i18n.register({
    "zh": {
        "off.title": "网格调整", "off.community": "社区", "off.versions": "版本",
        "off.new_draft": "新建草稿", "off.autopartition": "自动划分", "off.open": "打开",
        "off.target": "移入网格", "off.new_grid": "（新网格）", "off.undo": "撤销",
        "off.redo": "重做", "off.validate": "校验", "off.impact": "影响预览",
        "off.activate": "生效", "off.effective": "生效日期", "off.rebalance": "均衡调整",
        "off.grids": "网格", "off.households": "户数", "off.residents": "人口",
        "off.buildings": "楼栋", "off.facilities": "设施", "off.incidents": "未结事件",
        "off.moves": "单元调整", "off.problems": "问题", "off.no_problems": "校验通过",
        "off.saved": "已保存", "off.hint": "选择“移入网格”后点击地图上的楼栋单元即可调整；"
        "也可用绘图工具画出新的网格范围。", "off.status.draft": "草稿",
        "off.status.active": "现行", "off.status.retired": "历史",
        "off.responsible": "责任主体", "off.set": "设置", "off.lock": "锁定/解锁",
        "off.severity.error": "错误", "off.severity.warning": "警告",
        # issue #16: phases, dates, diff/revert/discard, confirmation, lasso, messages
        "off.phase.draft": "草稿", "off.phase.pending": "待生效", "off.phase.current": "现行",
        "off.phase.historic": "历史", "off.from": "生效", "off.to": "失效", "off.created": "创建",
        "off.diff": "对比", "off.revert": "恢复此版", "off.discard": "丢弃",
        "off.diff_title": "与现行方案对比", "off.change.added": "新增", "off.change.removed": "撤销",
        "off.change.changed": "范围调整", "off.area": "面积(m²)", "off.change": "变化",
        "off.no_changes": "与现行方案相同", "off.undone": "已撤销", "off.redone": "已重做",
        "off.moved": "已调整 {n} 个单元", "off.activated": "已生效", "off.scheduled": "已安排于 {d} 生效",
        "off.brush": "刷选", "off.brush_title": "刷选单元：按住鼠标拖过地图上的单元，松开后全部移入“移入网格”",
        "off.brush_hint": "刷选：按住鼠标拖过要调整的单元，松开即移入所选网格；按 Esc 或再点“刷选”退出。",
        "off.brush_none": "没有刷到任何单元",
        "off.unschedule": "撤销生效安排", "off.unscheduled": "已撤销生效安排，方案退回为草稿",
        "off.unschedule_confirm": "撤销第 {g} 版的生效安排？它将退回为草稿，现行方案继续有效。",
        "off.discarded": "草稿已丢弃", "off.reverted": "已恢复为新版本", "off.rebalanced": "已均衡调整",
        "off.not_draft": "这是{phase}方案，不能直接修改：请点击“新建草稿”或打开草稿后再调整。",
        "off.confirm_title": "确认生效", "off.confirm_ok": "确认生效", "off.confirm_anyway": "仍然生效",
        "off.cancel": "取消", "off.sum_households": "调整户数", "off.sum_grids": "涉及网格",
        "off.sum_cases": "受影响的未结案件", "off.sum_units": "调整单元",
        "off.sum_date": "生效日期", "off.today": "今天",
        "off.unchanged_warning": "此草稿与现行方案完全相同：生效不会改变任何网格，只会新增一个版本。",
        "off.future_note": "在 {d} 之前现行方案继续有效，新方案显示为“待生效”。",
        "off.discard_confirm": "丢弃草稿 #{g}？此操作不能撤销。", "off.revert_confirm": "以第 {g} 版方案创建新版本并生效？",
        "off.select_mode": "绘图用途", "off.mode.lasso": "圈选单元（套索）", "off.mode.shape": "手绘网格边界",
        "off.lasso_none": "圈选范围内没有单元", "off.export_csv": "导出 CSV", "off.print": "打印",
        "off.unit.building": "楼栋", "off.unit.block": "街区", "off.building_no": "{n}号楼",
        "off.printed": "打印时间", "off.attribution": "数据来源：本系统网格、楼栋与基础地理数据",
        "off.legend": "图例", "off.legend.changed": "变化的网格", "off.legend.unit": "单元（颜色 = 所属网格）",
    },
    "en": {
        "off.title": "Grid redraw", "off.community": "Community", "off.versions": "Versions",
        "off.new_draft": "New draft", "off.autopartition": "Auto-partition", "off.open": "Open",
        "off.target": "Move into grid", "off.new_grid": "(new grid)", "off.undo": "Undo",
        "off.redo": "Redo", "off.validate": "Validate", "off.impact": "Impact preview",
        "off.activate": "Activate", "off.effective": "Effective date",
        "off.rebalance": "Rebalance", "off.grids": "Grids", "off.households": "Households",
        "off.residents": "Residents", "off.buildings": "Buildings",
        "off.facilities": "Facilities", "off.incidents": "Open incidents",
        "off.moves": "Unit moves", "off.problems": "Problems",
        "off.no_problems": "No problems", "off.saved": "Saved",
        "off.hint": "Pick a target grid, then click building units on the map to move them;"
        " or draw a polygon for a freehand edit.", "off.status.draft": "draft",
        "off.status.active": "active", "off.status.retired": "retired",
        "off.responsible": "Responsible party", "off.set": "Set", "off.lock": "Lock/unlock",
        "off.severity.error": "error", "off.severity.warning": "warning",
        "off.phase.draft": "draft", "off.phase.pending": "pending", "off.phase.current": "in force",
        "off.phase.historic": "historic", "off.from": "from", "off.to": "until", "off.created": "created",
        "off.diff": "Compare", "off.revert": "Restore", "off.discard": "Discard",
        "off.diff_title": "Compared with the plan in force", "off.change.added": "added",
        "off.change.removed": "removed", "off.change.changed": "reshaped", "off.area": "Area (m²)",
        "off.change": "Change", "off.no_changes": "Same as the plan in force", "off.undone": "Undone",
        "off.redone": "Redone", "off.moved": "{n} unit(s) moved", "off.activated": "Activated",
        "off.scheduled": "Scheduled to take effect on {d}", "off.discarded": "Draft discarded",
        "off.brush": "Brush", "off.brush_title": "Brush units: drag over units on the map; on release they all move into the target grid",
        "off.brush_hint": "Brush: drag over the units to move and release to move them into the target grid; Esc or Brush again to stop.",
        "off.brush_none": "The brush touched no unit",
        "off.unschedule": "Withdraw", "off.unscheduled": "Schedule withdrawn: the plan is a draft again",
        "off.unschedule_confirm": "Withdraw the scheduled generation {g}? It becomes a draft again and the current plan stays in force.",
        "off.reverted": "Restored as a new version", "off.rebalanced": "Rebalanced",
        "off.not_draft": "This is a {phase} plan and cannot be edited: create a draft or open one first.",
        "off.confirm_title": "Confirm activation", "off.confirm_ok": "Activate",
        "off.confirm_anyway": "Activate anyway", "off.cancel": "Cancel",
        "off.sum_households": "Households moved", "off.sum_grids": "Grids changed",
        "off.sum_cases": "Open cases affected", "off.sum_units": "Units moved",
        "off.sum_date": "Effective date", "off.today": "today",
        "off.unchanged_warning": "This draft is identical to the plan in force: activating it changes no grid and only adds a version.",
        "off.future_note": "Until {d} the current plan stays in force; the new one shows as pending.",
        "off.discard_confirm": "Discard draft #{g}? This cannot be undone.",
        "off.revert_confirm": "Create and activate a new version from generation {g}?",
        "off.select_mode": "Drawing does", "off.mode.lasso": "Select units (lasso)",
        "off.mode.shape": "Freehand grid boundary", "off.lasso_none": "No unit inside the drawn area",
        "off.export_csv": "Export CSV", "off.print": "Print", "off.unit.building": "Building",
        "off.unit.block": "Block", "off.building_no": "No. {n}", "off.printed": "Printed",
        "off.attribution": "Data: this system's grids, buildings and base geography",
        "off.legend": "Legend", "off.legend.changed": "Changed grids",
        "off.legend.unit": "Units (colour = grid)",
    },
})


@bp.get("")
@roles_required("officer", "admin")
def page() -> str:
    """The officer page (HTML skeleton; data comes from /api/grids)."""
    with db.read() as conn:
        communities = mapdata.communities(conn)
    extent = None
    if communities:
        b = [c["bounds"] for c in communities]
        extent = (min(x[0] for x in b), min(x[1] for x in b), max(x[2] for x in b),
                  max(x[3] for x in b))
    parts = maps.build_map(plugins=("draw",), bounds=extent)
    return render_template("officer/index.html", map=parts, communities=communities,
                           page_config={"communities": communities, "display": parts.display})
