"""Bad rows at scale: every problem of an import written out, summarised, never cut.

Public API::

    summarise(problems) -> list[ReasonCount]               # by code, most frequent first
    write_problem_report(problems, path, *, lang="zh", values=None) -> int
    bad_rows(problems) -> numpy array of 0-based row positions with an error
    write_rejects(frame, problems, path, *, lang="zh") -> int

The report CSV has one line per problem (``row, field, code, severity, reason, value``),
UTF-8 with a BOM so Excel opens the Chinese text; the reject file is the rejected source
rows (original headers) followed by a ``reasons`` column with every reason of that row.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from gridmap.errors import Problem


@dataclass(frozen=True)
class ReasonCount:
    """How many problems share one code, with the first rows and one example."""

    code: str
    severity: str
    count: int
    rows: tuple[int, ...]
    """Up to ten first row numbers (1-based)."""
    example: Problem


def summarise(problems: Sequence[Problem]) -> list[ReasonCount]:
    """Problems grouped by code and severity, most frequent first (errors before warnings)."""
    groups: dict[tuple[str, str], list[Problem]] = {}
    for p in problems:
        groups.setdefault((p.code, p.severity), []).append(p)
    out = [ReasonCount(code=c, severity=s, count=len(ps),
                       rows=tuple(p.row for p in ps if p.row is not None)[:10], example=ps[0])
           for (c, s), ps in groups.items()]
    return sorted(out, key=lambda r: (r.severity != "error", -r.count, r.code))


def write_problem_report(problems: Sequence[Problem], path: Path | str, *, lang: str = "zh",
                         values: pd.DataFrame | None = None,
                         columns: Mapping[str, str] | None = None) -> int:
    """Write every problem as one CSV line; returns the number of lines written.

    Parameters
    ----------
    values:
        The source frame; when given, the offending cell's value is written too
        (``columns`` maps our field names to the source headers).
    """
    columns = columns or {}
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["row", "field", "code", "severity", "reason", "value"])
        for p in sorted(problems, key=lambda p: (p.row is None, p.row or 0, p.code)):
            w.writerow([p.row if p.row is not None else "", p.field or "", p.code,
                        p.severity, p.render(lang), _value(values, columns, p)])
    return len(problems)


def _value(values: pd.DataFrame | None, columns: Mapping[str, str], p: Problem) -> str:
    if values is None or p.row is None or not p.field:
        return ""
    col = columns.get(p.field, p.field)
    if col not in values.columns or not 0 < p.row <= len(values):
        return ""
    return str(values[col].iloc[p.row - 1])


def bad_rows(problems: Sequence[Problem]) -> npt.NDArray[np.int64]:
    """0-based positions of the rows with at least one error (sorted, unique)."""
    rows = {p.row - 1 for p in problems if p.severity == "error" and p.row is not None}
    return np.array(sorted(rows), dtype=np.int64)


def file_errors(problems: Sequence[Problem]) -> list[Problem]:
    """Errors that belong to no row (a missing column, a bad option): they refuse the file."""
    return [p for p in problems if p.severity == "error" and p.row is None]


def write_rejects(frame: pd.DataFrame, problems: Sequence[Problem], path: Path | str, *,
                  lang: str = "zh") -> int:
    """The rejected rows of ``frame`` (source headers) plus a ``reasons`` column; returns the
    number of rows written (UTF-8 with BOM). The file is written even when empty."""
    rows = bad_rows(problems)
    reasons: dict[int, list[str]] = {}
    for p in problems:
        if p.severity == "error" and p.row is not None:
            where = f"{p.field}: " if p.field else ""
            reasons.setdefault(p.row - 1, []).append(where + p.render(lang))
    out = frame.iloc[rows].copy()
    out.insert(0, "source_row", rows + 1)
    out["reasons"] = ["; ".join(reasons[int(r)]) for r in rows]
    out.to_csv(path, index=False, encoding="utf-8-sig")
    return len(out)


def count_by_code(problems: Sequence[Problem]) -> dict[str, int]:
    """Problem counts by code (for JSON reports)."""
    return dict(Counter(p.code for p in problems))
