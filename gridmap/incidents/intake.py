"""What comes in: intake parameters, the report sources, and reading and validating
incident rows before they are written (:mod:`gridmap.incidents.write`).

Intake is Open311-shaped: ``service_code`` (category code), ``lat``/``long``, ``description``,
``media_url``, ``status`` (open/closed or an internal state). :func:`validate_rows` checks
every row at once and reports every problem (row numbers 1-based) as message codes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import crs, inputs
from gridmap.config import Settings, params_from_settings
from gridmap.errors import Problem, ValidationError
from gridmap.incidents.states import STATES
from gridmap.reference import workcal
from gridmap.reference.categories import URGENCIES

SOURCES: tuple[str, ...] = ("patrol", "hotline_12345", "public", "video", "iot", "referral")
SOURCE_LABELS = {"patrol": "网格员巡查", "hotline_12345": "12345热线", "public": "群众举报",
                 "video": "视频监控", "iot": "物联感知", "referral": "上级交办"}
SOURCE_ALIASES = {"hotline": "hotline_12345", "12345": "hotline_12345"}


@dataclass(frozen=True)
class IntakeParams:
    """Intake parameters (the shared defaults come from :class:`gridmap.config.Settings`)."""

    near_boundary_m: float = Settings.near_boundary_m
    duplicate_radius_m: float = Settings.duplicate_radius_m
    duplicate_window_hours: float = Settings.duplicate_window_hours
    outside_tolerance_m: float = Settings.outside_tolerance_m
    """Points farther than this outside every street/district are refused ("outside the
    district"); closer ones are kept and fall to the nearest grid (属地兜底)."""
    default_time_limit: float = 1.0
    default_time_unit: str = "working_day"
    """Applied when a category has no time limit (reference/cases.md §6) [unverified]."""
    rebuild_indexes_from_rows: int = 200_000
    """Bulk writes of at least this many rows drop the secondary indexes, unique and foreign
    key constraints of ``incident``/``incident_event`` and rebuild them after the COPY (same
    transaction; the table is locked meanwhile)."""
    rebuild_indexes_max_ratio: float = 2.0
    """No rebuild when the table already holds more than this many times the new rows:
    rebuilding costs in proportion to the whole table, inserting to the new rows only."""
    satisfaction_scale_file: str = Settings.satisfaction_scale_file
    """An office's satisfaction scale file (empty: the shipped one, gridmap.reference.satisfaction)."""
    calendar: workcal.CalendarParams = field(default_factory=workcal.CalendarParams)
    """Work periods and weekend of the working clock (the holidays come from the database)."""

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> IntakeParams:
        """Parameters from a :class:`~gridmap.config.Settings` plus explicit overrides."""
        values: dict[str, Any] = {"calendar": workcal.CalendarParams.from_settings(settings)}
        values.update(overrides)
        return params_from_settings(cls, settings, **values)


# --------------------------------------------------------------------------------------
# reading input
# --------------------------------------------------------------------------------------

_ALIASES = {
    "service_request_id": "external_id", "id": "external_id",
    "service_code": "category_code", "category": "category_code",
    "long": "lon", "lng": "lon", "longitude": "lon", "x": "lon",
    "latitude": "lat", "y": "lat",
    "requested_datetime": "reported_at", "reported": "reported_at", "time": "reported_at",
    "address_string": "address", "status": "state", "phone": "reporter_phone",
    "name": "reporter_name",
}
ALIASES = _ALIASES
"""Other names of our columns (Open311 and common English headers) → our column."""
COLUMNS = ("external_id", "category_code", "lon", "lat", "reported_at", "description",
           "address", "media_url", "state", "source", "urgency", "reporter_name",
           "reporter_phone")


def _read_geojson(path: Path) -> pd.DataFrame:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationError("incidents.unreadable_geojson",
                              params={"file": path.name, "error": str(exc)}) from exc
    recs = []
    for f in doc.get("features", []):
        props = dict(f.get("properties") or {})
        geom = f.get("geometry") or {}
        coords = geom.get("coordinates") if geom.get("type") == "Point" else None
        props["lon"], props["lat"] = (coords[0], coords[1]) if coords else (None, None)
        recs.append(props)
    return pd.DataFrame.from_records(recs)


def read_incident_file(path: Path) -> pd.DataFrame:
    """Read a CSV or GeoJSON of incidents into a frame of text columns (Open311 names allowed).

    Raises
    ------
    ValidationError
        The file cannot be read or parsed.
    """
    path = Path(path)
    if path.suffix.lower() in (".geojson", ".json"):
        df = _read_geojson(path)
    else:
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise ValidationError("incidents.unreadable_csv",
                                  params={"file": path.name, "error": str(exc)}) from exc
    return normalise_columns(df)


def normalise_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Rename Open311/alias columns to ours and add missing optional columns."""
    df = df.rename(columns={c: _ALIASES.get(c.strip().lower(), c.strip().lower())
                            for c in df.columns})
    df = df.loc[:, ~df.columns.duplicated()]
    for c in COLUMNS:
        if c not in df.columns:
            df[c] = None
    return df


# --------------------------------------------------------------------------------------
# validating input
# --------------------------------------------------------------------------------------

INTAKE_STATES = ("", "reported", "open")
"""What a new case may say about its state: nothing, or the first state (信息收集)."""


def starting_state_only(rec: Mapping[str, Any]) -> dict[str, Any]:
    """``rec`` without ``state``/``status``, which may only name the first state.

    A single create (API, Open311) always starts at 信息收集; later states come through
    transitions, or a flagged history import.

    Raises
    ------
    ValidationError
        ``input.state_not_allowed`` for each of ``state``/``status`` naming anything else.
    """
    bad = []
    for key in ("state", "status"):
        value = rec.get(key)
        if value is not None and not (isinstance(value, str)
                                      and value.strip() in INTAKE_STATES):
            bad.append(Problem("input.state_not_allowed",
                               {"field": key, "value": str(value)[:40]}, field=key))
    if bad:
        raise ValidationError("incidents.incident_invalid", bad)
    return {k: v for k, v in rec.items() if k not in ("state", "status")}


_Flag = Callable[..., None]
"""``bad(mask, field, code, params=None)``: one problem per flagged row (every row)."""


def _district_region(conn: Connection) -> tuple[tuple[float, float, float, float] | None, Any]:
    row = conn.execute(sa.text(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), ST_AsBinary(u) FROM ("
        " SELECT ST_Extent(geom)::geometry AS e, ST_Union(geom) AS u FROM ("
        "  SELECT geom FROM district UNION ALL SELECT geom FROM street) s) t")).one()
    if row[0] is None:
        return None, None
    return (row[0], row[1], row[2], row[3]), shapely.from_wkb(bytes(row[4]))


def _outside(union: Any, region: tuple[float, float, float, float],
             lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64],
             check: npt.NDArray[np.bool_], tolerance_m: float) -> npt.NDArray[np.bool_]:
    """Where a checked point lies farther than ``tolerance_m`` outside ``union``."""
    outside = np.zeros(len(lon), dtype=bool)
    mcrs = crs.metric_crs(*region)
    zone = shapely.buffer(crs.to_metric([union], mcrs)[0], tolerance_m)
    shapely.prepare(zone)
    x, y = crs.project_xy(lon[check], lat[check], crs.STORAGE_EPSG, mcrs)
    outside[check] = ~shapely.contains_xy(zone, x, y)
    return outside


def _check_coordinates(conn: Connection, df: pd.DataFrame, coords: str, params: IntakeParams,
                       bad: _Flag, problems: list[Problem]
                       ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """WGS84 lon/lat of every row; missing, swapped and outside points are flagged."""
    n = len(df)
    lon = pd.to_numeric(df["lon"], errors="coerce").to_numpy(dtype=float, copy=True)
    lat = pd.to_numeric(df["lat"], errors="coerce").to_numpy(dtype=float, copy=True)
    nocoord = np.isnan(lon) | np.isnan(lat)
    bad(nocoord, "lon", "incidents.no_coordinates")
    if coords not in crs.COORD_SYSTEMS:
        problems.append(Problem("incidents.unknown_coord_system",
                                {"coords": coords, "choices": crs.COORD_SYSTEMS}, field="coords"))
        coords = "wgs84"
    ok = ~nocoord
    if ok.any():
        lon[ok], lat[ok] = crs.to_wgs84(lon[ok], lat[ok], coords)
    region, union = _district_region(conn)
    swapped = np.zeros(n, dtype=bool)
    if region is not None:
        swapped[ok] = crs.looks_swapped_for_region(lon[ok], lat[ok], region)
    else:
        swapped[ok] = crs.looks_swapped(lon[ok], lat[ok])
    bad(swapped, "lat", "incidents.swapped_coordinates")
    outside = np.zeros(n, dtype=bool)
    check = ok & ~swapped
    if region is None:
        if check.any():
            problems.append(Problem("incidents.no_boundaries", field="lon"))
    elif check.any():
        outside = _outside(union, region, lon, lat, check, params.outside_tolerance_m)
    bad(outside, "lon", "incidents.outside_district")
    return lon, lat


def _check_times(raw_ts: pd.Series, now: dt.datetime, bad: _Flag) -> pd.Series:
    """Report times as UTC; missing, unreadable, future and pre-2000 times are flagged."""
    ts = _parse_times(raw_ts)
    nots = ts.isna().to_numpy()
    bad(nots & raw_ts.isna().to_numpy(), "reported_at", "incidents.missing_report_time")
    bad(nots & raw_ts.notna().to_numpy(), "reported_at", "incidents.unreadable_report_time")
    future = (ts > pd.Timestamp(now) + pd.Timedelta(hours=1)).to_numpy(dtype=bool)
    bad(future, "reported_at", "incidents.future_report_time")
    ancient = (ts < pd.Timestamp("2000-01-01", tz="UTC")).to_numpy(dtype=bool)
    bad(ancient, "reported_at", "incidents.report_time_before_2000")
    return ts


def _check_vocabulary(df: pd.DataFrame, cat: pd.Series, known: dict[str, str], bad: _Flag
                      ) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Source, urgency (default: the category's) and state of every row."""
    src = _stripped(df["source"]).replace(SOURCE_ALIASES)
    src = src.where(src.notna(), "patrol")
    bad(~src.isin(SOURCES).to_numpy(), "source", "incidents.unknown_source",
        {"choices": SOURCES})
    urg = _stripped(df["urgency"])
    urg = urg.where(urg.notna(), cat.map(known).fillna("normal"))
    bad(~urg.isin(URGENCIES).to_numpy(), "urgency", "incidents.unknown_urgency",
        {"choices": URGENCIES})
    st = _stripped(df["state"]).replace({"open": "reported"})
    st = st.where(st.notna(), "reported")
    bad(~st.isin(STATES).to_numpy(), "state", "incidents.unknown_status")
    return src, urg, st


def validate_rows(conn: Connection, df: pd.DataFrame, *, coords: str = "wgs84",
                  params: IntakeParams | None = None, now: dt.datetime | None = None
                  ) -> tuple[pd.DataFrame, list[Problem]]:
    """Check every row; return the cleaned frame and every problem found (row numbers 1-based).

    Checks: every text a single value without NUL or lone surrogates and within its
    :data:`gridmap.inputs.MAX_LENGTHS` limit, coordinates present and numeric, not swapped,
    inside the district (within
    ``outside_tolerance_m``), known category, source, urgency and state, parseable
    timestamps not in the future, unique external ids within the input.
    """
    params = params or IntakeParams()
    now = now or dt.datetime.now(dt.UTC)
    # text first (single values, no NUL/lone surrogates, within gridmap.inputs limits):
    # refused cells are blanked so the checks below never see them
    df, problems = inputs.check_columns(df, COLUMNS)
    refused = {(p.row, p.field) for p in problems}
    rownum = np.arange(1, len(df) + 1)
    out = pd.DataFrame(index=df.index)

    def bad(mask: npt.NDArray[np.bool_], field: str, code: str,
            values: dict[str, Any] | None = None) -> None:
        for r in rownum[mask]:
            problems.append(Problem(code, values or {}, row=int(r), field=field))

    out["lon"], out["lat"] = _check_coordinates(conn, df, coords, params, bad, problems)
    known = {r[0]: r[1] for r in conn.execute(sa.text(
        "SELECT code, default_urgency FROM event_category"))}
    cat = _stripped(df["category_code"])
    unknown = ~cat.isin(list(known)).to_numpy(dtype=bool)
    for r, c in zip(rownum[unknown], cat[unknown], strict=True):
        problems.append(Problem("incidents.unknown_category", {"category": c}, row=int(r),
                                field="category_code") if c else
                        Problem("incidents.missing_category", row=int(r),
                                field="category_code"))
    out["category_code"] = cat
    out["reported_at"] = _check_times(_stripped(df["reported_at"]), now, bad)
    out["source"], out["urgency"], out["state"] = _check_vocabulary(df, cat, known, bad)
    ext = _stripped(df["external_id"])
    dup = ext.notna() & ext.duplicated(keep=False)
    bad(dup.to_numpy(), "external_id", "incidents.duplicate_external_id")
    out["external_id"] = ext
    for c in ("description", "address", "media_url", "reporter_name", "reporter_phone"):
        out[c] = _stripped(df[c])
    problems = [p for p in problems  # a refused cell is not also reported as missing
                if p.code.startswith("input.") or (p.row, p.field) not in refused]
    return out, problems


def _stripped(s: pd.Series) -> pd.Series:
    """Text column as objects: stripped, '' and missing → None (distinct values stripped once)."""
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    if len(uniq) > len(s) // 2:  # mostly distinct: strip row by row
        t = s.astype("string").str.strip()
        keep = (t.notna() & (t != "")).fillna(False).to_numpy(dtype=bool)
        return t.astype(object).where(keep, None)
    u = np.array([str(v).strip() for v in uniq.tolist()] + [None], dtype=object)
    u[:-1][u[:-1] == ""] = None
    return pd.Series(u[codes], index=s.index, dtype=object)


def _parse_times(raw: pd.Series) -> pd.Series:
    """Report times as UTC; a time without a zone is Beijing time (reference/cases.md).

    Fast path: one ISO 8601 parse of the whole column, which works when every row has the same
    zone (or none). Mixed zones and other formats are parsed row by row, and only those rows
    are checked for a zone suffix.
    """
    try:
        fast = pd.to_datetime(raw, format="ISO8601", errors="coerce")
        if fast.dt.tz is None:
            fast = fast.dt.tz_localize(workcal.LOCAL_TZ)
        ts = fast.dt.tz_convert("UTC").dt.as_unit("us")
        retry = (ts.isna() & raw.notna()).to_numpy(dtype=bool)
    except (ValueError, TypeError):  # mixed zones, or naive and zoned rows together
        ts = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us, UTC]")
        retry = raw.notna().to_numpy(dtype=bool)
    if retry.any():
        sub = raw[retry]
        parsed = pd.to_datetime(sub, errors="coerce", utc=True, format="mixed")
        has_tz = sub.astype("string").str.contains(_TZ_SUFFIX, regex=True)
        naive = (~has_tz.fillna(False).astype(bool)).to_numpy(dtype=bool)
        if naive.any():
            local = pd.to_datetime(sub[naive], errors="coerce", format="mixed")
            parsed[naive] = local.dt.tz_localize(workcal.LOCAL_TZ).dt.tz_convert("UTC")
        ts[retry] = parsed.dt.as_unit("us")
    return ts


_TZ_SUFFIX = r"\d:\d\d(?::\d\d(?:\.\d*)?)?\s*(?:Z|UTC|[+-]\d\d(?::?\d\d)?)$"
"""A time of day followed by a zone: such timestamps are not taken as Beijing time."""
