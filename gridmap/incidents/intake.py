"""Incidents (事件/部件 cases): model, intake, the case state machine, personal-data masking,
duplicate flagging, bulk import and synthetic data.

Workflow (reference/cases.md §3–4): 信息收集 → 立案 → 派遣 → 处置 → 反馈 → 核查结案 → 评价,
plus 回退 (returned), 延期 (extended), 挂账 (parked), 作废 (voided) and 返工 (rework). Only
the transitions in :data:`TRANSITIONS` are accepted; each is recorded in ``incident_event``.
The due time is set at dispatch from the category's time limit (reference/cases.md §5) with
:mod:`gridmap.workcal`; 挂账 time and approved 延期 extend it.

Intake is Open311-shaped: ``service_code`` (category code), ``lat``/``long``, ``description``,
``media_url``, ``status`` (open/closed or an internal state). Every write goes through one
set-based path (:func:`_write_rows`): validate all rows, flag duplicates with one sorted
cell-hash pass, then locate chunks of rows with :class:`gridmap.locate.Locator` while the
previous chunk is being COPYed (:mod:`gridmap.bulkcopy`).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
import sqlalchemy as sa
from pyproj import Transformer
from sqlalchemy.engine import Connection

from gridmap import crs as crs_mod
from gridmap.config import DATA_GEO
from gridmap.db import bulkcopy
from gridmap.errors import IllegalTransition, NotFound, Problem, ValidationError
from gridmap.incidents import locate
from gridmap.incidents.states import (
    CLOSED_STATES,
    OPEN_STATES,
    STATE_LABELS,
    STATES,
    check_state,
    check_transition,
)
from gridmap.reference import workcal

EVENT_CATEGORIES_CSV = DATA_GEO / "event_categories.csv"

# --- vocabulary ---------------------------------------------------------------------------
SOURCES: tuple[str, ...] = ("patrol", "hotline_12345", "public", "video", "iot", "referral")
SOURCE_LABELS = {"patrol": "网格员巡查", "hotline_12345": "12345热线", "public": "群众举报",
                 "video": "视频监控", "iot": "物联感知", "referral": "上级交办"}
SOURCE_ALIASES = {"hotline": "hotline_12345", "12345": "hotline_12345"}
URGENCIES: tuple[str, ...] = ("normal", "key", "urgent")
URGENCY_LABELS = {"normal": "常规", "key": "重点", "urgent": "应急"}
SUPERVISOR_ROLES: tuple[str, ...] = ("supervisor",)


@dataclass(frozen=True)
class IntakeParams:
    """Intake parameters (defaults mirror :class:`gridmap.config.Settings`)."""

    near_boundary_m: float = 10.0
    duplicate_radius_m: float = 50.0
    duplicate_window_hours: float = 24.0
    outside_tolerance_m: float = 2000.0
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
    calendar: workcal.CalendarParams = field(default_factory=workcal.CalendarParams)
    """Work periods and weekend of the working clock (the holidays come from the database)."""

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> IntakeParams:
        """Parameters from a :class:`~gridmap.config.Settings` plus explicit overrides."""
        values: dict[str, Any] = {
            "near_boundary_m": settings.near_boundary_m,
            "duplicate_radius_m": settings.duplicate_radius_m,
            "duplicate_window_hours": settings.duplicate_window_hours,
            "calendar": workcal.CalendarParams.from_settings(settings),
        }
        values.update(overrides)
        return cls(**values)


# --------------------------------------------------------------------------------------
# categories
# --------------------------------------------------------------------------------------

def read_event_categories(path: Path = EVENT_CATEGORIES_CSV) -> list[dict[str, Any]]:
    """Parse and validate the event category catalogue (all problems at once)."""
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    with open(path, encoding="utf-8") as fh:
        for i, rec in enumerate(csv.DictReader(fh), start=1):
            code = (rec.get("code") or "").strip()
            limit = (rec.get("time_limit") or "").strip()
            unit = (rec.get("time_unit") or "").strip() or None
            urg = (rec.get("default_urgency") or "normal").strip()
            if not code:
                problems.append(Problem("empty code", row=i, field="code"))
            if urg not in URGENCIES:
                problems.append(Problem(f"unknown urgency {urg!r}", row=i, field="default_urgency"))
            if unit is not None and unit not in workcal.UNITS:
                problems.append(Problem(f"unknown time unit {unit!r}", row=i, field="time_unit"))
            try:
                limit_v = float(limit) if limit else None
            except ValueError:
                problems.append(Problem(f"time limit {limit!r} is not a number", row=i,
                                        field="time_limit"))
                limit_v = None
            rows.append({
                "code": code, "parent_code": (rec.get("parent_code") or "").strip() or None,
                "name_zh": (rec.get("name_zh") or "").strip(),
                "name_en": (rec.get("name_en") or "").strip(),
                "default_urgency": urg, "time_limit": limit_v, "time_unit": unit,
                "urgent_time_limit": None, "urgent_time_unit": None,
                "filing_condition": (rec.get("filing_condition") or "").strip() or None,
                "closing_condition": (rec.get("closing_condition") or "").strip() or None,
                "default_responsible_unit":
                    (rec.get("default_responsible_unit") or "").strip() or None,
                "confidence": (rec.get("confidence") or "").strip() or None,
                "limit_confidence": (rec.get("limit_confidence") or "").strip() or None,
                "limit_source": (rec.get("limit_source") or "").strip() or None,
            })
    codes = [r["code"] for r in rows]
    for i, c in enumerate(codes, start=1):
        if codes.count(c) > 1:
            problems.append(Problem(f"duplicate code {c!r}", row=i, field="code"))
    if problems:
        raise ValidationError(f"event catalogue {path.name} is invalid", problems)
    return rows


def load_event_categories(conn: Connection, path: Path = EVENT_CATEGORIES_CSV, *,
                          update_existing: bool = False) -> int:
    """Load an event catalogue (validated; every problem at once); returns the row count.

    By default only codes not stored yet are added, so re-running the shipped catalogue
    (every ``gridmap db migrate``) never undoes a city's own limits and names;
    ``update_existing`` (``gridmap import catalogue event-categories``) overwrites them.
    A ``parent_code`` must be in the file or already stored.
    """
    rows = read_event_categories(path)
    cols = list(rows[0]) if rows else []
    stored = {r[0] for r in conn.execute(sa.text("SELECT code FROM event_category"))}
    known = stored | {r["code"] for r in rows}
    bad = [Problem(f"unknown parent code {r['parent_code']!r}", row=i, field="parent_code")
           for i, r in enumerate(rows, start=1)
           if r["parent_code"] and r["parent_code"] not in known]
    if bad:
        raise ValidationError(f"event catalogue {path.name} is invalid", bad)
    if not rows:
        return 0
    conflict = ("DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c != "code")
                if update_existing else "DO NOTHING")
    # parents first, so that the hierarchy is complete at every step
    rows = sorted(rows, key=lambda r: r["parent_code"] is not None)
    with conn.begin_nested():
        conn.execute(
            sa.text(
                f"INSERT INTO event_category ({', '.join(cols)}) "  # noqa: S608 - fixed names
                f"VALUES ({', '.join(':' + c for c in cols)}) ON CONFLICT (code) {conflict}"
            ),
            rows,
        )
    return len(rows)


def categories(conn: Connection) -> list[dict[str, Any]]:
    """All categories with their parent's name (``parent_name``)."""
    rows = conn.execute(sa.text(
        "SELECT c.*, p.name_zh AS parent_name FROM event_category c "
        "LEFT JOIN event_category p ON p.code = c.parent_code ORDER BY c.code")).mappings().all()
    return [dict(r) for r in rows]


def category_codes(conn: Connection) -> list[str]:
    """All category codes."""
    return [r[0] for r in conn.execute(sa.text("SELECT code FROM event_category ORDER BY code"))]


# --------------------------------------------------------------------------------------
# personal data
# --------------------------------------------------------------------------------------

def mask_phone(phone: str | None) -> str | None:
    """``13812345678`` → ``138****5678``; shorter numbers keep only their last 2 digits."""
    if phone is None:
        return None
    p = str(phone).strip()
    if len(p) >= 11:
        return p[:3] + "*" * (len(p) - 7) + p[-4:]
    if len(p) <= 2:
        return "*" * len(p)
    return "*" * (len(p) - 2) + p[-2:]


def mask_name(name: str | None) -> str | None:
    """``张三`` → ``张*``, ``欧阳娜娜`` → ``欧***``: first character kept."""
    if name is None:
        return None
    n = str(name).strip()
    return n[:1] + "*" * max(len(n) - 1, 1) if n else n


def can_see_personal(role: str | None, street_ids: Iterable[int] | None,
                     community_ids: Iterable[int] | None, *, incident_street_id: int | None,
                     incident_community_id: int | None) -> bool:
    """Whether a viewer may see a reporter's name and phone unmasked.

    Only supervisors of the incident's street or community (or district-wide supervisors,
    passed as ``community_ids=None`` and ``street_ids=None``) see them; everyone else
    sees masked values.
    """
    if role not in SUPERVISOR_ROLES:
        return False
    if street_ids is None and community_ids is None:
        return True
    return (incident_street_id in set(street_ids or ())
            or incident_community_id in set(community_ids or ()))


def masked_for(row: Mapping[str, Any], *, role: str | None,
               street_ids: Iterable[int] | None = (),
               community_ids: Iterable[int] | None = ()) -> dict[str, Any]:
    """Copy of an incident row with reporter name/phone masked unless the viewer may see them."""
    out = dict(row)
    if not can_see_personal(role, street_ids, community_ids,
                            incident_street_id=row.get("street_id"),
                            incident_community_id=row.get("community_id")):
        out["reporter_name"] = mask_name(row.get("reporter_name"))
        out["reporter_phone"] = mask_phone(row.get("reporter_phone"))
    return out


# --------------------------------------------------------------------------------------
# reading and validating input
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
COLUMNS = ("external_id", "category_code", "lon", "lat", "reported_at", "description",
           "address", "media_url", "state", "source", "urgency", "reporter_name",
           "reporter_phone")


def read_incident_file(path: Path) -> pd.DataFrame:
    """Read a CSV or GeoJSON of incidents into a frame of text columns (Open311 names allowed)."""
    path = Path(path)
    if path.suffix.lower() in (".geojson", ".json"):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValidationError(f"{path.name} is not readable GeoJSON: {exc}") from exc
        recs = []
        for f in doc.get("features", []):
            props = dict(f.get("properties") or {})
            geom = f.get("geometry") or {}
            coords = geom.get("coordinates") if geom.get("type") == "Point" else None
            props["lon"], props["lat"] = (coords[0], coords[1]) if coords else (None, None)
            recs.append(props)
        df = pd.DataFrame.from_records(recs)
    else:
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise ValidationError(f"{path.name} is not a readable CSV: {exc}") from exc
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


def _district_region(conn: Connection) -> tuple[tuple[float, float, float, float] | None, Any]:
    row = conn.execute(sa.text(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), ST_AsBinary(u) FROM ("
        " SELECT ST_Extent(geom)::geometry AS e, ST_Union(geom) AS u FROM ("
        "  SELECT geom FROM district UNION ALL SELECT geom FROM street) s) t")).one()
    if row[0] is None:
        return None, None
    return (row[0], row[1], row[2], row[3]), shapely.from_wkb(bytes(row[4]))


def validate_rows(conn: Connection, df: pd.DataFrame, *, coords: str = "wgs84",
                  params: IntakeParams | None = None, now: dt.datetime | None = None
                  ) -> tuple[pd.DataFrame, list[Problem]]:
    """Check every row; return the cleaned frame and every problem found (row numbers 1-based).

    Checks: coordinates present and numeric, not swapped, inside the district (within
    ``outside_tolerance_m``), known category, source, urgency and state, parseable
    timestamps not in the future, unique external ids within the input.
    """
    params = params or IntakeParams()
    now = now or dt.datetime.now(dt.UTC)
    problems: list[Problem] = []
    n = len(df)
    rownum = np.arange(1, n + 1)
    out = pd.DataFrame(index=df.index)

    def bad(mask: npt.NDArray[np.bool_], field: str, reason: str) -> None:
        for r in rownum[mask][:1000]:
            problems.append(Problem(reason, row=int(r), field=field))

    def text(col: str) -> pd.Series:
        return _stripped(df[col])

    lon = pd.to_numeric(df["lon"], errors="coerce").to_numpy(dtype=float, copy=True)
    lat = pd.to_numeric(df["lat"], errors="coerce").to_numpy(dtype=float, copy=True)
    nocoord = np.isnan(lon) | np.isnan(lat)
    bad(nocoord, "lon", "missing or non-numeric coordinates")
    if coords not in crs_mod.COORD_SYSTEMS:
        problems.append(Problem(f"unknown coordinate system {coords!r}; use one of "
                                f"{', '.join(crs_mod.COORD_SYSTEMS)}", field="coords"))
        coords = "wgs84"
    ok = ~nocoord
    if ok.any():
        lon[ok], lat[ok] = crs_mod.to_wgs84(lon[ok], lat[ok], coords)
    region, union = _district_region(conn)
    swapped = np.zeros(n, dtype=bool)
    if region is not None:
        swapped[ok] = crs_mod.looks_swapped_for_region(lon[ok], lat[ok], region)
    else:
        swapped[ok] = crs_mod.looks_swapped(lon[ok], lat[ok])
    bad(swapped, "lat", "longitude and latitude look swapped")
    outside = np.zeros(n, dtype=bool)
    check = ok & ~swapped
    if region is None:
        if check.any():
            problems.append(Problem("no district or street boundary is loaded; import "
                                    "boundaries before incidents", field="lon"))
    elif check.any():
        mcrs = crs_mod.metric_crs(*region)
        tr = Transformer.from_crs(4326, mcrs, always_xy=True)
        area = shapely.transform(union, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))
        zone = shapely.buffer(area, params.outside_tolerance_m)
        shapely.prepare(zone)
        x, y = tr.transform(lon[check], lat[check])
        outside[check] = ~shapely.contains_xy(zone, x, y)
    bad(outside, "lon", "point is outside the district")
    out["lon"], out["lat"] = lon, lat

    known = {r[0]: r[1] for r in conn.execute(sa.text(
        "SELECT code, default_urgency FROM event_category"))}
    cat = text("category_code")
    unknown = ~cat.isin(list(known)).to_numpy(dtype=bool)
    for r, c in zip(rownum[unknown][:1000], cat[unknown][:1000], strict=False):
        problems.append(Problem(f"unknown category {c!r}" if c else "missing category",
                                row=int(r), field="category_code"))
    out["category_code"] = cat

    raw_ts = text("reported_at")
    ts = _parse_times(raw_ts)
    nots = ts.isna().to_numpy()
    bad(nots & raw_ts.isna().to_numpy(), "reported_at", "missing report time")
    bad(nots & raw_ts.notna().to_numpy(), "reported_at", "unreadable report time")
    future = (ts > pd.Timestamp(now) + pd.Timedelta(hours=1)).to_numpy(dtype=bool)
    bad(future, "reported_at", "report time is in the future")
    ancient = (ts < pd.Timestamp("2000-01-01", tz="UTC")).to_numpy(dtype=bool)
    bad(ancient, "reported_at", "report time is before 2000")
    out["reported_at"] = ts

    src = text("source").replace(SOURCE_ALIASES)
    src = src.where(src.notna(), "patrol")
    badsrc = ~src.isin(SOURCES).to_numpy()
    bad(badsrc, "source", f"unknown source; use one of {', '.join(SOURCES)}")
    out["source"] = src
    urg = text("urgency")
    urg = urg.where(urg.notna(), cat.map(known).fillna("normal"))
    bad(~urg.isin(URGENCIES).to_numpy(), "urgency",
        f"unknown urgency; use one of {', '.join(URGENCIES)}")
    out["urgency"] = urg
    st = text("state").replace({"open": "reported"})
    st = st.where(st.notna(), "reported")
    bad(~st.isin(STATES).to_numpy(), "state", "unknown status")
    out["state"] = st

    ext = text("external_id")
    dup = ext.notna() & ext.duplicated(keep=False)
    bad(dup.to_numpy(), "external_id", "external id appears more than once in the input")
    out["external_id"] = ext
    for c in ("description", "address", "media_url", "reporter_name", "reporter_phone"):
        out[c] = text(c)
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


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == ""


# --------------------------------------------------------------------------------------
# the one write path
# --------------------------------------------------------------------------------------

INCIDENT_COPY_COLS = (
    "id", "external_id", "case_no", "category_code", "source", "urgency", "state",
    "description", "address", "media_url", "reporter_name", "reporter_phone", "reported_at",
    "geom", "street_id", "community_id", "estate_id", "building_id", "grid_id",
    "grid_version_id", "located_by", "grid_distance_m", "near_boundary", "boundary_distance_m",
    "duplicate_of", "filed_at", "dispatched_at", "due_at", "handled_at", "closed_at",
    "rework_count", "synthetic", "import_id",
)
EVENT_COPY_COLS = ("incident_id", "at", "actor", "from_state", "to_state", "note")


def _skip_existing(conn: Connection, df: pd.DataFrame) -> pd.DataFrame:
    ext = df["external_id"].dropna()
    if ext.empty or not conn.execute(sa.text(
            "SELECT EXISTS (SELECT 1 FROM incident WHERE external_id IS NOT NULL)")).scalar():
        return df
    existing = {r[0] for r in conn.execute(
        sa.text("SELECT external_id FROM incident WHERE external_id = ANY(:e)"),
        {"e": ext.tolist()})}
    return df[~df["external_id"].isin(existing)] if existing else df


def _earliest_neighbour(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64],
                        t: npt.NDArray[np.float64], cat: npt.NDArray[np.int64],
                        usable: npt.NDArray[np.bool_], ids: npt.NDArray[np.int64], n_new: int,
                        r: float, win: float) -> npt.NDArray[np.int64]:
    """For each of the first ``n_new`` points, the index of the earliest ``usable`` point of
    the same category within ``r`` metres and the preceding ``win`` hours (ties: lower id),
    or -1.

    Points are hashed into (category, r × r cell) keys and sorted by (key, second); for each
    of the 9 neighbouring cells the candidates of a point are one contiguous run of that
    order, found with two ``searchsorted`` calls over all points at once, then checked exactly.
    """
    cx = np.floor(x / r).astype(np.int64)
    cy = np.floor(y / r).astype(np.int64)
    cx -= cx.min() - 1  # cells start at 1 so that neighbours ±1 never alias
    cy -= cy.min() - 1
    k2 = int(cy.max()) + 2
    k1 = k2 * (int(cx.max()) + 2)
    key = cat.astype(np.int64) * k1 + cx * k2 + cy
    sec = np.floor((t - t.min()) * 3600.0).astype(np.int64)
    win_s = int(np.ceil(win * 3600.0))
    span = int(sec.max()) + 2 * win_s + 2
    comb = key * span + sec
    order = np.argsort(comb, kind="stable")
    comb_s = comb[order]
    q = order[order < n_new]  # the new points, in sorted order (fast searchsorted)
    ii_all, jj_all = [], []
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            base = comb[q] + (dx * k2 + dy) * span
            lo = np.searchsorted(comb_s, base - win_s, "left")
            cnt = np.searchsorted(comb_s, base, "right") - lo
            tot = int(cnt.sum())
            if not tot:
                continue
            ii = np.repeat(q, cnt)
            jj = order[np.repeat(lo - (np.cumsum(cnt) - cnt), cnt) + np.arange(tot)]
            keep = ((jj != ii) & usable[jj] & (t[ii] - t[jj] <= win)
                    & (np.hypot(x[ii] - x[jj], y[ii] - y[jj]) <= r)
                    & ((t[jj] < t[ii]) | ((t[jj] == t[ii]) & (ids[jj] < ids[ii]))))
            ii_all.append(ii[keep])
            jj_all.append(jj[keep])
    out = np.full(n_new, -1, dtype=np.int64)
    if not ii_all:
        return out
    ii, jj = np.concatenate(ii_all), np.concatenate(jj_all)
    o = np.lexsort((ids[jj], t[jj], ii))
    ii, jj = ii[o], jj[o]
    first = np.r_[True, ii[1:] != ii[:-1]] if len(ii) else np.array([], dtype=bool)
    out[ii[first]] = jj[first]
    return out


def _flag_duplicates(conn: Connection, df: pd.DataFrame, ids: npt.NDArray[np.int64],
                     params: IntakeParams) -> npt.NDArray[np.float64]:
    """``duplicate_of`` per new row (NaN if none): the earliest open incident of the same
    category within ``duplicate_radius_m`` and ``duplicate_window_hours`` reported before it
    (new rows and open incidents already stored; see :func:`_earliest_neighbour`)."""
    n = len(df)
    dup = np.full(n, np.nan)
    if n == 0:
        return dup
    lon, lat = df["lon"].to_numpy(float), df["lat"].to_numpy(float)
    t = ((df["reported_at"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds() / 3600.0
         ).to_numpy(float)
    win = params.duplicate_window_hours
    old = conn.execute(sa.text(
        "SELECT id, category_code, ST_X(geom), ST_Y(geom), "
        "extract(epoch FROM reported_at) / 3600.0 FROM incident "
        "WHERE state = ANY(:open) AND reported_at BETWEEN :t0 AND :t1 "
        "AND geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)"),
        {"open": list(OPEN_STATES),
         "t0": dt.datetime.fromtimestamp((t.min() - win) * 3600, dt.UTC),
         "t1": dt.datetime.fromtimestamp((t.max() + win) * 3600, dt.UTC),
         "x0": lon.min() - 0.01, "y0": lat.min() - 0.01, "x1": lon.max() + 0.01,
         "y1": lat.max() + 0.01}).all()
    all_ids = np.concatenate([ids, np.array([r[0] for r in old], dtype=np.int64)])
    all_cat = np.concatenate([df["category_code"].to_numpy(object),
                              np.array([r[1] for r in old], dtype=object)])
    all_lon = np.concatenate([lon, np.array([r[2] for r in old], dtype=float)])
    all_lat = np.concatenate([lat, np.array([r[3] for r in old], dtype=float)])
    all_t = np.concatenate([t, np.array([float(r[4]) for r in old], dtype=float)])
    all_open = np.concatenate([df["state"].isin(OPEN_STATES).to_numpy(),
                               np.ones(len(old), dtype=bool)])
    mcrs = crs_mod.metric_crs(all_lon.min(), all_lat.min(), all_lon.max(), all_lat.max())
    x, y = Transformer.from_crs(4326, mcrs, always_xy=True).transform(all_lon, all_lat)
    cat_idx, _ = pd.factorize(all_cat)
    found = _earliest_neighbour(np.asarray(x), np.asarray(y), all_t, cat_idx, all_open,
                                all_ids, n, params.duplicate_radius_m, win)
    dup[found >= 0] = all_ids[found[found >= 0]]
    return dup


def _case_numbers(conn: Connection, df: pd.DataFrame) -> pd.Series:
    """案卷号: category code + local yyyymmdd + 5-digit daily sequence (reference/cases.md §6),
    numbered in report-time order after the cases already stored for that category and day."""
    loc = df["reported_at"].dt.tz_convert(workcal.LOCAL_TZ)
    day = (loc.dt.year * 10000 + loc.dt.month * 100 + loc.dt.day).to_numpy(dtype=np.int64)
    cat_code, cats = pd.factorize(df["category_code"])
    group = cat_code.astype(np.int64) * 100_000_000 + day
    rows = conn.execute(sa.text(
        "SELECT category_code, to_char(reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD'), "
        "count(*) FROM incident WHERE reported_at BETWEEN :t0 AND :t1 GROUP BY 1, 2"),
        {"t0": df["reported_at"].min() - pd.Timedelta(days=1),
         "t1": df["reported_at"].max() + pd.Timedelta(days=1)}).all()
    pos = {c: i for i, c in enumerate(cats.tolist())}
    existing = {pos[c] * 100_000_000 + int(d): int(k) for c, d, k in rows if c in pos}
    order = np.argsort(pd.DatetimeIndex(df["reported_at"]).asi8, kind="stable")
    seq = np.empty(len(df), dtype=np.int64)
    seq[order] = pd.Series(group[order]).groupby(group[order], sort=False).cumcount() + 1
    seq += pd.Series(group).map(existing).fillna(0).to_numpy(dtype=np.int64)
    sd = np.dtypes.StringDType()
    prefix = np.strings.add(np.asarray(cats.astype(str), dtype=object).astype(sd)[cat_code],
                            day.astype(sd))
    return pd.Series(np.strings.add(prefix, np.strings.zfill(seq.astype(sd), 5)).astype(object),
                     index=df.index)


_KINDS: dict[str, str] = {
    "id": "int8", "duplicate_of": "int8", "incident_id": "int8",
    "street_id": "int4", "community_id": "int4", "estate_id": "int4", "building_id": "int4",
    "grid_id": "int4", "grid_version_id": "int4", "rework_count": "int4", "import_id": "int4",
    "grid_distance_m": "float8", "boundary_distance_m": "float8",
    "near_boundary": "bool", "synthetic": "bool",
    "reported_at": "ts", "filed_at": "ts", "dispatched_at": "ts", "due_at": "ts",
    "handled_at": "ts", "closed_at": "ts", "at": "ts",
}
COPY_CHUNK_ROWS = 50_000
"""Rows located and encoded per chunk while the previous chunk is being COPYed."""


def _lap(timings: dict[str, float] | None, stage: str, t0: float) -> float:
    """Add the seconds since ``t0`` to ``timings[stage]``; return the new start."""
    now = time.perf_counter()
    if timings is not None:
        timings[stage] = timings.get(stage, 0.0) + now - t0
    return now


def _deferred_constraints(conn: Connection, n: int, params: IntakeParams) -> list[str]:
    """Drop the secondary indexes, unique and foreign-key constraints of ``incident`` and
    ``incident_event`` when building them once afterwards is cheaper than ``n`` insertions;
    return the statements that restore them (run in the same transaction)."""
    existing = conn.execute(sa.text(
        "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'incident'::regclass"
    )).scalar_one()
    if n < params.rebuild_indexes_from_rows or existing > params.rebuild_indexes_max_ratio * n:
        return []
    cons = conn.execute(sa.text(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid IN ('incident'::regclass, 'incident_event'::regclass) "
        "AND contype IN ('u', 'f') ORDER BY contype DESC, conname")).all()
    idx = conn.execute(sa.text(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid IN ('incident'::regclass, 'incident_event'::regclass) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
        "ORDER BY 1")).all()
    # names and definitions come from the catalogue, never from input
    for table, name, _ in cons:
        conn.execute(sa.text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))  # noqa: S608
    for name, _ in idx:
        conn.execute(sa.text(f"DROP INDEX {name}"))  # noqa: S608
    return ([f'ALTER TABLE {t} ADD CONSTRAINT "{c}" {d}' for t, c, d in cons]
            + [d for _, d in idx])


def _write_rows(conn: Connection, df: pd.DataFrame, *, actor: str | None,
                params: IntakeParams, synthetic: bool = False, import_id: int | None = None,
                events: pd.DataFrame | None = None, timings: dict[str, float] | None = None
                ) -> tuple[npt.NDArray[np.int64], dict[str, int]]:
    """Locate, flag duplicates, COPY incidents and their first events.

    ``df`` is a validated frame (see :func:`validate_rows`); optional lifecycle columns
    (filed_at, dispatched_at, due_at, handled_at, closed_at, rework_count) are copied as
    given. ``events`` (incident row position, at, actor, from_state, to_state, note) replaces
    the default single intake event per row.

    Everything that reads the database (duplicates, case numbers, the polygons) happens first;
    then chunks of rows are located and encoded while the previous chunk is being COPYed.

    Returns
    -------
    ids, counts
        The new ids in row order; ``duplicates``, ``near_boundary`` and ``nearest_grid``.
    """
    n = len(df)
    df = df.reset_index(drop=True).copy()
    conn.execute(sa.text("LOCK TABLE incident IN SHARE ROW EXCLUSIVE MODE"))
    first = int(conn.execute(sa.text("SELECT nextval('incident_id_seq')")).scalar_one())
    conn.execute(sa.text("SELECT setval('incident_id_seq', :v)"), {"v": first + n - 1})
    ids = np.arange(first, first + n, dtype=np.int64)
    lon, lat = df["lon"].to_numpy(float), df["lat"].to_numpy(float)
    at64 = df["reported_at"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype(
        "datetime64[us]")
    t = time.perf_counter()
    locator = locate.load_locator(conn, locate.points_bbox(lon, lat),
                                  locate.LocateParams(near_boundary_m=params.near_boundary_m))
    t = _lap(timings, "load_polygons", t)
    df["id"] = ids
    df["duplicate_of"] = pd.array(_flag_duplicates(conn, df, ids, params), dtype="Int64")
    t = _lap(timings, "duplicates", t)
    df["case_no"] = _case_numbers(conn, df)
    for c in ("filed_at", "dispatched_at", "due_at", "handled_at", "closed_at"):
        df[c] = pd.to_datetime(df[c], utc=True) if c in df.columns else pd.NaT
    if "rework_count" not in df.columns:
        df["rework_count"] = 0
    df["synthetic"] = synthetic
    df["import_id"] = pd.array([import_id] * n, dtype="Int64")
    t = _lap(timings, "prepare", t)
    restore = _deferred_constraints(conn, n, params)
    t = _lap(timings, "drop_indexes", t)
    counts = {"duplicates": int(df["duplicate_of"].notna().sum()), "near_boundary": 0,
              "nearest_grid": 0}
    busy = {"locate": 0.0, "encode": 0.0}
    with bulkcopy.CopyStream(conn, "incident", INCIDENT_COPY_COLS,
                             queued=n > COPY_CHUNK_ROWS) as stream:
        for a in range(0, n, COPY_CHUNK_ROWS):
            b = min(a + COPY_CHUNK_ROWS, n)
            t0 = time.perf_counter()
            loc = locator.assign(lon[a:b], lat[a:b], at64[a:b])
            counts["near_boundary"] += int(loc["near_boundary"].sum())
            counts["nearest_grid"] += int((loc["located_by"] == "nearest_grid").sum())
            part = pd.concat([df.iloc[a:b].reset_index(drop=True), loc], axis=1)
            t1 = time.perf_counter()
            stream.write(bulkcopy.encode_frame(
                part, INCIDENT_COPY_COLS, _KINDS,
                {"geom": bulkcopy.point_ewkb(lon[a:b], lat[a:b])}))
            busy["locate"] += t1 - t0
            busy["encode"] += time.perf_counter() - t1
    if timings is not None:  # locate and encode overlap the server's COPY of earlier chunks
        timings.update({f"{k} (overlapped)": v for k, v in busy.items()})
    t = _lap(timings, "copy", t)
    if events is None:  # one intake event per row, written server-side (ids reserved at once)
        ev0 = int(conn.execute(sa.text("SELECT nextval('incident_event_id_seq')")).scalar_one())
        conn.execute(sa.text("SELECT setval('incident_event_id_seq', :v)"), {"v": ev0 + n - 1})
        conn.execute(sa.text(
            "INSERT INTO incident_event (id, incident_id, at, actor, from_state, to_state, note) "
            "SELECT id - :a + :e, id, reported_at, :actor, NULL, state, 'intake' FROM incident "
            "WHERE id BETWEEN :a AND :b"),
            {"actor": actor, "a": first, "b": first + n - 1, "e": ev0})
    else:
        ev = events.copy()
        ev["incident_id"] = ids[ev["row"].to_numpy(int)]
        ev["at"] = pd.to_datetime(ev["at"], utc=True)
        bulkcopy.copy_frame(conn, "incident_event", EVENT_COPY_COLS, ev, _KINDS)
    t = _lap(timings, "events", t)
    for stmt in restore:
        conn.execute(sa.text(stmt))
    _lap(timings, "build_indexes", t)
    return ids, counts


# --------------------------------------------------------------------------------------
# public intake
# --------------------------------------------------------------------------------------

def create(conn: Connection, data: Mapping[str, Any], *, actor: str | None,
           params: IntakeParams | None = None, coords: str = "wgs84") -> dict[str, Any]:
    """Create one incident (Open311-shaped mapping), located and duplicate-checked.

    Keys: ``category`` / ``category_code`` / ``service_code``, ``lon``/``long``, ``lat``,
    optional ``reported_at`` (default now), ``description``, ``address``, ``media_url``,
    ``source``, ``urgency``, ``reporter_name``, ``reporter_phone``, ``external_id``.

    Raises
    ------
    ValidationError
        With every problem of the input.
    Conflict-free re-submission:
        an ``external_id`` that exists returns the existing incident unchanged.
    """
    params = params or IntakeParams()
    rec = dict(data)
    rec.setdefault("reported_at", dt.datetime.now(dt.UTC).isoformat())
    if isinstance(rec["reported_at"], dt.datetime):
        rec["reported_at"] = rec["reported_at"].isoformat()
    df = normalise_columns(pd.DataFrame([{k: v for k, v in rec.items()}]))
    clean, problems = validate_rows(conn, df, coords=coords, params=params)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ValidationError("incident is invalid",
                              [Problem(p.reason, field=p.field) for p in errors])
    if clean["external_id"].iloc[0] is not None:
        found = conn.execute(sa.text("SELECT id FROM incident WHERE external_id = :e"),
                             {"e": clean["external_id"].iloc[0]}).scalar()
        if found is not None:
            return get(conn, int(found))
    with conn.begin_nested():
        ids, _ = _write_rows(conn, clean, actor=actor, params=params)
    return get(conn, int(ids[0]))


def import_incidents(conn: Connection, frame: pd.DataFrame, *, actor: str | None = None,
                     coords: str = "wgs84", dry_run: bool = False, source_file: str | None = None,
                     params: IntakeParams | None = None,
                     timings: dict[str, float] | None = None) -> dict[str, Any]:
    """Bulk import (all-or-nothing): validate every row, then locate and COPY in one pass.

    Rows whose ``external_id`` already exists are skipped, so re-importing a file adds nothing.

    Returns
    -------
    dict
        ``rows``, ``inserted``, ``skipped_existing``, ``duplicates``, ``near_boundary``,
        ``nearest_grid`` (属地兜底), ``dry_run``, ``import_id``.

    Raises
    ------
    ValidationError
        Listing every bad row (nothing is written).
    """
    params = params or IntakeParams()
    t = time.perf_counter()
    clean, problems = validate_rows(conn, normalise_columns(frame), coords=coords, params=params)
    t = _lap(timings, "validate", t)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ValidationError(f"{len({p.row for p in errors})} bad row(s); nothing imported",
                              problems)
    todo = _skip_existing(conn, clean)
    _lap(timings, "skip_existing", t)
    report: dict[str, Any] = {"rows": len(clean), "skipped_existing": len(clean) - len(todo),
                              "dry_run": dry_run, "import_id": None}
    with conn.begin_nested() as sp:
        import_id = None
        if not dry_run:
            import_id = conn.execute(sa.text(
                "INSERT INTO import_run (kind, source_file, actor) VALUES ('incidents', :f, :a) "
                "RETURNING id"), {"f": source_file, "a": actor}).scalar_one()
        ids, counts = _write_rows(conn, todo, actor=actor, params=params, import_id=import_id,
                                  timings=timings) if len(todo) else \
            (np.array([], dtype=np.int64), {"duplicates": 0, "near_boundary": 0,
                                           "nearest_grid": 0})
        report.update(inserted=len(ids), import_id=import_id, **counts)
        if dry_run:
            sp.rollback()
        else:
            conn.execute(sa.text("UPDATE import_run SET finished_at = now(), report = :r "
                                 "WHERE id = :id"),
                         {"r": json.dumps(report), "id": import_id})
    return report


# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------

_SELECT = """
    SELECT i.id, i.external_id, i.case_no, i.category_code AS category,
           c.name_zh AS category_name, c.default_responsible_unit AS responsible_unit,
           i.source, i.urgency, i.state AS status, i.description, i.address, i.media_url,
           i.reporter_name, i.reporter_phone, i.reported_at, ST_X(i.geom) AS lon,
           ST_Y(i.geom) AS lat, i.street_id, i.community_id, i.estate_id, i.building_id,
           i.grid_id, g.grid_code, i.grid_version_id, i.located_by, i.grid_distance_m,
           i.near_boundary, i.boundary_distance_m, i.duplicate_of, i.filed_at, i.dispatched_at,
           i.due_at, i.handled_at, i.closed_at, i.parked_at, i.extensions, i.rework_count,
           i.synthetic, i.location_confirmed_at, i.location_confirmed_by,
           (SELECT max(e.at) FROM incident_event e WHERE e.incident_id = i.id) AS updated_at
    FROM incident i
    JOIN event_category c ON c.code = i.category_code
    LEFT JOIN grid g ON g.id = i.grid_id
"""


def _decorate(row: Mapping[Any, Any]) -> dict[str, Any]:
    out = dict(row)
    out["state"] = out["status"]
    out["status_label"] = STATE_LABELS.get(out["status"])
    out["urgency_label"] = URGENCY_LABELS.get(out["urgency"])
    out["source_label"] = SOURCE_LABELS.get(out["source"])
    return out


def get(conn: Connection, incident_id: int) -> dict[str, Any]:
    """One incident (unmasked: mask with :func:`masked_for` before showing it)."""
    row = conn.execute(sa.text(_SELECT + " WHERE i.id = :id"), {"id": incident_id}
                       ).mappings().first()
    if row is None:
        raise NotFound(f"incident {incident_id} not found")
    return _decorate(row)


def history(conn: Connection, incident_id: int) -> list[dict[str, Any]]:
    """The transitions of one incident, oldest first."""
    rows = conn.execute(sa.text(
        "SELECT at, actor, from_state, to_state, note, data FROM incident_event "
        "WHERE incident_id = :id ORDER BY at, id"), {"id": incident_id}).mappings().all()
    return [dict(r, to_label=STATE_LABELS.get(r["to_state"]),
                 from_label=STATE_LABELS.get(r["from_state"] or "")) for r in rows]


def filter_sql(filters: Mapping[str, Any], alias: str = "i") -> tuple[str, dict[str, Any]]:
    """WHERE clause (bound parameters only) for the shared incident filters.

    Keys: ``start``/``end`` (reported_at window), ``categories`` (codes; a 大类 code such as
    ``E01`` matches its sub-classes), ``statuses``, ``urgencies``, ``sources``, ``bbox``
    (lon0, lat0, lon1, lat1), ``grid_ids``, ``street_ids``, ``community_ids``, ``ids``,
    ``open`` (bool), ``overdue`` (bool: open and past due), ``synthetic`` (bool),
    ``to_confirm`` (bool: open, near a grid boundary or outside every grid, location not
    confirmed by a supervisor yet).
    """
    a = alias
    clauses = ["true"]
    p: dict[str, Any] = {}
    if filters.get("start") is not None:
        clauses.append(f"{a}.reported_at >= :f_start")
        p["f_start"] = filters["start"]
    if filters.get("end") is not None:
        clauses.append(f"{a}.reported_at < :f_end")
        p["f_end"] = filters["end"]
    if filters.get("categories"):
        clauses.append(f"({a}.category_code = ANY(:f_cat) OR left({a}.category_code, 3) = "
                       "ANY(:f_cat))")
        p["f_cat"] = list(filters["categories"])
    for key, col in (("statuses", "state"), ("urgencies", "urgency"), ("sources", "source"),
                     ("grid_ids", "grid_id"), ("ids", "id")):
        if filters.get(key):
            clauses.append(f"{a}.{col} = ANY(:f_{key})")
            p[f"f_{key}"] = list(filters[key])
    scope = []
    if filters.get("street_ids") is not None:
        scope.append(f"{a}.street_id = ANY(:f_streets)")
        p["f_streets"] = list(filters["street_ids"])
    if filters.get("community_ids") is not None:
        scope.append(f"{a}.community_id = ANY(:f_comms)")
        p["f_comms"] = list(filters["community_ids"])
    if scope:
        clauses.append("(" + " OR ".join(scope) + ")")
    if filters.get("bbox"):
        clauses.append(f"{a}.geom && ST_MakeEnvelope(:f_x0, :f_y0, :f_x1, :f_y1, 4326)")
        p.update(zip(("f_x0", "f_y0", "f_x1", "f_y1"), filters["bbox"], strict=True))
    if filters.get("open") is not None:
        op = "<> ALL" if filters["open"] else "= ANY"
        clauses.append(f"{a}.state {op}(:f_closed)")
        p["f_closed"] = list(CLOSED_STATES)
    if filters.get("overdue"):
        clauses.append(f"{a}.state <> ALL(:f_closed2) AND {a}.due_at < now()")
        p["f_closed2"] = list(CLOSED_STATES)
    if filters.get("synthetic") is not None:
        clauses.append(f"{a}.synthetic = :f_syn")
        p["f_syn"] = bool(filters["synthetic"])
    if filters.get("to_confirm"):  # open, near a boundary or 属地兜底, not confirmed yet
        clauses.append(f"({a}.near_boundary OR {a}.located_by = 'nearest_grid') AND "
                       f"{a}.location_confirmed_at IS NULL AND {a}.state <> ALL(:f_closed3)")
        p["f_closed3"] = list(CLOSED_STATES)
    return " AND ".join(clauses), p


def list_incidents(conn: Connection, filters: Mapping[str, Any], page: int = 1,
                   page_size: int = 100) -> dict[str, Any]:
    """A page of incidents matching ``filters`` (see :func:`filter_sql`), newest first.

    Overdue lists (``filters['overdue']``) are ordered most overdue first.

    Returns
    -------
    dict
        ``items`` (unmasked rows; mask with :func:`masked_for`), ``total``, ``page``,
        ``page_size``.
    """
    where, p = filter_sql(filters)
    total = conn.execute(sa.text(f"SELECT count(*) FROM incident i WHERE {where}"), p  # noqa: S608 - fixed fragments, bound values
                         ).scalar_one()
    order = "i.due_at ASC, i.id" if filters.get("overdue") else "i.reported_at DESC, i.id DESC"
    rows = conn.execute(sa.text(f"{_SELECT} WHERE {where} ORDER BY {order} "
                                "LIMIT :lim OFFSET :off"),
                        {**p, "lim": page_size, "off": (max(page, 1) - 1) * page_size}
                        ).mappings().all()
    return {"items": [_decorate(r) for r in rows], "total": int(total), "page": page,
            "page_size": page_size}


# --------------------------------------------------------------------------------------
# transitions
# --------------------------------------------------------------------------------------

def _limit_for(cat: Mapping[Any, Any], urgent: bool, params: IntakeParams
               ) -> tuple[float, str]:
    if urgent and cat.get("urgent_time_limit"):
        return float(cat["urgent_time_limit"]), str(cat["urgent_time_unit"] or cat["time_unit"])
    if cat.get("time_limit"):
        return float(cat["time_limit"]), str(cat["time_unit"])
    return params.default_time_limit, params.default_time_unit


def transition(conn: Connection, incident_id: int, to_state: str, *, actor: str | None,
               note: str | None = None, at: dt.datetime | None = None,
               extension: float | None = None, higher_approval: bool = False,
               calendar: workcal.WorkCalendar | None = None,
               params: IntakeParams | None = None) -> dict[str, Any]:
    """Move a case to ``to_state`` if the state machine allows it; record the event.

    Parameters
    ----------
    extension:
        For ``extended`` (延期): approved extra time in the category's time unit.
    higher_approval:
        Required for a second 延期 (reference/cases.md §4).
    calendar:
        Working calendar for due times (default: the ``work_calendar`` table with the work
        periods and weekend of ``params.calendar``).

    Raises
    ------
    IllegalTransition
        If ``to_state`` is not reachable from the current state.
    NotFound
        If the incident does not exist.
    """
    params = params or IntakeParams()
    check_state(to_state)
    at = at or dt.datetime.now(dt.UTC)
    with conn.begin_nested():
        cur = conn.execute(sa.text(
            "SELECT i.*, c.time_limit, c.time_unit, c.urgent_time_limit, c.urgent_time_unit "
            "FROM incident i JOIN event_category c ON c.code = i.category_code "
            "WHERE i.id = :id FOR UPDATE OF i"), {"id": incident_id}).mappings().first()
        if cur is None:
            raise NotFound(f"incident {incident_id} not found")
        frm = cur["state"]
        check_transition(frm, to_state)
        sets: dict[str, Any] = {}
        urgent = cur["urgency"] == "urgent"
        limit, unit = _limit_for(cur, urgent, params)
        cal = calendar
        if to_state in ("dispatched", "extended") and cal is None:
            cal = workcal.calendar_from_db(conn, params.calendar)
        if to_state == "filed":
            sets["filed_at"] = at
        elif to_state == "dispatched":   # the clock starts (again, after 回退) at dispatch
            assert cal is not None
            sets["dispatched_at"] = at
            sets["due_at"] = cal.due(at, limit, unit, urgent=urgent)
        elif to_state == "extended":
            if extension is None or extension <= 0:
                raise IllegalTransition("延期 needs an approved extension (extension > 0) / "
                                        "延期须填写批准的延长时限")
            if cur["extensions"] >= 1 and not higher_approval:
                raise IllegalTransition("a second 延期 needs higher approval / "
                                        "第二次延期须上级批准")
            assert cal is not None
            sets["due_at"] = cal.due(cur["due_at"], extension, unit, urgent=urgent)
            sets["extensions"] = cur["extensions"] + 1
        elif to_state == "parked":
            sets["parked_at"] = at
        elif frm == "parked":            # 挂账 time is added to the deadline
            if cur["due_at"] is not None and cur["parked_at"] is not None:
                sets["due_at"] = cur["due_at"] + (at - cur["parked_at"])
            sets["parked_at"] = None
        elif to_state == "handled":
            sets["handled_at"] = at
        elif to_state == "rework":
            sets["rework_count"] = cur["rework_count"] + 1
        elif to_state == "closed":
            sets["closed_at"] = at
        sets["state"] = to_state
        assign = ", ".join(f"{k} = :{k}" for k in sets)
        conn.execute(sa.text(f"UPDATE incident SET {assign}, lock_version = lock_version + 1 "  # noqa: S608
                             "WHERE id = :id"), {**sets, "id": incident_id})
        data = {"extension": extension, "unit": unit} if to_state == "extended" else None
        conn.execute(sa.text(
            "INSERT INTO incident_event (incident_id, at, actor, from_state, to_state, note, data) "
            "VALUES (:id, :at, :actor, :frm, :to, :note, CAST(:data AS jsonb))"),
            {"id": incident_id, "at": at, "actor": actor, "frm": frm, "to": to_state,
             "note": note, "data": json.dumps(data) if data else None})
    return get(conn, incident_id)


# --------------------------------------------------------------------------------------
# synthetic data
# --------------------------------------------------------------------------------------

_SYN_CATEGORIES = {  # weights of a plausible mix [unverified]
    "E0102": 18, "E0104": 12, "E0501": 14, "E0201": 10, "E0602": 9, "E0101": 5, "E0103": 6,
    "E0106": 4, "E0301": 5, "E0604": 5, "E0603": 4, "C0190": 3, "E0502": 3, "E0105": 1,
    "C0490": 2, "E0402": 1, "E0401": 0.3, "E0601": 2,
}
_SYN_SOURCES = {"patrol": 45, "hotline_12345": 30, "public": 10, "video": 8, "iot": 4,
                "referral": 3}


def synthesise(conn: Connection, n: int, *, seed: int = 0, start: dt.datetime,
               end: dt.datetime, params: IntakeParams | None = None,
               calendar: workcal.WorkCalendar | None = None) -> int:
    """Write ``n`` spatially clustered synthetic incidents (``synthetic = true``).

    Points cluster around randomly chosen buildings (hot buildings get many reports), with a
    realistic mix of category, source and urgency, and a transition history per incident
    (filed, dispatched with a due time, handled, some 返工, closed, evaluated, some voided)
    cut off at ``end`` so that open, overdue and closed cases all occur.

    Returns
    -------
    int
        Number of incidents written.
    """
    params = params or IntakeParams()
    rng = np.random.default_rng(seed)
    pts = conn.execute(sa.text(
        "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(geom) c FROM building "
        "ORDER BY id) b")).all()
    if not pts:
        pts = conn.execute(sa.text(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(gg.geom) c "
            "FROM grid_geometry gg JOIN grid_version gv ON gv.id = gg.version_id "
            "WHERE gv.status = 'active' ORDER BY gg.id) g")).all()
    if not pts or n <= 0:
        raise ValidationError("synthesise needs buildings or active grids to place incidents")
    cats = conn.execute(sa.text(
        "SELECT code, default_urgency, time_limit, time_unit, urgent_time_limit, "
        "urgent_time_unit FROM event_category WHERE parent_code IS NOT NULL ORDER BY code")
    ).mappings().all()
    catmap = {c["code"]: c for c in cats}
    codes = [c for c in _SYN_CATEGORIES if c in catmap] or list(catmap)
    w = np.array([_SYN_CATEGORIES.get(c, 1.0) for c in codes], dtype=float)
    base = np.array(pts, dtype=float)
    # clustered: a few hot buildings draw most reports (Zipf-like weights)
    weights = rng.pareto(1.2, len(base)) + 0.05
    anchor = rng.choice(len(base), size=n, p=weights / weights.sum())
    spread = rng.exponential(40.0, n)  # metres
    ang = rng.uniform(0, 2 * np.pi, n)
    lat = base[anchor, 1] + spread * np.sin(ang) / 111_320.0
    lon = base[anchor, 0] + spread * np.cos(ang) / (111_320.0 * np.cos(np.radians(base[anchor, 1])))
    start, end = (d if d.tzinfo else d.replace(tzinfo=workcal.LOCAL_TZ) for d in (start, end))
    if end <= start:
        raise ValidationError("synthesise: end must be after start")
    t0 = pd.Timestamp(start).tz_convert("UTC").value
    t1 = pd.Timestamp(end).tz_convert("UTC").value
    reported = pd.to_datetime(np.sort(rng.uniform(t0, t1, n)).astype(np.int64), utc=True)
    cat = np.array(codes, dtype=object)[rng.choice(len(codes), size=n, p=w / w.sum())]
    src = np.array(list(_SYN_SOURCES), dtype=object)[
        rng.choice(len(_SYN_SOURCES), size=n,
                   p=np.array(list(_SYN_SOURCES.values())) / sum(_SYN_SOURCES.values()))]
    urg = np.array([catmap[c]["default_urgency"] for c in cat], dtype=object)
    urg = np.where((urg == "normal") & (rng.random(n) < 0.12), "key", urg)
    end64 = pd.Timestamp(end).tz_convert("UTC")

    minutes = pd.to_timedelta
    voided = rng.random(n) < 0.05
    filed = reported + minutes(rng.uniform(5, 60, n), unit="m")
    dispatched = filed + minutes(rng.uniform(5, 30, n), unit="m")
    lims = [_limit_for(catmap[c], u == "urgent", params) for c, u in zip(cat, urg, strict=True)]
    lim_v = np.array([v for v, _ in lims], dtype=float)
    lim_u = np.array([u for _, u in lims], dtype=str)
    cal = calendar or workcal.calendar_from_db(conn, params.calendar)
    due = pd.to_datetime(cal.due_many(
        dispatched.tz_localize(None).to_numpy().astype("datetime64[m]"),
        lim_v, lim_u, urg == "urgent"), utc=True)
    allowed = (due - dispatched).to_numpy()
    handling = dispatched + minutes(rng.uniform(10, 120, n), unit="m")
    # ~78 % handled in time: handling duration relative to the allowed span
    frac = rng.lognormal(mean=-0.6, sigma=0.7, size=n)
    handled = dispatched + pd.to_timedelta(allowed * frac)
    handled = pd.DatetimeIndex(np.maximum(handled, handling + pd.Timedelta(minutes=5)))
    rework = rng.random(n) < 0.08
    rework_at = handled + minutes(rng.uniform(60, 240, n), unit="m")
    handling2 = rework_at + minutes(rng.uniform(10, 60, n), unit="m")
    handled2 = handling2 + minutes(rng.uniform(60, 1440, n), unit="m")
    final_handled = pd.DatetimeIndex(np.where(rework, handled2, handled))
    closed = final_handled + minutes(rng.uniform(30, 480, n), unit="m")
    evaluated = closed + minutes(rng.uniform(600, 4000, n), unit="m")
    evaluate = rng.random(n) < 0.5

    ev_parts = []
    rows = np.arange(n)

    def add(mask: npt.NDArray[np.bool_], at: pd.DatetimeIndex, frm: str | None, to: str) -> None:
        m = mask & (at <= end64)
        ev_parts.append(pd.DataFrame({"row": rows[m], "at": at[m], "from_state": frm,
                                      "to_state": to}))

    add(np.ones(n, dtype=bool), reported, None, "reported")
    add(voided, filed, "reported", "voided")
    ok = ~voided
    add(ok, filed, "reported", "filed")
    add(ok, dispatched, "filed", "dispatched")
    add(ok, handling, "dispatched", "handling")
    add(ok, handled, "handling", "handled")
    add(ok & rework, rework_at, "handled", "rework")
    add(ok & rework, handling2, "rework", "handling")
    add(ok & rework, handled2, "handling", "handled")
    add(ok, closed, "handled", "closed")
    add(ok & evaluate, evaluated, "closed", "evaluated")
    events = pd.concat(ev_parts, ignore_index=True).sort_values(["row", "at"], kind="stable")
    last = events.groupby("row")["to_state"].last()
    state = last.reindex(rows).to_numpy()

    def upto(ts: pd.DatetimeIndex, mask: npt.NDArray[np.bool_]) -> pd.Series:
        s = pd.Series(ts)
        return s.where(mask & (ts <= end64))

    df = pd.DataFrame({
        "external_id": [f"SYN-{seed}-{i}" for i in range(n)],
        "category_code": cat, "lon": lon, "lat": lat, "reported_at": reported,
        "description": "synthetic / 模拟数据", "address": None, "media_url": None,
        "state": state, "source": src, "urgency": urg,
        "reporter_name": None, "reporter_phone": None,
        "filed_at": upto(filed, ok), "dispatched_at": upto(dispatched, ok),
        "due_at": pd.Series(due).where(ok & (dispatched <= end64)),
        "handled_at": upto(final_handled, ok),
        "closed_at": upto(closed, ok),
        "rework_count": np.where(ok & rework & (rework_at <= end64), 1, 0),
    })
    events["actor"] = "synthetic"
    events["note"] = None
    with conn.begin_nested():
        df = _skip_existing(conn, df)
        if len(df) < n:  # already written for this seed: keep it idempotent
            events = events[events["row"].isin(df.index)]
            remap = pd.Series(np.arange(len(df)), index=df.index)
            events = events.assign(row=remap.reindex(events["row"]).to_numpy())
        if len(df):
            _write_rows(conn, df, actor="synthetic", params=params, synthetic=True,
                        events=events[["row", "at", "actor", "from_state", "to_state", "note"]])
    return len(df)
