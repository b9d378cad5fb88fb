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
