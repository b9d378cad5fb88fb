"""XLSX exports of the workspace: the case list's selection and a community's 三张清单.

Headers are Chinese by default (English with ``lang="en"``); cells are plain values (no
formula: a text starting with ``=`` is written as text). Reporter data are exported as the
caller passes them (mask them first with :func:`gridmap.accounts.scope.masked`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING

Columns = Mapping[str, tuple[str, str]]

CASE_COLUMNS: Columns = {
    "case_no": ("案卷号", "Case no."), "id": ("编号", "ID"),
    "category_name": ("类别", "Category"), "state_label": ("状态", "State"),
    "urgency_label": ("工单类型", "Order type"), "source_label": ("来源", "Source"),
    "level": ("处置层级", "Level"), "unit_name": ("处置单位", "Unit"),
    "community_name": ("社区", "Community"), "grid_code": ("网格", "Grid"),
    "address": ("地址", "Address"), "description": ("描述", "Description"),
    "reporter_name": ("上报人", "Reporter"), "reporter_phone": ("电话", "Phone"),
    "reported_at": ("上报时间", "Reported"), "due_at": ("处置时限", "Due"),
    "light": ("督办灯", "Light"), "closed_at": ("结案时间", "Closed"),
    "satisfaction_score": ("满意度", "Satisfaction"),
}
OPEN_COLUMNS: Columns = {
    "case_no": ("案卷号", "Case no."), "category_name": ("类别", "Category"),
    "state_label": ("状态", "State"), "grid_code": ("网格", "Grid"),
    "address": ("地址", "Address"), "description": ("描述", "Description"),
    "unit_name": ("处置单位", "Unit"), "reported_at": ("上报时间", "Reported"),
    "due_at": ("处置时限", "Due"),
}
RECURRENT_COLUMNS: Columns = {
    "category_name": ("类别", "Category"), "grid_code": ("网格", "Grid"),
    "cases": ("案件数", "Cases"), "open_cases": ("未结", "Open"),
    "last_reported_at": ("最近上报", "Last reported"),
}
FACILITY_COLUMNS: Columns = {
    "type_name": ("设施类型", "Facility type"), "name": ("名称", "Name"),
    "distance_m": ("距社区(米)", "Distance (m)"),
}
SERVICE_COLUMNS: Columns = {
    "name": ("服务", "Service"), "kind": ("类别", "Kind"), "provider": ("提供方", "Provider"),
    "contact": ("联系方式", "Contact"), "hours": ("时间", "Hours"), "note": ("备注", "Note"),
}
SOLVED_COLUMNS: Columns = {
    "case_no": ("案卷号", "Case no."), "category_name": ("类别", "Category"),
    "address": ("地址", "Address"), "description": ("描述", "Description"),
    "unit_name": ("处置单位", "Unit"), "closed_at": ("结案时间", "Closed"),
    "outcome": ("处理结果", "Outcome"), "satisfaction_score": ("满意度", "Satisfaction"),
    "solved": ("是否解决", "Solved"),
}


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else \
            value.astimezone(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None)
    if isinstance(value, bool | int | float | dt.date) or value is None:
        return value
    return str(value)


def _sheet(wb: Workbook, title: str, rows: Iterable[Mapping[str, Any]], cols: Columns,
           idx: int, first: bool) -> None:
    ws = wb.active if first else wb.create_sheet()
    assert ws is not None
    ws.title = title
    ws.append([h[idx] for h in cols.values()])
    for r in rows:
        ws.append([_cell(r.get(k)) for k in cols])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = TYPE_STRING


def write_sheets(out: Path | IO[bytes],
                 sheets: Sequence[tuple[tuple[str, str], Iterable[Mapping[str, Any]], Columns]],
                 lang: str = "zh") -> None:
    """Write ``(titles (zh, en), rows, columns)`` sheets as one workbook to ``out``."""
    idx = 0 if lang == "zh" else 1
    wb = Workbook()
    for n, (titles, rows, cols) in enumerate(sheets):
        _sheet(wb, titles[idx], rows, cols, idx, n == 0)
    wb.save(out)


def export_cases(rows: Iterable[Mapping[str, Any]], out: Path | IO[bytes],
                 lang: str = "zh") -> None:
    """The case list's selection as one sheet."""
    write_sheets(out, [(("案件", "cases"), rows, CASE_COLUMNS)], lang)


def export_lists(lists: Mapping[str, Any], out: Path | IO[bytes], lang: str = "zh") -> None:
    """A community's 三张清单 (:func:`gridmap.cases.lists.three_lists`) as five sheets."""
    write_sheets(out, [
        (("问题清单", "problems"), lists["problems"]["open"], OPEN_COLUMNS),
        (("反复发生", "recurrent"), lists["problems"]["recurrent"], RECURRENT_COLUMNS),
        (("服务清单-设施", "services-facilities"), lists["services"]["facilities"],
         FACILITY_COLUMNS),
        (("服务清单-服务", "services-own"), lists["services"]["own"], SERVICE_COLUMNS),
        (("解决清单", "solved"), lists["solved"], SOLVED_COLUMNS),
    ], lang)
