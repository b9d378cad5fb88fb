"""Category mapping: an office's own category texts or codes → event catalogue codes.

The mapping is a two-column file (``external,code``; also ``外部类别,类别代码`` and the like,
any encoding or workbook :func:`~gridmap.imports.tables.read_table` reads) that a profile can
name (``categories: FILE``), and a table ``category_mapping`` in the database that
``gridmap import category-map FILE`` fills and ``gridmap export category-map FILE`` writes.

Public API::

    read_category_file(path) -> dict[str, str]          # external → code (validated shape)
    import_category_map(conn, path, *, dry_run=False) -> dict
    export_category_map(conn, path) -> int
    stored_mapping(conn) -> dict[str, str]               # normalised external → code
    resolve_categories(conn, values, extra) -> (codes, unmapped counts)
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import Problem, ValidationError
from gridmap.imports.tables import normalise as _normal
from gridmap.imports.tables import read_table

_EXTERNAL = ("external", "source", "外部类别", "来源类别", "原类别", "诉求类型", "问题分类",
             "事项类型", "事件类型", "类别名称", "名称")
_CODE = ("code", "category_code", "类别代码", "事件类别代码", "代码", "编码")


def _column(columns: list[str], names: tuple[str, ...]) -> str | None:
    keys = {_normal(c): c for c in columns}
    return next((keys[_normal(n)] for n in names if _normal(n) in keys), None)


def read_category_file(path: Path | str) -> dict[str, str]:
    """External category → code from a mapping file (every problem at once).

    Raises
    ------
    ValidationError
        ``tables.category_map_columns`` (no external/code columns),
        ``tables.category_map_invalid`` with an empty or conflicting row each.
    """
    table = read_table(path)
    frame = table.frame
    ext, code = _column(list(frame.columns), _EXTERNAL), _column(list(frame.columns), _CODE)
    if ext is None or code is None:
        raise ValidationError("tables.category_map_columns", params={
            "file": Path(path).name, "columns": list(frame.columns),
            "external": list(_EXTERNAL[:3]), "code": list(_CODE[:3])})
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    problems: list[Problem] = []
    for i, (e, c) in enumerate(zip(frame[ext], frame[code], strict=True), start=1):
        e, c = str(e).strip(), str(c).strip()
        if not e or not c:
            problems.append(Problem("tables.category_map_empty", row=i,
                                    field=ext if not e else code))
            continue
        key = _normal(e)
        if key in seen and seen[key] != c:
            problems.append(Problem("tables.category_map_conflict",
                                    {"external": e, "a": seen[key], "b": c}, row=i, field=code))
        seen[key] = c
        out[e] = c
    if problems:
        raise ValidationError("tables.category_map_invalid", problems,
                              {"file": Path(path).name})
    return out


def _catalogue(conn: Connection) -> dict[str, str]:
    """Normalised code, Chinese and English name → code, for every catalogue category."""
    out: dict[str, str] = {}
    for code, zh, en in conn.execute(sa.text(
            "SELECT code, name_zh, name_en FROM event_category ORDER BY code")):
        for key in (en, zh, code):  # a code wins over a name that happens to equal it
            out[_normal(key)] = code
        base = str(zh).split("（")[0]
        out.setdefault(_normal(base), code)
    return out


def import_category_map(conn: Connection, path: Path | str, *, dry_run: bool = False
                        ) -> dict[str, Any]:
    """Store a mapping file in ``category_mapping`` (upsert by external text).

    Codes not in the event catalogue are refused (``tables.category_map_unknown_code``).

    Returns
    -------
    dict
        ``rows``, ``inserted``, ``updated``, ``dry_run``.
    """
    mapping = read_category_file(path)
    known = set(conn.execute(sa.text("SELECT code FROM event_category")).scalars())
    problems = [Problem("tables.category_map_unknown_code", {"external": e, "code": c},
                        field="code") for e, c in mapping.items() if c not in known]
    if problems:
        raise ValidationError("tables.category_map_invalid", problems,
                              {"file": Path(path).name})
    before = set(conn.execute(sa.text("SELECT external_key FROM category_mapping")).scalars())
    rows = [{"k": _normal(e), "e": e, "c": c} for e, c in mapping.items()]
    with conn.begin_nested() as sp:
        if rows:
            conn.execute(sa.text(
                "INSERT INTO category_mapping (external_key, external, code) "
                "VALUES (:k, :e, :c) ON CONFLICT (external_key) DO UPDATE "
                "SET external = EXCLUDED.external, code = EXCLUDED.code, updated_at = now()"),
                rows)
        if dry_run:
            sp.rollback()
    inserted = len({r["k"] for r in rows} - before)
    return {"rows": len(rows), "inserted": inserted, "updated": len(rows) - inserted,
            "dry_run": dry_run}


def export_category_map(conn: Connection, path: Path | str) -> int:
    """Write the stored mapping as a UTF-8 CSV (``external,code,name_zh``); returns rows."""
    rows = conn.execute(sa.text(
        "SELECT m.external, m.code, c.name_zh FROM category_mapping m "
        "JOIN event_category c ON c.code = m.code ORDER BY m.code, m.external")).all()
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["external", "code", "name_zh"])
        w.writerows([tuple(r) for r in rows])
    return len(rows)


def stored_mapping(conn: Connection) -> dict[str, str]:
    """Normalised external text → code, from ``category_mapping``."""
    return {str(k): str(c) for k, c in conn.execute(sa.text(
        "SELECT external_key, code FROM category_mapping"))}


def resolve_categories(conn: Connection, values: pd.Series, extra: Mapping[str, str]
                       ) -> tuple[pd.Series, dict[str, int]]:
    """Catalogue code of every value, or ``None``; and the unmapped values with counts.

    A value is looked up, after normalisation, in ``extra`` (the profile's mapping), then the
    stored ``category_mapping``, then the catalogue's own codes and names.
    """
    table = _catalogue(conn)
    table.update(stored_mapping(conn))
    table.update({_normal(k): v for k, v in extra.items()})
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    mapped = [table.get(_normal(v)) for v in uniq.tolist()]
    out = pd.Series([*mapped, None], dtype=object).to_numpy()[codes]
    counts = pd.Series(codes[codes >= 0]).value_counts()
    unmapped = {str(uniq[i]): int(n) for i, n in counts.items() if mapped[int(i)] is None}
    return pd.Series(out, index=values.index, dtype=object), dict(
        sorted(unmapped.items(), key=lambda kv: (-kv[1], kv[0])))
