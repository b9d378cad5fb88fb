"""Incidents from an office's own files: mapped columns and values, category mapping, case
history, bad rows at scale (``gridmap import incidents FILE [--map PROFILE] …``).

Public API::

    CaseOptions(profile=None, coords=None, unmapped_to=None, history=False, reject=False)
    read_cases(path, profile=None) -> Table
    prepare_cases(conn, table, options, params) -> Prepared
    import_cases(conn, table, options, *, actor, dry_run, params, source_file) -> CaseResult

Steps: :func:`~gridmap.imports.profiles.apply_profile` (the given profile, or one made of
gridmap's own Open311 column names), category resolution (profile mapping → stored
``category_mapping`` → catalogue codes and names; unmapped values counted, or imported under
``unmapped_to`` flagged ``category_review``), :func:`gridmap.incidents.intake.validate_rows`,
the history checks of :mod:`gridmap.imports.history`, then
:func:`gridmap.incidents.write.write_validated`. All-or-nothing unless ``reject``: then the
rows with errors are left out and returned for the reject file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import Problem, ValidationError
from gridmap.imports import history
from gridmap.imports.category_map import resolve_categories
from gridmap.imports.problems import bad_rows, file_errors
from gridmap.imports.profiles import Profile, apply_profile
from gridmap.imports.tables import Table, read_table

__all__ = ["FIELDS", "REQUIRED", "CaseOptions", "CaseResult", "Prepared", "default_profile",
           "import_cases", "prepare_cases", "read_cases", "read_table"]
from gridmap.incidents import addressing, intake
from gridmap.incidents import write as incident_write

FIELDS: tuple[str, ...] = (*intake.COLUMNS, *history.TIMES, "responsible_unit", "satisfaction",
                           "district_name", "street_name")
REQUIRED = ("category_code", "lon", "lat", "reported_at")


def default_profile() -> Profile:
    """gridmap's own column names and the Open311 aliases intake has always accepted."""
    columns: dict[str, list[str]] = {}
    for alias, name in intake.ALIASES.items():
        columns.setdefault(name, []).append(alias)
    return Profile(name="gridmap", columns={k: tuple(v) for k, v in columns.items()},
                   values={"state": {"open": "reported"}},
                   dates=("reported_at", *history.TIMES))


@dataclass(frozen=True)
class CaseOptions:
    """How to read and what to accept (from the command line or the web import page)."""

    profile: Profile | None = None
    coords: str | None = None
    """Coordinate system; default the profile's (wgs84 without a profile)."""
    unmapped_to: str | None = None
    """Catalogue code for categories nothing maps; such rows are flagged for review."""
    history: bool = False
    """Accept closed/evaluated cases and their lifecycle times (imported events)."""
    reject: bool = False
    """Import the good rows; bad rows are returned (for ``--reject-file``), not refused."""


@dataclass
class Prepared:
    """Validated rows and everything found on the way."""

    clean: pd.DataFrame
    problems: list[Problem]
    unmapped: dict[str, int]
    source_columns: dict[str, str] = field(default_factory=dict)
    geo: addressing.Geocoded | None = None
    """Address geocoding of the rows (issue #19): filled points, rows for the queue."""


@dataclass
class CaseResult:
    """The write report plus the problems (warnings, and errors of rejected rows)."""

    report: dict[str, Any]
    problems: list[Problem]
    unmapped: dict[str, int]
    rejected: int
    source_columns: dict[str, str]


def read_cases(path: Path | str, profile: Profile | None = None) -> Table:
    """Read an incident file: GeoJSON as before, anything tabular through read_table (with the
    profile's sheet/encoding/separator hints)."""
    path = Path(path)
    if path.suffix.lower() in (".geojson", ".json"):
        frame = intake.read_incident_file(path)
        return Table(frame=frame.astype(object), path=path,
                     columns=[str(c) for c in frame.columns])
    hints: dict[str, Any] = {}
    if profile is not None:
        hints = {"sheet": profile.sheet, "encoding": profile.encoding,
                 "separator": profile.separator}
    return read_table(path, **hints)


def _categories(conn: Connection, frame: pd.DataFrame, raw: pd.Series, profile: Profile,
                options: CaseOptions, problems: list[Problem]) -> dict[str, int]:
    """Resolve ``category_code`` of ``frame`` in place from the source texts ``raw``; the
    unmapped values with their counts."""
    extra = {**profile.categories, **profile.values.get("category_code", {})}
    codes, unmapped = resolve_categories(conn, raw, extra)
    frame["original_category"] = raw.where(raw.notna() & (raw != codes), None)
    missing = (codes.isna() & raw.notna()).to_numpy(dtype=bool)
    frame["category_review"] = False
    if options.unmapped_to and missing.any():
        known = conn.execute(sa.text("SELECT 1 FROM event_category WHERE code = :c"),
                             {"c": options.unmapped_to}).scalar()
        if known is None:
            raise ValidationError("tables.unknown_fallback_category",
                                  params={"code": options.unmapped_to})
        codes = codes.where(~missing, options.unmapped_to)
        frame["category_review"] = missing
    elif unmapped:
        listed = ", ".join(f"{v} ({n})" for v, n in unmapped.items())
        problems.append(Problem("tables.unmapped_categories",
                                {"n": len(unmapped), "rows": int(missing.sum()),
                                 "values": listed}, field="category_code"))
    frame["category_code"] = codes.where(codes.notna(), raw)
    return unmapped if not options.unmapped_to else {}


def prepare_cases(conn: Connection, table: Table, options: CaseOptions,
                  params: intake.IntakeParams) -> Prepared:
    """Map, resolve and validate every row (nothing written). See the module docstring."""
    profile = options.profile or default_profile()
    mapped, problems = apply_profile(table, profile, FIELDS, required=REQUIRED)
    if "address" in mapped.attrs.get("source_columns", {}):  # issue #19: rows placed by address
        problems = [p for p in problems if not (p.code == "tables.missing_column"
                                                and p.field in ("lon", "lat"))]
    if file_errors(problems):
        raise ValidationError("tables.cannot_map", problems, {"file": table.path.name})
    src = mapped.attrs.get("source_columns", {}).get("category_code")
    raw = mapped["category_code"]
    if src is not None:  # the file's own text, before the profile's value map
        raw = table.frame[src].astype(str).str.strip()
        raw = raw.where(raw != "", None)
    unmapped = _categories(conn, mapped, raw, profile, options, problems)
    coords = options.coords or profile.coords
    ts = pd.to_datetime(mapped["reported_at"], utc=True)  # intake reads report times as text
    iso = np.datetime_as_string(ts.dt.tz_localize(None).to_numpy("datetime64[us]"), unit="us")
    mapped["reported_at"] = pd.Series(np.char.add(iso.astype(object), "Z"), index=ts.index,
                                      dtype=object).where(ts.notna(), None)
    # --- address geocoding (issue #19): points from addresses; unsure rows go to the queue ---
    mapped, geo = addressing.geocode_intake(conn, mapped, coords=coords)
    clean, found = intake.validate_rows(conn, mapped, coords=coords, params=params)
    found = addressing.excuse_queued(found, geo)
    unreadable = {(p.row, p.field) for p in problems if p.code == "tables.unreadable_date"}
    problems += [p for p in found if not (p.code == "incidents.missing_report_time"
                                          and (p.row, p.field) in unreadable)]
    extra = ("original_category", "category_review", "responsible_unit", "satisfaction",
             *history.TIMES)
    for c in extra:
        clean[c] = mapped[c]  # same index: no conversion (to_numpy boxes timestamps)
    problems += history.check(conn, clean, options.history, params)
    return Prepared(clean=clean, problems=problems, unmapped=unmapped,
                    source_columns=dict(mapped.attrs.get("source_columns", {})), geo=geo)


def import_cases(conn: Connection, table: Table, options: CaseOptions, *,
                 actor: str | None = "cli", dry_run: bool = False,
                 params: intake.IntakeParams | None = None, source_file: str | None = None,
                 timings: dict[str, float] | None = None,
                 progress: Callable[[str, int, int | None], None] | None = None
                 ) -> CaseResult:
    """Import incidents from ``table`` (all-or-nothing, or good rows only with ``reject``).

    Raises
    ------
    ValidationError
        ``incidents.bad_rows`` with every problem (nothing written) when a row has an error
        and ``options.reject`` is off, or when the file itself cannot be mapped.
    """
    params = params or intake.IntakeParams()
    say = progress or (lambda stage, done, total: None)
    say("validate", 0, len(table.frame))
    t = time.perf_counter()
    prep = prepare_cases(conn, table, options, params)
    say("validate", len(table.frame), len(table.frame))
    if timings is not None:
        timings["map + validate"] = time.perf_counter() - t
    errors = [p for p in prep.problems if p.severity == "error"]
    rows = bad_rows(prep.problems)
    if file_errors(prep.problems) or (errors and not options.reject):
        raise ValidationError("incidents.bad_rows", prep.problems,
                              {"n": len(rows)})
    keep = np.ones(len(prep.clean), dtype=bool)
    keep[rows] = False
    if prep.geo is not None:  # issue #19: queued rows are not written as incidents
        prep.geo.queued &= keep
        keep &= ~prep.geo.queued
    say("write", 0, int(keep.sum()))
    report = incident_write.write_validated(
        conn, prep.clean[keep], actor=actor, dry_run=dry_run,
        source_file=source_file or table.path.name, params=params, timings=timings,
        history=options.history)
    if prep.geo is not None:
        addressing.finish_import(conn, prep.clean, prep.geo, report, dry_run=dry_run)
    say("write", int(keep.sum()), int(keep.sum()))
    report["rows"] = len(prep.clean)
    report["rejected"] = len(rows)
    report["review"] = int(prep.clean.loc[keep, "category_review"].sum())
    return CaseResult(report=report, problems=prep.problems, unmapped=prep.unmapped,
                      rejected=len(rows), source_columns=prep.source_columns)
