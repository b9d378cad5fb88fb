"""Routing rules from and to CSV/XLSX files (headers in Chinese or English).

Columns (any order; only 处置单位 is required)::

    顺序 position · 类别 category · 区域层级 area_level · 区域编码 area_code · 工单类型 urgency
    · 来源 source · 关键词 keywords · 处置单位 unit · 处置层级 level

Values may be written as codes or in Chinese: 应急单/重点单/常规单 for the order type, the
source labels (网格员巡查, 12345热线 …), 网格/社区/街道/区 for levels; keywords separated by
``|`` ``、`` ``;`` or ``,``. Rows are ordered by 顺序 when given, else by their order in the
file. An import is all-or-nothing (every problem reported at once, ``dry_run`` writes
nothing); it creates a new rule set (:func:`gridmap.dispatch.rules.create_set`).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy.engine import Connection

from gridmap.dispatch import rules
from gridmap.dispatch.params import LEVEL_LABELS, ORDER_LABELS
from gridmap.errors import Problem, ValidationError
from gridmap.imports.tables import read_table
from gridmap.incidents.intake import SOURCE_LABELS

HEADERS: dict[str, str] = {
    "position": "顺序", "category": "类别", "area_level": "区域层级", "area_code": "区域编码",
    "urgency": "工单类型", "source": "来源", "keywords": "关键词", "unit": "处置单位",
    "level": "处置层级"}
"""Field → Chinese header (export writes these; import accepts both)."""
ALIASES: dict[str, str] = {
    **{zh: f for f, zh in HEADERS.items()}, **{f: f for f in HEADERS},
    "紧急程度": "urgency", "单位": "unit", "单位编码": "unit", "层级": "level",
    "类别编码": "category", "order_type": "urgency", "unit_code": "unit"}
AREA_LABELS = {"街道": "street", "社区": "community", "网格": "grid"}
SHEETS = ("派单规则", "rules")
"""A workbook sheet with one of these names is read; else the first sheet."""


def _value(field: str, text: str) -> str:
    """A cell value with Chinese labels mapped to codes."""
    labels: dict[str, str] = {
        "urgency": {zh: k for k, zh in ORDER_LABELS.items()} | {"应急": "urgent", "重点": "key",
                                                                 "常规": "normal"},
        "source": {zh: k for k, zh in SOURCE_LABELS.items()},
        "level": {zh: k for k, zh in LEVEL_LABELS.items()},
        "area_level": AREA_LABELS,
    }.get(field, {})
    return labels.get(text, text)


def read_rules(path: Path | str) -> list[dict[str, Any]]:
    """Rule rows of a CSV/XLSX file, in evaluation order (not validated against the database).

    Raises
    ------
    ValidationError
        ``dispatch.invalid_rules`` for unknown columns, a missing 处置单位 column or bad
        顺序 values (every problem at once); file errors of
        :func:`gridmap.imports.tables.read_table`.
    """
    table = read_table(path)
    named = [s for s in table.sheets if s in SHEETS]
    if named and table.sheet != named[0]:
        table = read_table(path, sheet=named[0])
    problems: list[Problem] = []
    cols = {c: ALIASES.get(c.strip()) for c in table.frame.columns}
    unknown = [c for c, f in cols.items() if f is None]
    if unknown:
        problems.append(Problem("dispatch.unknown_fields", {"fields": unknown}))
    if "unit" not in cols.values():
        problems.append(Problem("dispatch.unit_column_missing", {}))
    out: list[dict[str, Any]] = []
    for n, rec in enumerate(table.frame.to_dict("records"), start=1):
        row = {f: _value(f, str(rec[c]).strip()) for c, f in cols.items() if f}
        pos = row.pop("position", "")
        if pos and not pos.isdigit():
            problems.append(Problem("dispatch.bad_position", {"value": pos}, row=n,
                                    field="position"))
        out.append({"_pos": int(pos) if pos.isdigit() else n, "_row": n, **row})
    if problems:
        raise ValidationError("dispatch.invalid_rules", problems)
    out.sort(key=lambda r: (r["_pos"], r["_row"]))
    return [{k: v for k, v in r.items() if not k.startswith("_")} for r in out]


def import_rules(conn: Connection, path: Path | str, *, actor: str | None,
                 note: str | None = None, activate: bool = False, dry_run: bool = False
                 ) -> dict[str, Any]:
    """Validate a rules file and store it as a new set (optionally active).

    Returns ``{"rules": n, "set_id": id | None, "active": bool, "dry_run": bool}``;
    with ``dry_run`` the rules are only validated.
    """
    rows = read_rules(path)
    if dry_run:
        return {"rules": len(rules.validate_rules(conn, rows)), "set_id": None,
                "active": False, "dry_run": True}
    set_id = rules.create_set(conn, rows, actor=actor, note=note or Path(path).name,
                              activate=activate)
    return {"rules": len(rows), "set_id": set_id, "active": activate, "dry_run": False}


def export_rules(conn: Connection, path: Path | str, set_id: int | None = None) -> int:
    """Write a rule set (default: the active one) as CSV (UTF-8 with BOM, opens in Excel) or
    XLSX (by the file suffix) with the Chinese headers; returns the number of rules."""
    path = Path(path)
    fields = list(HEADERS)
    rows = [[("|".join(r["keywords"]) if f == "keywords" and r["keywords"] else
              ("" if r[f] is None else r[f])) for f in fields]
            for r in rules.get_rules(conn, set_id)]
    header = [HEADERS[f] for f in fields]
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        wb = Workbook()
        ws = wb.create_sheet(SHEETS[0], 0)
        wb.remove(wb.worksheets[1])
        ws.append(header)
        for row in rows:
            ws.append(row)
        wb.save(path)
    else:
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(rows)
    return len(rows)
