"""The audit log as an XLSX download: every entry matching a filter (never a cut list).

Rows are read with a server-side cursor and written by openpyxl's write-only workbook, so a
long log does not sit in memory twice. Headers in Chinese (English with ``lang="en"``); a text
that starts with ``=`` is written as text, never as a formula.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import TYPE_STRING
from sqlalchemy.engine import Connection

from gridmap.audit.log import AuditFilter, audit_sql, changes

COLUMNS: dict[str, tuple[str, str]] = {
    "at": ("时间", "Time"), "actor": ("操作人", "User"), "action": ("操作", "Action"),
    "object_type": ("对象类型", "Object type"), "object_id": ("对象", "Object"),
    "note": ("说明", "Note"), "changes": ("变更", "Changes"), "source": ("来源", "Source"),
    "ref": ("记录号", "Record"),
}
_BEIJING = dt.timezone(dt.timedelta(hours=8))


def _cell(ws: Any, value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(_BEIJING).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = TYPE_STRING
        return cell
    return value


def write_xlsx(conn: Connection, f: AuditFilter, out: Path | IO[bytes], *,
               lang: str = "zh") -> int:
    """Write every entry matching ``f`` (newest first) to ``out``; return how many."""
    idx = 1 if lang == "en" else 0
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("审计日志" if idx == 0 else "Audit log")
    ws.append([h[idx] for h in COLUMNS.values()])
    sql, params = audit_sql(f)
    rows = conn.execution_options(stream_results=True, max_row_buffer=2000).execute(
        sa.text(sql + " ORDER BY x.at DESC, x.source, x.ref DESC"), params).mappings()
    n = 0
    for r in rows:
        detail = r.get("detail") or {}
        diff = "; ".join(f"{k}: {b or '–'} → {a or '–'}" for k, b, a in
                         changes(detail.get("before"), detail.get("after")))
        values = {**r, "changes": diff}
        ws.append([_cell(ws, values.get(k)) for k in COLUMNS])
        n += 1
    wb.save(out)
    return n
