"""Reference catalogues from any tabular file: ``gridmap import catalogue KIND FILE``.

Public API::

    import_catalogue_file(conn, kind, path, *, dry_run=False, replace_years=False,
                          sheet=None, encoding=None, separator=None, profile=None) -> dict
    catalogue_fields(kind) -> list[str]
    read_divisions(path, **read_options) -> (rows, skipped, problems)
    import_divisions(conn, path, *, dry_run=False, **read_options) -> dict

``facility-types``, ``event-categories`` and ``work-calendar`` keep their columns and their
validation (:func:`gridmap.reference.catalogue.import_catalogue`); the file may now be any
encoding (a UTF-8 BOM from Excel included), separator or workbook: it is read with
:func:`~gridmap.imports.tables.read_table` and handed over as plain UTF-8 CSV.

``divisions`` loads statistical division codes of any province into ``admin_division``:
columns ``code`` and ``name`` (also 代码/区划代码, 名称), optional parent column (``parent_code``,
``areaCode``, ``streetCode``, 上级代码 …; default the code's prefix). The level follows from the
code: 6 digits a district (县级), 9 a street (乡镇/街道), 12 a committee (居委会/村委会);
12-digit NBS codes padded with zeros (``310101000000``, ``310101002000``) are shortened;
province and city codes (2 and 4 digits; ``china-division``'s provinces/cities files) are
counted and skipped. Every problem is reported at once; nothing is written on error.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import Problem, ValidationError
from gridmap.imports.profiles import Profile, apply_profile
from gridmap.imports.tables import Table, normalise, read_table
from gridmap.reference import catalogue as reference_catalogue
from gridmap.reference import categories

KINDS = (*reference_catalogue.CATALOGUES, "divisions")
_LEVEL_BY_LENGTH = {6: "district", 9: "street", 12: "community"}
_CODE = ("code", "代码", "区划代码", "统计用区划代码", "编码")
_NAME = ("name", "名称", "区划名称", "单位名称")
_PARENT = ("parent_code", "parent", "上级代码", "上级区划代码", "streetCode", "areaCode")


_SHIPPED = {"facility-types": reference_catalogue.FACILITY_CATALOGUE,
            "event-categories": categories.EVENT_CATEGORIES_CSV}


def catalogue_fields(kind: str) -> list[str]:
    """The columns of catalogue ``kind``: those of the shipped file (``divisions``: code, name,
    parent_code)."""
    if kind == "divisions":
        return ["code", "name", "parent_code"]
    if kind == "work-calendar":  # its shipped file starts with comment lines
        return ["day", "kind", "name", "source"]
    return [str(c) for c in read_table(_SHIPPED[kind]).frame.columns]


def _mapped(table: Table, kind: str, profile: Profile) -> Table:
    """The table with its columns renamed and values mapped by ``profile``."""
    fields = catalogue_fields(kind)
    frame, problems = apply_profile(table, profile, fields, required=fields[:1])
    if problems:
        raise ValidationError("tables.cannot_map", problems, {"file": table.path.name})
    frame = frame.loc[:, [f for f in fields if frame[f].notna().any()]]
    return Table(frame=frame.astype(object).where(frame.notna(), ""), path=table.path,
                 encoding="mapped", columns=list(frame.columns))


def import_catalogue_file(conn: Connection, kind: str, path: Path | str, *,
                          dry_run: bool = False, replace_years: bool = False,
                          sheet: str | None = None, encoding: str | None = None,
                          separator: str | None = None,
                          profile: Profile | None = None) -> dict[str, Any]:
    """Import catalogue ``kind`` from ``path`` (any encoding, separator or workbook; with
    ``profile``, any column names and values).

    Returns
    -------
    dict
        As :func:`gridmap.reference.catalogue.import_catalogue` (``divisions``: see
        :func:`import_divisions`).
    """
    path = Path(path)
    if kind not in KINDS:
        raise ValidationError("reference.unknown_catalogue",
                              params={"kind": kind, "choices": KINDS})
    table = read_table(path, sheet=sheet, encoding=encoding, separator=separator)
    if profile is not None:
        table = _mapped(table, kind, profile)
    if kind == "divisions":
        return import_divisions(conn, table, dry_run=dry_run)
    if table.encoding in ("utf-8", "utf-8-sig") and table.separator == ",":
        # already what the catalogue readers take (BOM-safe; keeps work-calendar comments)
        return reference_catalogue.import_catalogue(conn, kind, path, dry_run=dry_run,
                                                    replace_years=replace_years)
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / f"{path.stem}.csv"  # same name in messages
        table.frame.to_csv(plain, index=False, encoding="utf-8")
        return reference_catalogue.import_catalogue(conn, kind, plain, dry_run=dry_run,
                                                    replace_years=replace_years)


def _column(columns: list[str], names: tuple[str, ...]) -> str | None:
    keys = {normalise(c): c for c in columns}
    return next((keys[normalise(n)] for n in names if normalise(n) in keys), None)


def _shorten(code: str) -> str:
    """12-digit NBS codes padded with zeros → the 6/9-digit county/street code."""
    if len(code) == 12 and code.endswith("000000") and code[4:6] != "00":
        return code[:6]
    if len(code) == 12 and code.endswith("000") and code[6:9] != "000":
        return code[:9]
    return code


def read_divisions(path: Path | str | Table, **read_options: Any
                   ) -> tuple[list[dict[str, str]], int, list[Problem]]:
    """The division rows of a file (or a table read already), the number of skipped
    province/city rows, the problems."""
    table = path if isinstance(path, Table) else read_table(path, **read_options)
    cols = [str(c) for c in table.frame.columns]
    code_col, name_col = _column(cols, _CODE), _column(cols, _NAME)
    parent_col = _column(cols, _PARENT)
    if code_col is None or name_col is None:
        raise ValidationError("tables.division_columns", params={
            "file": table.path.name, "columns": cols, "code": list(_CODE[:3]),
            "name": list(_NAME[:3])})
    rows: list[dict[str, str]] = []
    problems: list[Problem] = []
    skipped = 0
    seen: dict[str, str] = {}
    parents = table.frame[parent_col] if parent_col else None
    for i, (raw, name) in enumerate(zip(table.frame[code_col], table.frame[name_col],
                                        strict=True), start=1):
        code, name = _shorten(str(raw).strip()), str(name).strip()
        if code.isdigit() and len(code) in (2, 4):
            skipped += 1
            continue
        level = _LEVEL_BY_LENGTH.get(len(code)) if code.isdigit() else None
        if level is None:
            problems.append(Problem("tables.division_bad_code", {"code": code}, row=i,
                                    field=code_col))
            continue
        if not name:
            problems.append(Problem("tables.division_no_name", {"code": code}, row=i,
                                    field=name_col))
            continue
        if code in seen and seen[code] != name:
            problems.append(Problem("tables.division_conflict",
                                    {"code": code, "a": seen[code], "b": name}, row=i,
                                    field=name_col))
        seen[code] = name
        parent = _shorten(str(parents.iloc[i - 1]).strip()) if parents is not None else ""
        if not parent and level != "district":
            parent = code[:6] if level == "street" else code[:9]
        rows.append({"code": code, "level": level, "name": name,
                     "parent_code": parent if level != "district" else "",
                     "source": table.path.name})
    return rows, skipped, problems


def import_divisions(conn: Connection, path: Path | str | Table, *, dry_run: bool = False,
                     **read_options: Any) -> dict[str, Any]:
    """Upsert the division codes of ``path`` into ``admin_division`` (idempotent).

    Returns
    -------
    dict
        ``kind`` (divisions), ``rows``, ``inserted``, ``updated``, ``removed`` (0),
        ``skipped`` (province/city rows), ``levels`` (count per level), ``dry_run``.

    Raises
    ------
    ValidationError
        ``tables.divisions_invalid`` with every problem; nothing written.
    """
    rows, skipped, problems = read_divisions(path, **read_options)
    if problems:
        name = path.path.name if isinstance(path, Table) else Path(path).name
        raise ValidationError("tables.divisions_invalid", problems, {"file": name})
    unique = list({r["code"]: r for r in rows}.values())
    before = set(conn.execute(sa.text("SELECT code FROM admin_division WHERE code = ANY(:c)"),
                              {"c": [r["code"] for r in unique]}).scalars())
    with conn.begin_nested() as sp:
        if unique:
            conn.execute(sa.text(
                "INSERT INTO admin_division (code, level, name, parent_code, source) "
                "VALUES (:code, :level, :name, NULLIF(:parent_code, ''), :source) "
                "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, level = EXCLUDED.level,"
                " parent_code = EXCLUDED.parent_code, source = EXCLUDED.source"), unique)
        if dry_run:
            sp.rollback()
    levels: dict[str, int] = {}
    for r in unique:
        levels[r["level"]] = levels.get(r["level"], 0) + 1
    inserted = len({r["code"] for r in unique} - before)
    return {"kind": "divisions", "rows": len(rows) + skipped, "inserted": inserted,
            "updated": len(unique) - inserted, "removed": 0, "skipped": skipped,
            "levels": levels, "dry_run": dry_run}
