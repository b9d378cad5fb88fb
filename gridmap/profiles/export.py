"""XLSX export of a profile and its check-up (体检报告): one sheet per section.

Headers in Chinese by default (English with ``lang="en"``); cells are plain values, a text
starting with ``=`` is stored as text (never a formula); shares as percentage cells.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING
from openpyxl.worksheet.worksheet import Worksheet

Columns = Sequence[tuple[str, str, str]]

SUMMARY: Columns = (
    ("residents", "常住人口", "Residents"), ("households", "户数", "Households"),
    ("age_0_3", "0-3岁", "Aged 0-3"), ("age_3_6", "3-6岁", "Aged 3-6"),
    ("age_60_plus", "60岁以上", "Aged 60+"), ("age_80_plus", "80岁以上", "Aged 80+"),
    ("grid_workers", "网格员", "Grid workers"), ("buildings", "楼栋", "Buildings"),
    ("area_km2", "面积(平方公里)", "Area (km²)"), ("estates", "小区", "Estates"),
    ("grids", "网格", "Grids"), ("score", "生活圈达标率", "Life-circle score"),
    ("cases", "案件(统计期)", "Cases (window)"), ("open", "未结案件", "Open cases"),
    ("overdue", "超期未结", "Overdue"), ("on_time_rate", "按期结案率", "Closed on time"),
)
TYPES: Columns = (
    ("name_zh", "设施类型", "Facility type"), ("code", "编码", "Code"),
    ("tier", "生活圈层级", "Tier"), ("radius_m", "步行半径(米)", "Walking radius (m)"),
    ("facilities", "区内设施", "Facilities in area"), ("capacity", "容量", "Capacity"),
    ("residents", "居民", "Residents"), ("residents_covered", "已覆盖居民", "Covered"),
    ("share", "覆盖率", "Coverage"), ("residents_affected", "未覆盖居民", "Not covered"),
    ("status", "状态", "Status"),
)
GAPS: Columns = (
    ("community_name", "社区", "Community"), ("estate_name", "小区", "Estate"),
    ("type_code", "设施类型", "Facility type"), ("residents_affected", "未覆盖居民",
                                                 "Residents not covered"),
    ("buildings_affected", "未覆盖楼栋", "Buildings not covered"),
)
SITES: Columns = (
    ("type_code", "设施类型", "Facility type"), ("rank", "序号", "Rank"),
    ("residents_added", "新增覆盖居民", "Residents added"), ("community", "社区", "Community"),
    ("estate", "小区", "Estate"), ("road", "临近道路", "Nearest road"),
    ("lon", "经度", "Longitude"), ("lat", "纬度", "Latitude"),
)
CAPACITY: Columns = (
    ("type", "设施类型", "Facility type"), ("group", "服务人群", "Target group"),
    ("population", "服务人口", "Target population"),
    ("per_1000", "每千人供给", "Supply per 1,000"), ("estimated_share", "估算人口占比",
                                                 "Estimated share"),
    ("catchment_m", "服务半径(米)", "Catchment (m)"), ("decay", "距离衰减", "Decay"),
)
RECURRENT: Columns = (
    ("name_zh", "类别", "Category"), ("place", "地点", "Place"), ("cases", "案件数", "Cases"),
    ("open", "未结", "Open"), ("first_at", "首次", "First"), ("last_at", "最近", "Last"),
)
_PERCENT = {"share", "on_time_rate", "score", "estimated_share"}


def _cell(v: Any) -> Any:
    return v if v is None or isinstance(v, int | float) else str(v)


def _sheet(ws: Worksheet, cols: Columns, rows: Sequence[Mapping[str, Any]], idx: int) -> None:
    ws.append([c[1 + idx] for c in cols])
    for r in rows:
        ws.append([_cell(r.get(c[0])) for c in cols])
    for row in ws.iter_rows(min_row=2):
        for cell, col in zip(row, cols, strict=False):
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = TYPE_STRING
            if col[0] in _PERCENT:
                cell.number_format = "0.0%"
    ws.freeze_panes = "A2"


def _summary(profile: Mapping[str, Any]) -> dict[str, Any]:
    p, land = profile["people"], profile["land"]
    svc, cases = profile["services"], profile["cases"]["totals"]
    return {**p, **{k: land[k] for k in ("area_km2", "estates")}, "grids": len(land["grids"]),
            "score": svc.get("score"), **cases}


def profile_xlsx(profile: Mapping[str, Any], checkup: Mapping[str, Any] | None = None, *,
                 lang: str = "zh") -> bytes:
    """The profile (and optionally its check-up's candidate sites) as an XLSX workbook.

    Sheets: 概况 (summary), 设施覆盖 (every type), 缺口 (gaps), 供需比 (2SFCA), 案件
    (category × month), 反复问题 (recurrent), 候选点位 (candidate sites).
    """
    idx = 1 if lang == "en" else 0
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    area = profile["area"]
    ws.title = "Summary" if idx else "概况"
    ws.append([area["name"], area["code"]])
    summary = _summary(profile)
    for key, zh, en in SUMMARY:
        ws.append([en if idx else zh, _cell(summary.get(key))])
    svc = profile["services"]
    names = ("Coverage", "Gaps", "Capacity") if idx else ("设施覆盖", "缺口", "供需比")
    for name, cols, rows in zip(names, (TYPES, GAPS, CAPACITY),
                                (svc.get("types", []), svc.get("gaps", []),
                                 svc.get("capacity", [])), strict=True):
        _sheet(wb.create_sheet(name), cols, rows, idx)
    _cases_sheet(wb.create_sheet("Cases" if idx else "案件"), profile["cases"], idx)
    _sheet(wb.create_sheet("Recurrent" if idx else "反复问题"), RECURRENT,
           profile["cases"]["recurrent"], idx)
    if checkup is not None:
        sites = [{"type_code": code, **s} for code, got in checkup["sites"].items() for s in got]
        _sheet(wb.create_sheet("Sites" if idx else "候选点位"), SITES, sites, idx)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _cases_sheet(ws: Worksheet, cases: Mapping[str, Any], idx: int) -> None:
    months = list(cases["months"])
    ws.append(["Category" if idx else "类别", *months, "Total" if idx else "合计"])
    for c in cases["categories"]:
        ws.append([str(c["name_en"] if idx else c["name_zh"]), *c["counts"], c["total"]])
    ws.freeze_panes = "B2"
