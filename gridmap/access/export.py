"""XLSX export of the planner's gap list (:func:`gridmap.access.coverage.gaps`).

Headers are Chinese by default (English with ``lang="en"``); cells are plain values (a
text starting with ``=`` is written as text, never as a formula).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING

GAP_COLUMNS: Mapping[str, tuple[str, str]] = {
    "unit_name": ("单元", "Unit"), "unit_code": ("编码", "Code"),
    "type_name": ("设施类型", "Facility type"), "tier": ("生活圈层级", "Tier"),
    "radius_m": ("步行半径(米)", "Walking radius (m)"),
    "residents": ("居民", "Residents"), "residents_covered": ("已覆盖居民", "Residents covered"),
    "residents_affected": ("未覆盖居民", "Residents not covered"),
    "share": ("覆盖率", "Coverage"), "buildings_affected": ("未覆盖楼栋", "Buildings not covered"),
}


def gaps_xlsx(rows: Iterable[Mapping[str, Any]], *, lang: str = "zh",
              title: str = "gaps") -> bytes:
    """The gap rows as an XLSX workbook (one sheet; coverage as a percentage cell)."""
    idx = 1 if lang == "en" else 0
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title[:31]
    ws.append([h[idx] for h in GAP_COLUMNS.values()])
    for r in rows:
        ws.append([r.get(k) if isinstance(r.get(k), int | float) or r.get(k) is None
                   else str(r.get(k)) for k in GAP_COLUMNS])
    share_col = list(GAP_COLUMNS).index("share") + 1
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = TYPE_STRING
        row[share_col - 1].number_format = "0.0%"
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
