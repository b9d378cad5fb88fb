"""``gridmap import inspect FILE``: what a file holds and a draft profile to edit.

Public API::

    inspect_table(path, *, sheet=None, encoding=None, separator=None, rows=5, lang="zh")
        -> Inspection(summary, profile_yaml, table, matched)

The draft maps every header the built-in ``hotline-12345`` and ``open311`` profiles (and
gridmap's own names) recognise, lists the unrecognised headers as comments, and lists the
distinct values of the state, source, urgency and category columns (up to 30 each) as value
maps to complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gridmap import messages
from gridmap.imports.profiles import Profile, load_profile, match_columns
from gridmap.imports.tables import Table, normalise, read_table

_VALUE_FIELDS = ("state", "source", "urgency", "category_code")
_MAX_VALUES = 30


@dataclass
class Inspection:
    """The printable summary, the draft profile and what was matched."""

    summary: str
    profile_yaml: str
    table: Table
    matched: dict[str, str]


def _known_fields() -> tuple[list[str], list[Profile]]:
    from gridmap.imports.cases import FIELDS, default_profile

    return list(FIELDS), [load_profile("hotline-12345"), load_profile("open311"),
                          default_profile()]


def _match(table: Table) -> tuple[dict[str, str], Profile]:
    """Field → header over the known profiles (the first profile matching a header wins)."""
    fields, profiles = _known_fields()
    matched: dict[str, str] = {}
    best = profiles[0]
    best_n = -1
    for prof in profiles:
        found = match_columns(list(table.frame.columns), prof, fields)
        if len(found) > best_n:
            best, best_n = prof, len(found)
        for f, h in found.items():
            if f not in matched and h not in matched.values():
                matched[f] = h
    return matched, best


def draft_profile(table: Table, matched: dict[str, str], base: Profile) -> str:
    """A YAML profile mapping the matched headers, with the values to complete."""
    values: dict[str, dict[str, str]] = {}
    for f in _VALUE_FIELDS:
        if f not in matched:
            continue
        known = base.value_map(f)
        distinct = table.frame[matched[f]].astype(str).str.strip()
        uniq = [v for v in distinct.value_counts().index.tolist() if v][:_MAX_VALUES]
        values[f] = {v: known.get(normalise(v), "") for v in uniq}
    doc: dict[str, Any] = {
        "name": f"{table.path.stem}-profile",
        "columns": {f: [h] for f, h in matched.items()},
        "values": values,
        "dates": [f for f in base.dates if f in matched],
        "date_formats": list(base.date_formats),
        "timezone": base.timezone,
        "coords": base.coords,
        "defaults": dict(base.defaults),
    }
    if table.sheet is not None:
        doc["sheet"] = table.sheet
    if table.encoding not in (None, "utf-8", "utf-8-sig"):
        doc["encoding"] = table.encoding
    if table.separator not in (None, ","):
        doc["separator"] = table.separator
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)
    rest = [h for h in table.frame.columns if h not in matched.values()]
    if rest:
        text += "# unmapped columns: " + ", ".join(str(h) for h in rest) + "\n"
    return text


def inspect_table(path: Path | str, *, sheet: str | None = None, encoding: str | None = None,
                  separator: str | None = None, rows: int = 5, lang: str = "zh"
                  ) -> Inspection:
    """Read ``path`` and describe it (see the module docstring)."""
    table = read_table(path, sheet=sheet, encoding=encoding, separator=separator)
    matched, base = _match(table)
    lines = [messages.render("tables.inspect.file", {
        "file": table.path.name, "rows": len(table.frame), "columns": len(table.columns),
        "encoding": table.encoding or "-", "separator": repr(table.separator or "-"),
        "sheet": table.sheet or "-", "sheets": ", ".join(table.sheets) or "-"}, lang)]
    by_header = {h: f for f, h in matched.items()}
    for h in table.frame.columns:
        field = by_header.get(h, "?")
        sample = " | ".join(str(v) for v in table.frame[h].head(rows).tolist())
        lines.append(f"  {h} → {field}: {sample}")
    return Inspection(summary="\n".join(lines), profile_yaml=draft_profile(table, matched, base),
                      table=table, matched=matched)
