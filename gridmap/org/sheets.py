"""Reading the org spreadsheets: which sheet is which (units 单位, staff 人员, assignments
网格分配), and their columns under Chinese or English headers.

A workbook's sheets are recognised by name (``单位``/``units``, ``人员``/``staff``,
``网格分配``/``assignments``) or, failing that, by their headers; a CSV file by its headers
(or by the kind the caller names). Files are read with :func:`gridmap.imports.tables.read_table`
(UTF-8 or GB18030 text, any separator, XLSX/XLS/ODS).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from gridmap.errors import Problem, ValidationError
from gridmap.imports.tables import Table, read_table

KINDS_OF_SHEET: tuple[str, ...] = ("units", "staff", "assignments")
SHEET_NAMES: Mapping[str, tuple[str, ...]] = {
    "units": ("单位", "units", "unit", "单位信息"),
    "staff": ("人员", "staff", "people", "人员信息", "岗位"),
    "assignments": ("网格分配", "assignments", "grid assignments", "网格", "网格员分配"),
}
COLUMNS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "units": {
        "code": ("单位编码", "编码", "code"), "name": ("单位名称", "名称", "name"),
        "kind": ("类型", "单位类型", "kind"), "line": ("条块", "line"),
        "level": ("层级", "级别", "level"),
        "parent": ("上级单位", "上级单位编码", "上级", "parent"),
        "contact_name": ("联系人", "contact_name", "contact"),
        "contact_phone": ("电话", "联系电话", "contact_phone", "phone"),
        "areas": ("服务区域", "区域", "areas"),
        "webhook_url": ("推送地址", "webhook_url", "webhook"),
    },
    "staff": {
        "username": ("用户名", "账号", "username"), "display_name": ("姓名", "display_name",
                                                                  "name"),
        "unit": ("所属单位", "单位", "单位编码", "unit"), "posts": ("岗位", "posts", "post"),
    },
    "assignments": {
        "username": ("用户名", "账号", "网格员", "username"),
        "grid_code": ("网格编码", "网格", "grid_code", "grid"),
        "estate": ("小区", "小区编码", "小区名称", "estate"), "role": ("角色", "role"),
        "duty": ("职责/值班时间", "职责", "值班时间", "duty"),
        "valid_from": ("起始日期", "开始日期", "生效日期", "valid_from"),
        "valid_to": ("结束日期", "截止日期", "valid_to"),
    },
}
REQUIRED: Mapping[str, tuple[str, ...]] = {
    "units": ("code", "name", "kind"), "staff": ("username",),
    "assignments": ("username", "grid_code"),
}
FIRST_ROW = 2
"""Spreadsheet row of the first data row (row 1 holds the headers)."""


@dataclass
class Sheet:
    """One sheet's rows under field names, where it came from and its header per field."""

    kind: str
    source: str
    rows: list[dict[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def locate(self, problems: list[Problem]) -> list[Problem]:
        """Problems with their field shown as ``sheet:header`` (e.g. ``人员:岗位``)."""
        return [replace(p, field=f"{self.source}:{self.headers.get(p.field or '', p.field)}"
                        if p.field else self.source) for p in problems]


def _norm(name: str) -> str:
    return name.strip().lower().replace(" ", "")


def _lookup(kind: str) -> dict[str, str]:
    return {_norm(alias): f for f, aliases in COLUMNS[kind].items() for alias in aliases}


def guess_kind(columns: list[str]) -> str | None:
    """The sheet kind whose required headers are all present (``None`` if none fits)."""
    for kind in ("assignments", "units", "staff"):
        names = {_lookup(kind).get(_norm(c)) for c in columns}
        if all(r in names for r in REQUIRED[kind]):
            return kind
    return None


def to_sheet(table: Table, kind: str, source: str) -> tuple[Sheet, list[Problem]]:
    """Map a table's headers to fields; unknown headers are warnings, missing required ones
    errors."""
    lookup = _lookup(kind)
    sheet = Sheet(kind, source)
    problems: list[Problem] = []
    mapping: dict[str, str] = {}
    for col in table.frame.columns:
        f = lookup.get(_norm(str(col)))
        if f is None:
            problems.append(Problem("org.unknown_column", {"column": str(col)}, field=source,
                                    severity="warning"))
        elif f not in sheet.headers:
            mapping[str(col)] = f
            sheet.headers[f] = str(col)
    for f in REQUIRED[kind]:
        if f not in sheet.headers:
            problems.append(Problem("org.missing_column", {
                "column": COLUMNS[kind][f][0], "sheet": source}, field=source))
    frame = table.frame[list(mapping)].rename(columns=mapping)
    sheet.rows = [{k: str(v) for k, v in r.items()} for r in frame.to_dict("records")]
    return sheet, problems


def read_org_file(path: Path | str, kind: str | None = None
                  ) -> tuple[dict[str, Sheet], list[Problem]]:
    """The units/staff/assignments sheets of a workbook or CSV file.

    ``kind`` forces the kind of a single-table file. Raises ValidationError when the file
    cannot be read or no sheet is recognised.
    """
    path = Path(path)
    first = read_table(path)
    tables = [first]
    if first.sheets and kind is None:
        tables = [first] + [read_table(path, sheet=s) for s in first.sheets[1:]]
    out: dict[str, Sheet] = {}
    problems: list[Problem] = []
    for t in tables:
        source = t.sheet or path.name
        k = kind or next((k for k, names in SHEET_NAMES.items()
                          if _norm(t.sheet or "") in {_norm(n) for n in names}), None)
        k = k or guess_kind([str(c) for c in t.frame.columns])
        if k is None:
            problems.append(Problem("org.unknown_sheet", {"sheet": source}, field=source,
                                    severity="warning"))
            continue
        if k in out:
            problems.append(Problem("org.sheet_twice", {"sheet": source, "kind": k},
                                    field=source))
            continue
        out[k], found = to_sheet(t, k, source)
        problems += found
    if not out:
        raise ValidationError("org.import_invalid", [*problems, Problem(
            "org.no_sheets", {"file": path.name})])
    return out, problems
