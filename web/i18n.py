"""Messages in Simplified Chinese (default) and English; dates and numbers in local format.

A plain message catalogue: ``MESSAGES[lang][key]``. Templates call ``t("key")``; page
scripts get the catalogue subset they need as JSON (``window.GM_I18N``) through
:func:`js_messages`. Other blueprints may add keys with :func:`register`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from flask import Flask, current_app, session

LANGUAGES: tuple[str, ...] = ("zh", "en")

MESSAGES: dict[str, dict[str, str]] = {
    "zh": {
        "app.title": "网格化管理",
        "nav.planner": "规划",
        "nav.supervisor": "监督",
        "nav.officer": "网格员",
        "nav.admin": "管理",
        "nav.logout": "退出登录",
        "nav.language": "语言",
        "login.title": "登录",
        "login.username": "用户名",
        "login.password": "密码",
        "login.submit": "登录",
        "login.failed": "用户名或密码错误，或账户已停用。",
        "login.required": "请先登录。",
        "login.throttled": "登录失败次数过多，请10分钟后再试。",
        "logout.done": "已退出登录。",
        "role.planner": "规划员",
        "role.supervisor": "监督员",
        "role.officer": "网格员",
        "role.admin": "管理员",
        "home.title": "首页",
        "home.pages": "可用页面",
        "synthetic.notice": "含合成（演示）数据：标记为“合成”的对象不是真实数据。",
        "synthetic": "合成",
        "map.attribution": "© OpenStreetMap 贡献者（ODbL）",
        "layer.communities": "社区",
        "layer.estates": "小区",
        "layer.buildings": "建筑",
        "layer.grids": "网格（现行版本）",
        "layer.facilities": "设施",
        "layer.street_blocks": "街坊",
        "layer.service_areas": "服务范围",
        "layer.coverage": "覆盖率",
        "layer.candidates": "候选选址",
        "layer.whatif": "假设设施",
        "planner.title": "15分钟生活圈规划",
        "planner.type": "设施类型",
        "planner.level": "统计单元",
        "planner.level.estate": "小区",
        "planner.level.community": "社区",
        "planner.minutes": "步行时间",
        "planner.minutes_unit": "分钟",
        "planner.search": "搜索社区或小区",
        "planner.search.none": "未找到",
        "planner.gaps": "覆盖缺口",
        "planner.gaps.none": "没有缺口",
        "planner.whatif": "假设新增设施",
        "planner.whatif.help": "在地图上单击以放置假设设施。",
        "planner.whatif.clear": "清除假设",
        "planner.whatif.result": "覆盖居民",
        "planner.whatif.before": "之前",
        "planner.whatif.after": "之后",
        "planner.whatif.change": "变化",
        "planner.candidates": "候选选址",
        "planner.candidates.show": "显示候选选址",
        "planner.covered": "覆盖居民",
        "planner.residents": "居民",
        "planner.share": "覆盖率",
        "planner.name": "名称",
        "planner.unit": "单元",
        "planner.zoom": "定位",
        "planner.gain": "新增覆盖",
        "planner.unavailable": "覆盖分析暂不可用",
        "planner.legend": "图例",
        "planner.legend.coverage": "覆盖率",
        "planner.nodata": "无数据",
        "zoom.more": "放大以显示",
        "error.load": "加载失败",
        "error.home": "返回首页",
        **{f"state.{k}": v for k, v in {
            "reported": "信息收集", "filed": "立案", "dispatched": "已派遣", "handling": "处置中",
            "returned": "回退", "extended": "延期", "parked": "挂账", "handled": "已处置反馈",
            "rework": "返工", "closed": "核查结案", "evaluated": "已评价", "voided": "作废"}.items()},
        **{f"source.{k}": v for k, v in {
            "patrol": "网格员巡查", "hotline_12345": "12345热线", "public": "公众举报",
            "video": "视频监控", "iot": "物联感知", "referral": "上级交办"}.items()},
        **{f"urgency.{k}": v for k, v in {
            "normal": "常规", "key": "重点", "urgent": "应急"}.items()},
    },
    "en": {
        "app.title": "Grid management",
        "nav.planner": "Planning",
        "nav.supervisor": "Supervision",
        "nav.officer": "Grid officer",
        "nav.admin": "Admin",
        "nav.logout": "Log out",
        "nav.language": "Language",
        "login.title": "Log in",
        "login.username": "Username",
        "login.password": "Password",
        "login.submit": "Log in",
        "login.failed": "Wrong username or password, or the account is disabled.",
        "login.required": "Please log in first.",
        "login.throttled": "Too many failed logins; try again in 10 minutes.",
        "logout.done": "Logged out.",
        "role.planner": "Planner",
        "role.supervisor": "Supervisor",
        "role.officer": "Grid officer",
        "role.admin": "Administrator",
        "home.title": "Home",
        "home.pages": "Pages",
        "synthetic.notice": "Contains synthetic (demo) data: objects marked “synthetic” are not real.",
        "synthetic": "synthetic",
        "map.attribution": "© OpenStreetMap contributors (ODbL)",
        "layer.communities": "Communities",
        "layer.estates": "Estates",
        "layer.buildings": "Buildings",
        "layer.grids": "Grids (active version)",
        "layer.facilities": "Facilities",
        "layer.street_blocks": "Street blocks",
        "layer.service_areas": "Service areas",
        "layer.coverage": "Coverage",
        "layer.candidates": "Candidate sites",
        "layer.whatif": "What-if facilities",
        "planner.title": "15-minute life circle planning",
        "planner.type": "Facility type",
        "planner.level": "Unit",
        "planner.level.estate": "Estate",
        "planner.level.community": "Community",
        "planner.minutes": "Walking time",
        "planner.minutes_unit": "min",
        "planner.search": "Search community or estate",
        "planner.search.none": "Nothing found",
        "planner.gaps": "Coverage gaps",
        "planner.gaps.none": "No gaps",
        "planner.whatif": "What-if facility",
        "planner.whatif.help": "Click the map to place a hypothetical facility.",
        "planner.whatif.clear": "Clear what-if",
        "planner.whatif.result": "Covered residents",
        "planner.whatif.before": "Before",
        "planner.whatif.after": "After",
        "planner.whatif.change": "Change",
        "planner.candidates": "Candidate sites",
        "planner.candidates.show": "Show candidate sites",
        "planner.covered": "Covered residents",
        "planner.residents": "Residents",
        "planner.share": "Coverage",
        "planner.name": "Name",
        "planner.unit": "Unit",
        "planner.zoom": "Zoom",
        "planner.gain": "Newly covered",
        "planner.unavailable": "Coverage analysis is not available",
        "planner.legend": "Legend",
        "planner.legend.coverage": "Coverage",
        "planner.nodata": "No data",
        "zoom.more": "Zoom in to show",
        "error.load": "Failed to load",
        "error.home": "Home",
        **{f"state.{k}": v for k, v in {
            "reported": "Reported", "filed": "Filed", "dispatched": "Dispatched",
            "handling": "Handling", "returned": "Returned", "extended": "Extended",
            "parked": "Parked", "handled": "Handled", "rework": "Rework", "closed": "Closed",
            "evaluated": "Evaluated", "voided": "Voided"}.items()},
        **{f"source.{k}": v for k, v in {
            "patrol": "Grid patrol", "hotline_12345": "12345 hotline", "public": "Public report",
            "video": "Video", "iot": "IoT sensor", "referral": "Referral"}.items()},
        **{f"urgency.{k}": v for k, v in {
            "normal": "Routine", "key": "Priority", "urgent": "Emergency"}.items()},
    },
}


def register(messages: Mapping[str, Mapping[str, str]]) -> None:
    """Add messages (``{"zh": {...}, "en": {...}}``) from another module."""
    for lang, table in messages.items():
        MESSAGES.setdefault(lang, {}).update(table)


def current_language() -> str:
    """The session's language, else ``Settings.lang`` (``GRIDMAP_LANG``, default ``zh``)."""
    lang = session.get("lang")
    if lang in LANGUAGES:
        return str(lang)
    settings = current_app.extensions.get("gridmap.settings")
    default = settings.lang if settings is not None else "zh"
    return default if default in LANGUAGES else "zh"


def labels(prefix: str, codes: Iterable[str]) -> list[tuple[str, str]]:
    """``[(code, label)]`` in the current language for ``prefix.code`` keys
    (``labels("state", incidents.STATES)``)."""
    return [(c, t(f"{prefix}.{c}")) for c in codes]


def t(key: str, **values: Any) -> str:
    """Translate ``key`` into the current language (falls back to Chinese, then the key)."""
    lang = current_language()
    text = MESSAGES.get(lang, {}).get(key) or MESSAGES["zh"].get(key) or key
    return text.format(**values) if values else text


def js_messages(*prefixes: str) -> dict[str, str]:
    """The current language's messages whose key starts with one of ``prefixes``."""
    lang = current_language()
    merged = {**MESSAGES["zh"], **MESSAGES.get(lang, {})}
    return {k: v for k, v in merged.items() if not prefixes or k.startswith(prefixes)}


def format_number(value: float | int | None, digits: int = 0) -> str:
    """Grouped number in local format (``12,345``; ``12,345.6``)."""
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def format_percent(value: float | None, digits: int = 1) -> str:
    """Share 0..1 as a percentage (``87.5%``)."""
    if value is None:
        return "–"
    return f"{value * 100:.{digits}f}%"


def format_datetime(value: datetime | date | None) -> str:
    """``2026年11月23日 15:30`` in Chinese, ``2026-11-23 15:30`` in English."""
    if value is None:
        return "–"
    zh = current_language() == "zh"
    if isinstance(value, datetime):
        if zh:
            return f"{value.year}年{value.month}月{value.day}日 {value:%H:%M}"
        return f"{value:%Y-%m-%d %H:%M}"
    if zh:
        return f"{value.year}年{value.month}月{value.day}日"
    return f"{value:%Y-%m-%d}"


def init_app(app: Flask) -> None:
    """Expose ``t``, ``lang`` and the formatters to every template."""
    app.jinja_env.globals.update(t=t, js_messages=js_messages, current_language=current_language)
    app.jinja_env.filters.update(
        number=format_number, percent=format_percent, datetime=format_datetime
    )
