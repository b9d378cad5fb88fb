"""UI strings of the dashboard page (zh default, en)."""

from __future__ import annotations

from web import i18n

ZH = {
    "nav.dashboard": "大屏", "dash.title": "一屏观天下", "dash.district": "全区",
    "dash.loading": "加载中…", "dash.as_of": "数据时间", "dash.refresh": "自动刷新",
    "dash.refresh.off": "关闭", "dash.refresh.s": "{n}秒", "dash.refresh.m": "{n}分钟",
    "dash.paused": "已暂停（页面不可见）", "dash.refresh_now": "立即刷新",
    "dash.kpi.open": "在办案件", "dash.kpi.overdue": "超期未结", "dash.kpi.close_rate": "结案率",
    "dash.kpi.on_time_rate": "按期结案率", "dash.kpi.grid_rate": "小事不出网格",
    "dash.kpi.satisfaction": "群众满意率", "dash.kpi.reported": "近{n}天新增",
    "dash.kpi.urgent": "其中应急/重点 {n}", "dash.kpi.due": "应结 {n} · 已结 {c}",
    "dash.kpi.grid_sub": "结案 {n} · 网格层级 {g}", "dash.kpi.sat_sub": "评价 {n} · 平均 {m} 分",
    "dash.kpi.overdue_sub": "占在办 {p}",
    "dash.trend": "趋势", "dash.on_time_share": "按期结案占比（占同期结案）", "dash.daily": "按日", "dash.weekly": "按周",
    "dash.s.reported": "新增", "dash.s.closed": "结案", "dash.s.closed_on_time": "按期结案",
    "dash.map": "地图", "dash.layer.heat": "事件热力", "dash.layer.stars": "星级评定",
    "dash.layer.coverage": "生活圈覆盖", "dash.no_stars": "暂无星级评定数据",
    "dash.stars_by_community": "星级按社区（居委会）评定：请返回上一级查看",
    "dash.no_coverage": "尚未计算生活圈覆盖",
    "dash.rank": "排名", "dash.rank.street": "街道排名", "dash.rank.community": "社区排名",
    "dash.rank.grid": "网格排名", "dash.rank.units": "处置单位排名",
    "dash.metric.open": "在办", "dash.metric.overdue": "超期", "dash.metric.close_rate": "结案率",
    "dash.metric.on_time_rate": "按期结案率", "dash.metric.reported": "新增",
    "dash.urgent": "应急/重点案件", "dash.urgency.urgent": "应急", "dash.urgency.key": "重点",
    "dash.overdue": "超期", "dash.none": "暂无", "dash.drill_hint": "点击地图或排名下钻",
    "dash.stars_n": "{n}星", "dash.error": "数据加载失败：{e}",
    "dash.period": "统计期：近{n}天",
}
EN = {
    "nav.dashboard": "Dashboard", "dash.title": "District dashboard", "dash.district": "District",
    "dash.loading": "Loading…", "dash.as_of": "Data as of", "dash.refresh": "Auto-refresh",
    "dash.refresh.off": "off", "dash.refresh.s": "{n} s", "dash.refresh.m": "{n} min",
    "dash.paused": "Paused (page hidden)", "dash.refresh_now": "Refresh now",
    "dash.kpi.open": "Open cases", "dash.kpi.overdue": "Overdue", "dash.kpi.close_rate": "Closure rate",
    "dash.kpi.on_time_rate": "On-time closure", "dash.kpi.grid_rate": "Closed in the grid",
    "dash.kpi.satisfaction": "Satisfaction", "dash.kpi.reported": "New, last {n} days",
    "dash.kpi.urgent": "{n} urgent/key", "dash.kpi.due": "{n} due · {c} closed",
    "dash.kpi.grid_sub": "{n} closed · {g} at grid level",
    "dash.kpi.sat_sub": "{n} rated · mean {m}", "dash.kpi.overdue_sub": "{p} of open",
    "dash.trend": "Trend", "dash.on_time_share": "Closed on time (share of closures)", "dash.daily": "Daily", "dash.weekly": "Weekly",
    "dash.s.reported": "New", "dash.s.closed": "Closed", "dash.s.closed_on_time": "Closed on time",
    "dash.map": "Map", "dash.layer.heat": "Case heat", "dash.layer.stars": "Star ratings",
    "dash.layer.coverage": "Life-circle coverage", "dash.no_stars": "No star ratings yet",
    "dash.stars_by_community": "Stars rate communities (committees): go up one level",
    "dash.no_coverage": "Life-circle coverage not computed",
    "dash.rank": "Ranking", "dash.rank.street": "Streets", "dash.rank.community": "Communities",
    "dash.rank.grid": "Grids", "dash.rank.units": "Handling units",
    "dash.metric.open": "Open", "dash.metric.overdue": "Overdue", "dash.metric.close_rate": "Closure rate",
    "dash.metric.on_time_rate": "On-time rate", "dash.metric.reported": "New",
    "dash.urgent": "Urgent and key cases", "dash.urgency.urgent": "Urgent",
    "dash.urgency.key": "Key", "dash.overdue": "Overdue", "dash.none": "None",
    "dash.drill_hint": "Click the map or a ranking to drill down",
    "dash.stars_n": "{n}★", "dash.error": "Could not load data: {e}",
    "dash.period": "Period: last {n} days",
}


def register_messages() -> None:
    """Register the dashboard strings with :mod:`web.i18n`."""
    i18n.register({"zh": ZH, "en": EN})
