"""Text from outside: the one set of length limits and the checks every intake path applies.

Every text that comes in (the JSON API, Open311, CSV/GeoJSON files through the CLI) must be
a single value (not a list or an object), hold no NUL character (PostgreSQL cannot store
one) and no lone UTF-16 surrogate (not encodable as UTF-8), and be at most as long as its
limit in :data:`MAX_LENGTHS`. :func:`text_problem` checks one value (the web schemas use it);
:func:`check_columns` checks whole columns at once (the incident intake uses it) and blanks
the cells it refuses, so later checks never see them.

Problems carry the codes ``input.not_text``, ``input.nul_character``,
``input.invalid_unicode`` and ``input.too_long`` (params ``field``; ``max`` and ``length``
for ``too_long``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from gridmap.errors import Problem

MAX_LENGTHS: Mapping[str, int] = {
    # incidents (API, Open311, files)
    "external_id": 128,
    "category_code": 32,
    "description": 4000,
    "address": 500,
    "media_url": 2000,
    "reporter_name": 100,
    "reporter_phone": 40,
    "source": 32,
    "urgency": 32,
    "state": 32,
    "reported_at": 64,
    "lon": 64,
    "lat": 64,
    # grid plans
    "grid_name": 100,
    "responsible_party": 100,
    "note": 2000,
    # search, codes and other short texts
    "search": 100,
    "code": 64,
    "short": 200,
}
"""Maximum characters per kind of text. Incident columns use their own name; anything
without an entry is held to ``short``."""

DEFAULT_MAX = MAX_LENGTHS["short"]
MAX_JSON_DEPTH = 32
"""Deepest nesting of arrays and objects accepted in a JSON request body."""

_SURROGATE = re.compile("[\ud800-\udfff]")


def limit(kind: str) -> int:
    """The length limit of ``kind`` (:data:`MAX_LENGTHS`, else ``short``)."""
    return MAX_LENGTHS.get(kind, DEFAULT_MAX)


def bad_text(value: str) -> str | None:
    """``input.nul_character`` / ``input.invalid_unicode`` for unusable text, else ``None``."""
    if "\x00" in value:
        return "input.nul_character"
    if _SURROGATE.search(value):
        return "input.invalid_unicode"
    return None


def text_problem(value: Any, field: str, max_length: int | None = None) -> Problem | None:
    """The problem of one incoming value meant as text (``None`` if it is fine).

    ``None``, numbers and text are single values; lists, objects and booleans are not.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return Problem("input.not_text", {"field": field}, field=field)
    if not isinstance(value, str):
        return None
    code = bad_text(value)
    if code is not None:
        return Problem(code, {"field": field}, field=field)
    n = limit(field) if max_length is None else max_length
    if len(value) > n:
        return Problem("input.too_long", {"field": field, "max": n, "length": len(value)},
                       field=field)
    return None


def _utf8(text: str) -> bool:
    """True if ``text`` encodes as UTF-8 (no lone surrogates); faster than a regex."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _clean_text_column(vals: np.ndarray, n: int) -> bool:
    """True when a column of text (and blanks) is certainly fine: one join of the column,
    one search for NUL, one UTF-8 encode and the longest cell, no array per cell."""
    try:
        joined = "".join(vals)
        strs = vals
    except TypeError:  # blanks (NaN/None) among the text
        strs = vals[pd.notna(vals)]
        joined = "".join(strs)
    if "\x00" in joined or not _utf8(joined):
        return False
    return len(joined) <= n or max(map(len, strs), default=0) <= n


def _column_codes(s: pd.Series, n: int) -> np.ndarray | None:
    """Per cell: the problem code (or ``""``); ``None`` when no cell has one.

    Numbers, blanks and clean text columns (the common case) are settled by
    :func:`_clean_text_column`; only a column with a problem is looked at cell by cell.
    """
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        # Arrow text (pandas' default str): UTF-8 already, so no lone surrogates; NUL and
        # length are vectorised
        if not (s.str.contains("\x00", regex=False).fillna(False).any()
                or (s.str.len() > n).fillna(False).any()):
            return None
    vals = s.to_numpy(dtype=object)
    kind = pd.api.types.infer_dtype(vals, skipna=True)
    if kind in ("integer", "floating", "mixed-integer-float", "decimal", "empty"):
        return None  # numbers and blanks only
    if kind == "string" and _clean_text_column(vals, n):
        return None
    single = np.ones(len(vals), dtype=bool) if kind == "string" else np.fromiter(
        (v is None or (isinstance(v, (str, int, float)) and not isinstance(v, bool))
         for v in vals), dtype=bool, count=len(vals))
    is_str = np.fromiter((isinstance(v, str) for v in vals), dtype=bool, count=len(vals))
    strs = vals[is_str]
    codes = np.full(len(vals), "", dtype=object)
    length = np.zeros(len(vals), dtype=np.int64)
    length[is_str] = np.fromiter(map(len, strs), dtype=np.int64, count=len(strs))
    codes[length > n] = "input.too_long"
    joined = "".join(strs)
    if not _utf8(joined):
        sur = np.zeros(len(vals), dtype=bool)
        sur[is_str] = [not _utf8(v) for v in strs]
        codes[sur] = "input.invalid_unicode"
    if "\x00" in joined:
        nul = np.zeros(len(vals), dtype=bool)
        nul[is_str] = ["\x00" in v for v in strs]
        codes[nul] = "input.nul_character"
    codes[~single] = "input.not_text"
    return codes if (codes != "").any() else None


def check_columns(df: pd.DataFrame, columns: tuple[str, ...] | list[str]
                  ) -> tuple[pd.DataFrame, list[Problem]]:
    """Check the text ``columns`` of ``df`` at once; refused cells become ``None``.

    Returns
    -------
    frame, problems
        ``df`` itself when nothing is refused, else a copy with refused cells blanked; and
        one problem per refused cell (``row`` 1-based, ``field`` the column), every one.
    """
    out = df
    problems: list[Problem] = []
    for c in columns:
        if c not in df.columns:
            continue
        n = limit(c)
        codes = _column_codes(df[c], n)
        if codes is None:
            continue
        refused = codes != ""
        for r in np.flatnonzero(refused):
            params: dict[str, Any] = {"field": c}
            if codes[r] == "input.too_long":
                params.update(max=n, length=len(df[c].iloc[r]))
            problems.append(Problem(str(codes[r]), params, row=int(r) + 1, field=c))
        if out is df:
            out = df.copy()
        col = out[c].astype(object).to_numpy(copy=True)
        col[refused] = None
        out[c] = pd.Series(col, index=out.index, dtype=object)
    return out, problems


def json_problems(obj: Any, max_depth: int = MAX_JSON_DEPTH, max_problems: int = 100
                  ) -> list[Problem]:
    """Unusable text (NUL, lone surrogates) in any key or string of a parsed JSON document,
    and nesting deeper than ``max_depth`` (``input.json_too_deep``); ``field`` is the path."""
    problems: list[Problem] = []
    stack: list[tuple[Any, str, int]] = [(obj, "", 0)]
    while stack and len(problems) < max_problems:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            code = bad_text(value)
            if code is not None:
                problems.append(Problem(code, {"field": path or "body"}, field=path or None))
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth >= max_depth:
            problems.append(Problem("input.json_too_deep", {"max": max_depth}))
            break
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            name = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and bad_text(key) is not None:
                problems.append(Problem("input.bad_key", {"field": path or "body"},
                                        field=path or None))
                continue
            stack.append((item, name, depth + 1))
    return problems
