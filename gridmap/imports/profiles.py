"""Import profiles: how a source file's columns and values map to gridmap's fields.

Public API (used by every tabular import, ``--map PROFILE``)::

    load_profile(name_or_path) -> Profile
    apply_profile(table, profile, fields, *, required=()) -> (pandas.DataFrame, list[Problem])

A profile is a small YAML, TOML or JSON file, or the name of a built-in one (``open311``,
``hotline-12345``: ``gridmap/data/profiles/<name>.yaml``)::

    name: my-street-12345
    columns:                      # field -> source headers, first match wins
      external_id: [工单编号, 工单号]
      reported_at: [受理时间, 来电时间]
    values:                       # field -> {source value -> our value}
      state: {已办结: closed, 处理中: handling}
    categories: categories.csv    # external category -> catalogue code (file beside the profile)
    dates: [reported_at, closed_at]
    date_formats: ["%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M"]
    timezone: Asia/Shanghai       # of times written without a zone
    coords: gcj02                 # wgs84 | cgcs2000 | gcj02 | bd09 (the importer converts)
    defaults: {source: hotline_12345}
    sheet: 0                      # reading hints for read_table (optional)
    encoding: gb18030
    separator: ","

Headers and values are matched after Unicode NFKC normalisation (full-width → half-width),
case folding and removal of spaces, ``_`` and ``-``; a field's own name always matches.

:func:`apply_profile` returns a frame with exactly the requested ``fields`` as columns (text
stripped, ``None`` when empty; date fields as UTC timestamps, ``NaT`` when empty) and the
problems: ``tables.missing_column`` for a required field no header matches (and no default),
``tables.unreadable_date`` per row whose date no format reads. Values a map does not list
pass unchanged (the importer validates them). ``frame.attrs["source_columns"]`` records which
header each field came from. Coordinates are not converted here: the importer converts
``profile.coords`` explicitly (:mod:`gridmap.crs`).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gridmap.errors import Problem, ValidationError
from gridmap.imports.category_map import read_category_file
from gridmap.imports.tables import Table, excel_serial_to_datetime, normalise

BUILTIN = ("open311", "hotline-12345")
COORD_SYSTEMS = ("wgs84", "cgcs2000", "gcj02", "bd09")


@dataclass(frozen=True)
class Profile:
    """A parsed import profile (see the module docstring for the file format)."""

    name: str
    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    dates: tuple[str, ...] = ()
    date_formats: tuple[str, ...] = ()
    timezone: str = "Asia/Shanghai"
    coords: str = "wgs84"
    defaults: Mapping[str, str] = field(default_factory=dict)
    categories: Mapping[str, str] = field(default_factory=dict)
    """External category text/code → catalogue code (from the profile's ``categories``)."""
    sheet: str | int | None = None
    encoding: str | None = None
    separator: str | None = None
    path: Path | None = None

    def aliases(self, name: str) -> tuple[str, ...]:
        """Headers that map to field ``name``: the profile's list, then the name itself."""
        return (*self.columns.get(name, ()), name)

    def value_map(self, name: str) -> dict[str, str]:
        """Normalised source value → our value for field ``name`` (categories included)."""
        raw = dict(self.values.get(name, {}))
        if name == "category_code":
            raw = {**self.categories, **raw}
        return {normalise(k): str(v) for k, v in raw.items()}


def load_profile(name_or_path: str | Path) -> Profile:
    """A built-in profile by name (:data:`BUILTIN`) or a profile file (.yaml/.yml/.toml/.json).

    Raises
    ------
    ValidationError
        ``tables.profile_not_found`` (with the built-in names), ``tables.profile_unreadable``
        or ``tables.profile_invalid`` listing every problem of its content.
    """
    text_name = str(name_or_path)
    if text_name in BUILTIN:
        ref = resources.files("gridmap").joinpath("data", "profiles", f"{text_name}.yaml")
        return _parse(ref.read_text(encoding="utf-8"), ".yaml", text_name, None)
    path = Path(name_or_path)
    if not path.is_file():
        raise ValidationError("tables.profile_not_found",
                              params={"profile": text_name, "choices": BUILTIN})
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError("tables.profile_unreadable",
                              params={"file": path.name, "error": str(exc)}) from exc
    return _parse(text, path.suffix.lower(), path.stem, path)


def _load_doc(text: str, suffix: str, label: str) -> dict[str, Any]:
    try:
        if suffix == ".toml":
            doc: Any = tomllib.loads(text)
        elif suffix == ".json":
            doc = json.loads(text)
        else:
            import yaml

            doc = yaml.safe_load(text)
    except Exception as exc:  # noqa: BLE001 - yaml/toml/json each raise their own errors
        raise ValidationError("tables.profile_unreadable",
                              params={"file": label, "error": str(exc)}) from exc
    if not isinstance(doc, dict):
        raise ValidationError("tables.profile_unreadable",
                              params={"file": label, "error": "not a mapping"})
    return doc


_KEYS = {"name", "description", "columns", "values", "categories", "dates", "date_formats",
         "timezone", "coords", "defaults", "sheet", "encoding", "separator"}


def _parse(text: str, suffix: str, label: str, path: Path | None) -> Profile:
    doc = _load_doc(text, suffix, label)
    problems = [Problem("tables.profile_unknown_key", {"key": k, "choices": sorted(_KEYS)},
                        field=str(k)) for k in doc if k not in _KEYS]
    columns: dict[str, tuple[str, ...]] = {}
    for f, aliases in (doc.get("columns") or {}).items():
        columns[str(f)] = tuple(str(a) for a in ([aliases] if isinstance(aliases, str)
                                                 else aliases or []))
    values: dict[str, dict[str, str]] = {}
    for f, mapping in (doc.get("values") or {}).items():
        if not isinstance(mapping, dict):
            problems.append(Problem("tables.profile_bad_values", {"field": f}, field=str(f)))
            continue
        values[str(f)] = {str(k): str(v) for k, v in mapping.items()}
    coords = str(doc.get("coords") or "wgs84").lower()
    if coords not in COORD_SYSTEMS:
        problems.append(Problem("tables.profile_bad_coords",
                                {"coords": coords, "choices": COORD_SYSTEMS}, field="coords"))
    tz = str(doc.get("timezone") or "Asia/Shanghai")
    try:
        pd.Timestamp("2024-01-01").tz_localize(tz)
    except Exception:  # noqa: BLE001 - pytz/zoneinfo errors differ
        problems.append(Problem("tables.profile_bad_timezone", {"timezone": tz},
                                field="timezone"))
    categories = _categories(doc.get("categories"), path, problems)
    if problems:
        raise ValidationError("tables.profile_invalid", problems, {"file": label})
    return Profile(
        name=str(doc.get("name") or label), columns=columns, values=values,
        dates=tuple(str(d) for d in doc.get("dates") or ()),
        date_formats=tuple(str(d) for d in doc.get("date_formats") or ()),
        timezone=tz, coords=coords,
        defaults={str(k): str(v) for k, v in (doc.get("defaults") or {}).items()},
        categories=categories, sheet=doc.get("sheet"), encoding=doc.get("encoding"),
        separator=doc.get("separator"), path=path)


def _categories(spec: Any, path: Path | None, problems: list[Problem]) -> dict[str, str]:
    """Inline mapping, or a mapping file beside the profile (read by read_category_file)."""
    if not spec:
        return {}
    if isinstance(spec, dict):
        return {str(k): str(v) for k, v in spec.items()}
    base = path.parent if path is not None else Path.cwd()
    file = (base / str(spec)).resolve()
    try:
        return read_category_file(file)
    except ValidationError as exc:
        problems.append(Problem(exc.code, exc.params, field="categories"))
        problems.extend(exc.problems)
        return {}


def match_columns(headers: Sequence[str], profile: Profile, fields: Sequence[str]
                  ) -> dict[str, str]:
    """Field → source header, for the fields some header matches (first alias wins; a header
    is used for one field only)."""
    by_key: dict[str, str] = {}
    for h in headers:
        by_key.setdefault(normalise(h), h)
    out: dict[str, str] = {}
    used: set[str] = set()
    for f in fields:
        for alias in profile.aliases(f):
            hit = by_key.get(normalise(alias))
            if hit is not None and hit not in used:
                out[f] = hit
                used.add(hit)
                break
    return out


def apply_profile(table: Table | pd.DataFrame, profile: Profile, fields: Sequence[str], *,
                  required: Sequence[str] = ()) -> tuple[pd.DataFrame, list[Problem]]:
    """Rename, map and convert ``table`` to gridmap's ``fields`` (see the module docstring).

    Parameters
    ----------
    table:
        A :class:`~gridmap.imports.tables.Table` or a frame of text columns.
    profile:
        From :func:`load_profile`.
    fields:
        Our field names wanted in the result (its columns, in this order).
    required:
        Fields that must come from a header or a default (else ``tables.missing_column``).

    Returns
    -------
    (pandas.DataFrame, list[Problem])
        Same row order and index as the input; problems with 1-based row numbers.
    """
    src = table.frame if isinstance(table, Table) else table
    found = match_columns([str(c) for c in src.columns], profile, fields)
    problems: list[Problem] = []
    out = pd.DataFrame(index=src.index)
    for f in fields:
        if f in found:
            col = _texts(src[found[f]])
        else:
            col = pd.Series(None, index=src.index, dtype=object)
            if f in required and f not in profile.defaults:
                problems.append(Problem("tables.missing_column", {
                    "field": f, "aliases": list(profile.aliases(f))}, field=f))
        vmap = profile.value_map(f)
        if vmap:
            col = _map_values(col, vmap)
        if f in profile.defaults:
            col = col.where(col.notna(), profile.defaults[f])
        out[f] = col
    for f in profile.dates:
        if f in out.columns:
            out[f] = parse_dates(out[f], profile, f, problems)
    out.attrs["source_columns"] = found
    return out, problems


def _texts(s: pd.Series) -> pd.Series:
    """Stripped text, ``None`` for empty cells (unique values stripped once)."""
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    u = np.array([str(v).strip() or None for v in uniq.tolist()] + [None], dtype=object)
    return pd.Series(u[codes], index=s.index, dtype=object)


def _map_values(col: pd.Series, vmap: dict[str, str]) -> pd.Series:
    codes, uniq = pd.factorize(col, use_na_sentinel=True)
    mapped = [vmap.get(normalise(v), v) for v in uniq.tolist()]
    u = np.array([*mapped, None], dtype=object)
    return pd.Series(u[codes], index=col.index, dtype=object)


def parse_dates(col: pd.Series, profile: Profile, name: str, problems: list[Problem]
                ) -> pd.Series:
    """Text dates → UTC timestamps: the profile's formats, ISO 8601, Excel serial numbers,
    then any format pandas reads. Times without a zone are in ``profile.timezone``."""
    text = col.astype(object).where(col.notna(), None)
    result = np.full(len(col), np.datetime64("NaT"), dtype="datetime64[us]")  # UTC
    todo = text.notna().to_numpy(dtype=bool, copy=True)
    for fmt in (*profile.date_formats, "ISO8601", None):
        if not todo.any():
            break
        sub = text[todo]
        if fmt is None:
            serial = excel_serial_to_datetime(sub)
            got = _localise(serial, profile.timezone)
            rest = got.isna().to_numpy()
            if rest.any():
                got[rest] = _to_utc(sub[rest], "mixed", profile.timezone)
        else:
            got = _to_utc(sub, fmt, profile.timezone)
        ok = got.notna().to_numpy()
        idx = np.flatnonzero(todo)[ok]
        result[idx] = got[ok].dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
        todo[idx] = False
    for r in np.flatnonzero(todo):
        problems.append(Problem("tables.unreadable_date", {"value": str(text.iloc[r])},
                                row=int(r) + 1, field=name))
    return pd.Series(result, index=col.index).dt.tz_localize("UTC")


def _to_utc(sub: pd.Series, fmt: str, tz: str) -> pd.Series:
    try:
        parsed = pd.to_datetime(sub, format=fmt, errors="coerce")
    except (ValueError, TypeError):  # naive and zoned values mixed: one by one
        parsed = pd.Series([_one(v, fmt) for v in sub], index=sub.index, dtype=object)
        parsed = pd.to_datetime(parsed, utc=True, errors="coerce")
        return parsed.dt.as_unit("us")
    return _localise(parsed, tz)


def _one(value: Any, fmt: str) -> Any:
    try:
        return pd.Timestamp(pd.to_datetime(value, format=fmt))
    except (ValueError, TypeError):
        return pd.NaT


def _localise(parsed: pd.Series, tz: str) -> pd.Series:
    if parsed.dt.tz is None:
        parsed = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    return parsed.dt.tz_convert("UTC").dt.as_unit("us")
