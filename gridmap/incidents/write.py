"""The one write path of incidents: :func:`create` (one, from the API or Open311) and
:func:`import_incidents` (a file, all-or-nothing) both validate with
:mod:`gridmap.incidents.intake` and write with :func:`write_rows`.

:func:`write_rows` is set-based: duplicates are flagged with one sorted cell-hash pass
(:mod:`gridmap.incidents.duplicates`), case numbers assigned per category and day, then chunks
of rows are located with :class:`gridmap.incidents.locate.Locator` while the previous chunk is
being COPYed (:mod:`gridmap.db.bulkcopy`).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.db import bulkcopy, partitions
from gridmap.errors import Problem, ValidationError
from gridmap.incidents import duplicates, locate, rollups
from gridmap.incidents.intake import (
    IntakeParams,
    normalise_columns,
    starting_state_only,
    validate_rows,
)
from gridmap.incidents.query import get
from gridmap.reference import satisfaction, workcal

INCIDENT_COPY_COLS = (
    "id", "external_id", "case_no", "category_code", "source", "urgency", "state",
    "description", "address", "media_url", "reporter_name", "reporter_phone", "reported_at",
    "geom", "street_id", "community_id", "estate_id", "building_id", "grid_id",
    "grid_version_id", "located_by", "grid_distance_m", "near_boundary", "boundary_distance_m",
    "duplicate_of", "filed_at", "dispatched_at", "due_at", "handled_at", "closed_at",
    "rework_count", "synthetic", "import_id", "evaluated_at", "original_category",
    "responsible_unit", "satisfaction", "category_review", "location_note", "satisfaction_score",
)
EVENT_COPY_COLS = ("incident_id", "at", "actor", "from_state", "to_state", "note")
_LIFECYCLE = ("filed_at", "dispatched_at", "due_at", "handled_at", "closed_at", "evaluated_at")
_OPTIONAL_TEXT = ("original_category", "responsible_unit", "satisfaction", "location_note")


def skip_existing(conn: Connection, df: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``df`` whose ``external_id`` is not stored yet."""
    ext = df["external_id"].dropna()
    if ext.empty or not conn.execute(sa.text(
            "SELECT EXISTS (SELECT 1 FROM incident WHERE external_id IS NOT NULL)")).scalar():
        return df
    existing = {r[0] for r in conn.execute(
        sa.text("SELECT external_id FROM incident WHERE external_id = ANY(:e)"),
        {"e": ext.tolist()})}
    return df[~df["external_id"].isin(existing)] if existing else df


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
    "satisfaction_score": "int2",
    "grid_distance_m": "float8", "boundary_distance_m": "float8",
    "near_boundary": "bool", "synthetic": "bool", "category_review": "bool",
    "reported_at": "ts", "filed_at": "ts", "dispatched_at": "ts", "due_at": "ts",
    "handled_at": "ts", "closed_at": "ts", "evaluated_at": "ts", "at": "ts",
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
    return the statements that restore them (run in the same transaction).

    Only into an empty ``incident`` table (a first load): dropping an index takes an ACCESS
    EXCLUSIVE lock that would lock the web app's readers out of a table holding cases until
    the import commits. Into a table with data, rows go through the live indexes (readers
    keep reading; the SHARE ROW EXCLUSIVE lock of :func:`_reserve_ids` stops writers only).
    """
    existing = conn.execute(sa.text(
        "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'incident'::regclass"
    )).scalar_one()
    if n < params.rebuild_indexes_from_rows or existing > params.rebuild_indexes_max_ratio * n:
        return []
    if conn.execute(sa.text("SELECT EXISTS (SELECT 1 FROM incident)")).scalar_one():
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
            + [d.replace(" ON ONLY ", " ON ", 1) for _, d in idx])  # partitioned: all parts



def _reserve_ids(conn: Connection, n: int) -> npt.NDArray[np.int64]:
    """Lock ``incident`` against concurrent writers and reserve ``n`` consecutive ids."""
    conn.execute(sa.text("LOCK TABLE incident IN SHARE ROW EXCLUSIVE MODE"))
    first = int(conn.execute(sa.text("SELECT nextval('incident_id_seq')")).scalar_one())
    conn.execute(sa.text("SELECT setval('incident_id_seq', :v)"), {"v": first + n - 1})
    return np.arange(first, first + n, dtype=np.int64)


def _add_columns(conn: Connection, df: pd.DataFrame, *, synthetic: bool,
                 import_id: int | None, scale_file: str = "") -> None:
    """Case numbers, lifecycle times (as given, else empty), flags and the import run."""
    df["case_no"] = _case_numbers(conn, df)
    for c in _LIFECYCLE:
        df[c] = pd.to_datetime(df[c], utc=True) if c in df.columns else pd.NaT
    if "rework_count" not in df.columns:
        df["rework_count"] = 0
    for c in _OPTIONAL_TEXT:
        if c not in df.columns:
            df[c] = None
    if "satisfaction_score" not in df.columns:   # an office's 满意/基本满意/不满意 → 1–5
        words = satisfaction.scale(Path(scale_file)) if scale_file else None
        df["satisfaction_score"] = satisfaction.scores(df["satisfaction"], words)
    df["category_review"] = (df["category_review"].fillna(False).astype(bool)
                             if "category_review" in df.columns else False)
    df["synthetic"] = synthetic
    df["import_id"] = pd.array([import_id] * len(df), dtype="Int64")


def _copy_located(conn: Connection, df: pd.DataFrame, locator: locate.Locator,
                  at64: npt.NDArray[np.datetime64], timings: dict[str, float] | None
                  ) -> dict[str, int]:
    """Locate and encode chunk *k + 1* while chunk *k* is being COPYed into ``incident``."""
    n = len(df)
    lon, lat = df["lon"].to_numpy(float), df["lat"].to_numpy(float)
    counts = {"duplicates": int(df["duplicate_of"].notna().sum()), "near_boundary": 0,
              "nearest_grid": 0, "in_grid": 0, "no_grid": 0}
    busy = {"locate": 0.0, "encode": 0.0}
    heat = []  # day × community × H3 cell counts (rollups)
    reported = df["reported_at"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    with bulkcopy.CopyStream(conn, "incident", INCIDENT_COPY_COLS,
                             queued=n > COPY_CHUNK_ROWS) as stream:
        for a in range(0, n, COPY_CHUNK_ROWS):
            b = min(a + COPY_CHUNK_ROWS, n)
            t0 = time.perf_counter()
            loc = locator.assign(lon[a:b], lat[a:b], at64[a:b])
            counts["near_boundary"] += int(loc["near_boundary"].sum())
            counts["nearest_grid"] += int((loc["located_by"] == "nearest_grid").sum())
            counts["in_grid"] += int((loc["located_by"] == "grid").sum())
            counts["no_grid"] += int((loc["located_by"] == "none").sum())
            part = pd.concat([df.iloc[a:b].reset_index(drop=True), loc], axis=1)
            heat.append(rollups.h3_rows(lon[a:b], lat[a:b], reported[a:b], loc["community_id"]))
            t1 = time.perf_counter()
            stream.write(bulkcopy.encode_frame(
                part, INCIDENT_COPY_COLS, _KINDS,
                {"geom": bulkcopy.point_ewkb(lon[a:b], lat[a:b])}))
            busy["locate"] += t1 - t0
            busy["encode"] += time.perf_counter() - t1
    rollups.add_h3(conn, heat)
    if timings is not None:  # locate and encode overlap the server's COPY of earlier chunks
        timings.update({f"{k} (overlapped)": v for k, v in busy.items()})
    return counts


_IMPORTED_EVENTS = sa.text(
    """
    INSERT INTO incident_event (incident_id, at, actor, from_state, to_state, note, data)
    SELECT id, reported_at, :actor, NULL, 'reported', 'intake', NULL FROM incident
    WHERE id BETWEEN :a AND :b
    UNION ALL
    SELECT id, COALESCE(evaluated_at, closed_at, handled_at, dispatched_at, filed_at,
                        reported_at), :actor, NULL, state, 'imported',
           jsonb_strip_nulls(jsonb_build_object(
               'imported', true, 'filed_at', filed_at, 'dispatched_at', dispatched_at,
               'due_at', due_at, 'handled_at', handled_at, 'closed_at', closed_at,
               'evaluated_at', evaluated_at, 'import_id', import_id))
    FROM incident WHERE id BETWEEN :a AND :b AND state <> 'reported'
    """
)
"""History imports: the intake event, then one ``imported`` event carrying the file's
lifecycle times for every case past 信息收集 (no from_state: never a fake transition)."""


def _write_events(conn: Connection, ids: npt.NDArray[np.int64], events: pd.DataFrame | None,
                  actor: str | None, history: bool = False) -> None:
    """One intake event per new incident, or the given ``events``; with ``history`` the
    intake event plus one imported event per case past 信息收集."""
    n = len(ids)
    if history:
        conn.execute(_IMPORTED_EVENTS, {"actor": actor, "a": int(ids[0]),
                                        "b": int(ids[-1])})
    elif events is None:  # one intake event per row, written server-side (ids reserved at once)
        first = int(ids[0])
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


def write_rows(conn: Connection, df: pd.DataFrame, *, actor: str | None,
               params: IntakeParams, synthetic: bool = False, import_id: int | None = None,
               events: pd.DataFrame | None = None, timings: dict[str, float] | None = None,
               history: bool = False) -> tuple[npt.NDArray[np.int64], dict[str, int]]:
    """Locate, flag duplicates, COPY incidents and their first events.

    ``df`` is a validated frame (see :func:`~gridmap.incidents.intake.validate_rows`);
    optional lifecycle columns (filed_at, dispatched_at, due_at, handled_at, closed_at,
    rework_count) are copied as given. ``events`` (incident row position, at, actor,
    from_state, to_state, note) replaces the default single intake event per row;
    ``history`` writes imported events (see :data:`_IMPORTED_EVENTS`). An optional
    ``locate_at`` column is the time whose grid plan locates the row (default its report
    time).

    Everything that reads the database (duplicates, case numbers, the polygons) happens first;
    then chunks of rows are located and encoded while the previous chunk is being COPYed.

    Returns
    -------
    ids, counts
        The new ids in row order; ``duplicates``, ``near_boundary`` and ``nearest_grid``.
    """
    n = len(df)
    df = df.reset_index(drop=True).copy()
    ids = _reserve_ids(conn, n)
    lon, lat = df["lon"].to_numpy(float), df["lat"].to_numpy(float)
    when = df["locate_at"] if "locate_at" in df.columns else df["reported_at"]
    at64 = when.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[us]")
    t = time.perf_counter()
    locator = locate.load_locator(conn, locate.points_bbox(lon, lat),
                                  locate.LocateParams(near_boundary_m=params.near_boundary_m))
    t = _lap(timings, "load_polygons", t)
    df["id"] = ids
    df["duplicate_of"] = pd.array(duplicates.flag_duplicates(conn, df, ids, params),
                                  dtype="Int64")
    t = _lap(timings, "duplicates", t)
    _add_columns(conn, df, synthetic=synthetic, import_id=import_id,
                 scale_file=params.satisfaction_scale_file)
    t = _lap(timings, "prepare", t)
    restore = _deferred_constraints(conn, n, params)
    if restore:  # first load, the tables are locked exclusively anyway: create the months too
        partitions.ensure_for(conn, df["reported_at"])
    t = _lap(timings, "drop_indexes", t)
    counts = _copy_located(conn, df, locator, at64, timings)
    t = _lap(timings, "copy", t)
    _write_events(conn, ids, events, actor, history)
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

    A ``state``/``status`` key may only name the first state (``reported``/``open``):
    intake always starts at 信息收集; later states come only through transitions (or a
    flagged history import).

    Raises
    ------
    ValidationError
        With every problem of the input.
    Conflict-free re-submission:
        an ``external_id`` that exists returns the existing incident unchanged.
    """
    params = params or IntakeParams()
    rec = dict(data)
    rec = starting_state_only(rec)
    rec.setdefault("reported_at", dt.datetime.now(dt.UTC).isoformat())
    if isinstance(rec["reported_at"], dt.datetime):
        rec["reported_at"] = rec["reported_at"].isoformat()
    df = normalise_columns(pd.DataFrame([{k: v for k, v in rec.items()}]))
    clean, problems = validate_rows(conn, df, coords=coords, params=params)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ValidationError("incidents.incident_invalid",
                              [Problem(p.code, p.params, field=p.field) for p in errors])
    if clean["external_id"].iloc[0] is not None:
        # concurrent replays of one external_id queue here (the lock write_rows takes);
        # each then sees the case the first one committed and returns it
        conn.execute(sa.text("LOCK TABLE incident IN SHARE ROW EXCLUSIVE MODE"))
        found = conn.execute(sa.text("SELECT id FROM incident WHERE external_id = :e"),
                             {"e": clean["external_id"].iloc[0]}).scalar()
        if found is not None:
            return get(conn, int(found))
    with conn.begin_nested():
        ids, _ = write_rows(conn, clean, actor=actor, params=params)
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
        As :func:`write_validated`.

    Raises
    ------
    ValidationError
        Listing every bad row (nothing is written).
    """
    params = params or IntakeParams()
    t = time.perf_counter()
    clean, problems = validate_rows(conn, normalise_columns(frame), coords=coords, params=params)
    _lap(timings, "validate", t)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ValidationError("incidents.bad_rows", problems,
                              {"n": len({p.row for p in errors})})
    return write_validated(conn, clean, actor=actor, dry_run=dry_run, source_file=source_file,
                           params=params, timings=timings)


def first_plan_start(conn: Connection) -> dt.datetime | None:
    """Start of the earliest grid plan ever activated (``None`` when there is none)."""
    return conn.execute(sa.text(
        "SELECT min(valid_from) FROM grid_version WHERE status IN ('active', 'retired') "
        "AND valid_from IS NOT NULL")).scalar()


def _before_first_plan(conn: Connection, df: pd.DataFrame) -> int:
    """Rows reported before the first grid plan are located with the earliest plan and noted
    ``location_note = 'before_first_plan'`` (sets ``locate_at``); returns their count."""
    start = first_plan_start(conn)
    if start is None or not len(df):
        return 0
    early = (df["reported_at"] < pd.Timestamp(start)).to_numpy(dtype=bool)
    if early.any():
        df["locate_at"] = df["reported_at"].where(~early, pd.Timestamp(start))
        note = (df["location_note"] if "location_note" in df.columns
                else pd.Series(None, index=df.index, dtype=object))
        df["location_note"] = note.where(~early, "before_first_plan")
    return int(early.sum())


def write_validated(conn: Connection, clean: pd.DataFrame, *, actor: str | None,
                    dry_run: bool = False, source_file: str | None = None,
                    params: IntakeParams | None = None, timings: dict[str, float] | None = None,
                    history: bool = False) -> dict[str, Any]:
    """Write validated rows (see :func:`import_incidents`), skipping stored external ids.

    Returns
    -------
    dict
        ``rows``, ``inserted``, ``skipped_existing``, ``duplicates``, ``near_boundary``,
        ``in_grid``, ``nearest_grid`` (属地兜底), ``no_grid``, ``before_first_plan``,
        ``dry_run``, ``import_id``.
    """
    params = params or IntakeParams()
    t = time.perf_counter()
    todo = skip_existing(conn, clean).copy()
    early = _before_first_plan(conn, todo)
    _lap(timings, "skip_existing", t)
    report: dict[str, Any] = {"rows": len(clean), "skipped_existing": len(clean) - len(todo),
                              "before_first_plan": early, "dry_run": dry_run,
                              "import_id": None}
    with conn.begin_nested() as sp:
        import_id = None
        if not dry_run:
            import_id = conn.execute(sa.text(
                "INSERT INTO import_run (kind, source_file, actor) VALUES ('incidents', :f, :a) "
                "RETURNING id"), {"f": source_file, "a": actor}).scalar_one()
        ids, counts = write_rows(conn, todo, actor=actor, params=params, import_id=import_id,
                                  timings=timings, history=history) if len(todo) else \
            (np.array([], dtype=np.int64), {"duplicates": 0, "near_boundary": 0,
                                           "nearest_grid": 0, "in_grid": 0, "no_grid": 0})
        report.update(inserted=len(ids), import_id=import_id, **counts)
        if dry_run:
            sp.rollback()
        else:
            conn.execute(sa.text("UPDATE import_run SET finished_at = now(), report = :r "
                                 "WHERE id = :id"),
                         {"r": json.dumps(report), "id": import_id})
    return report
