"""Input columns → the canonical columns of a boundary level.

A file names its columns as it likes (``CODE``, ``adcode``, ``名称``, …); :class:`FieldMap`
says which column holds which attribute and :func:`canonical_columns` builds the frame
with ``code``, ``name``, ``parent_code`` (+ building attributes), codes and names as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.errors import Problem
from gridmap.imports.geometry import ROW_COL
from gridmap.imports.levels import CODED_LEVELS, level_code


@dataclass(frozen=True)
class FieldMap:
    """Names of the input columns holding each attribute.

    When a name is left at its default, common aliases are also accepted
    (case-insensitive), e.g. ``CODE``, ``adcode``, ``名称``. A non-default name must exist.
    """

    code: str = "code"
    name: str = "name"
    parent: str = "parent_code"
    households: str = "households"
    residents: str = "residents"
    levels: str = "levels"
    population_source: str = "population_source"
    layer: str | None = None
    """Layer of a multi-layer file (GeoPackage); default: the one named like the level,
    else the first (with a warning naming the others)."""


DEFAULT_FIELDS = FieldMap()
"""The default column names (a shared default argument)."""


ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("code", "adcode", "division_code", "区划代码", "代码", "编码"),
    "name": ("name", "名称"),
    "parent": ("parent_code", "parent", "上级代码"),
    "households": ("households", "户数"),
    "residents": ("residents", "population", "人口", "人数"),
    "levels": ("levels", "building:levels", "floors", "层数"),
    "population_source": ("population_source",),
}
_TARGET = {"code": "code", "name": "name", "parent": "parent_code",
           "households": "households", "residents": "residents", "levels": "levels",
           "population_source": "population_source"}
INT_FIELDS = ("households", "residents", "levels")
POPULATION_SOURCES = ("imported", "estimated", "none")
"""Allowed ``population_source`` values; without the column it is ``imported`` when
households or residents are given, else ``none``."""


def text_value(v: Any) -> str | None:
    """One code/name as text: integral floats lose their ``.0``, blanks become ``None``."""
    if v is None or v is pd.NA or (isinstance(v, float | np.floating) and np.isnan(v)):
        return None
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    text = str(v).strip()
    return text or None


def as_code_text(values: pd.Series) -> pd.Series:
    """Codes/names as text (object dtype): integral floats lose their ``.0``, blanks and
    missing values (None, NaN, NA) become ``None``."""
    return pd.Series([text_value(v) for v in values], index=values.index, dtype=object)


def texts(values: pd.Series) -> np.ndarray:
    """:func:`as_code_text` as an object array."""
    return np.array([text_value(v) for v in values], dtype=object)


def whole_numbers(
    values: pd.Series, rows: pd.Series, field: str, target: str, problems: list[Problem]
) -> pd.Series:
    """``values`` as non-negative whole numbers (``Int64``); others are reported and emptied."""
    numbers = pd.to_numeric(values, errors="coerce")
    bad = values.notna() & (numbers.isna() | (numbers < 0) | (numbers % 1 != 0))
    problems.extend(
        Problem("imports.not_whole_number", {"field": target, "value": v}, row=int(r),
                field=field)
        for r, v in zip(rows[bad], values[bad], strict=True))
    return numbers.where(~bad).astype("Int64")


def canonical_columns(
    raw: gpd.GeoDataFrame, level: str, fields: FieldMap, row_problems: list[Problem]
) -> tuple[pd.DataFrame, list[Problem]]:
    """The canonical columns of ``raw`` (no geometry yet) and the file-level problems.

    Row-level problems (non-numeric building values) are appended to ``row_problems``;
    the returned problems (a mapped column that does not exist, no code column) refuse
    the file.
    """
    problems: list[Problem] = []
    columns = [c for c in raw.columns if c != raw.geometry.name]
    lower = {str(c).lower().strip(): c for c in columns}
    wanted = ["code", "name", "parent"] + (
        [*INT_FIELDS, "population_source"] if level == "building" else [])
    out = pd.DataFrame(index=raw.index)
    out[ROW_COL] = (raw[ROW_COL].to_numpy() if ROW_COL in raw.columns
                    else np.arange(1, len(raw) + 1))
    for key in wanted:
        configured = getattr(fields, key)
        default = getattr(FieldMap, key)
        candidates = (configured,) if configured != default else ALIASES[key]
        col = next((lower[c.lower()] for c in candidates if c.lower() in lower), None)
        target = _TARGET[key]
        if col is None:
            if configured != default:
                problems.append(Problem("imports.column_not_found",
                                        {"column": configured, "columns": list(map(str, columns))},
                                        field=configured))
            out[target] = None
        elif key in INT_FIELDS:
            out[target] = whole_numbers(as_code_text(raw[col]), out[ROW_COL], str(col), target,
                                        row_problems)
        else:
            out[target] = as_code_text(raw[col])
    if level in CODED_LEVELS and out["code"].isna().all() and not problems:
        problems.append(Problem(level_code("imports.no_code_column", level),
                                {"aliases": ALIASES["code"]}, field="code"))
    return out, problems
