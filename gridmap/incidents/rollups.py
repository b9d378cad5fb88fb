"""Incident rollups: counts per day × area × category × state and per day × H3 cell
(migration 0020, docs/city.md "Rollups").

- ``incident_rollup_day`` (day = the report's date in Asia/Shanghai; street, community and
  grid ids, 0 where the case has none; category; current state; n) is kept exact by
  statement-level triggers on ``incident``: every INSERT, UPDATE (a transition moves one
  count from the old state to the new) and DELETE applies its net delta in one upsert.
- ``incident_rollup_h3`` (day × community × H3 cell at :data:`H3_RES`; n) is written by the
  import path (:func:`h3_rows` per chunk in :mod:`gridmap.incidents.write`, then
  :func:`add_h3`): H3 is computed by the h3 library, not in SQL. Location never changes in a
  transition, so only inserts (and :func:`rebuild`) touch it. Cells come from coordinates
  rounded to 1e-4° (≈ 10 m, the lattice the scanning heat map uses too).

Readers: :func:`day_counts` (dashboard KPIs, trends, indicators), :func:`heat_cells`
(heat map). Both read only rollup rows, so a month of a 10M-case city answers in
milliseconds; archived (detached) months keep their rollups.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import h3
import numpy as np
import numpy.typing as npt
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.db.bulkcopy import copy_frame
from gridmap.errors import ValidationError

H3_RES = 9
LOCAL_TZ = "Asia/Shanghai"
_GROUPS = ("day", "street_id", "community_id", "grid_id", "category_code", "state")
_REBUILD_DAY = (
    "INSERT INTO incident_rollup_day (day, street_id, community_id, grid_id, category_code, "
    "state, n) SELECT (reported_at AT TIME ZONE 'Asia/Shanghai')::date, coalesce(street_id, 0),"
    " coalesce(community_id, 0), coalesce(grid_id, 0), category_code, state, count(*) "
    "FROM incident GROUP BY 1, 2, 3, 4, 5, 6")


def _filters(street_ids: Sequence[int] | None, community_ids: Sequence[int] | None,
             grid_ids: Sequence[int] | None, categories: Sequence[str] | None,
             states: Sequence[str] | None) -> tuple[str, dict[str, Any]]:
    """WHERE fragments (fixed text) and their parameters."""
    parts, params = [], {}
    for col, vals in (("street_id", street_ids), ("community_id", community_ids),
                      ("grid_id", grid_ids), ("category_code", categories), ("state", states)):
        if vals is not None:
            parts.append(f" AND {col} = ANY(:{col})")
            params[col] = list(vals)
    return "".join(parts), params


def day_counts(conn: Connection, start: dt.date, end: dt.date, *,
               by: Sequence[str] = ("day",), street_ids: Sequence[int] | None = None,
               community_ids: Sequence[int] | None = None,
               grid_ids: Sequence[int] | None = None, categories: Sequence[str] | None = None,
               states: Sequence[str] | None = None) -> pd.DataFrame:
    """Case counts of cases reported from ``start`` to ``end`` (local dates, both included).

    Parameters
    ----------
    by
        Columns to group by, any of ``day``, ``street_id``, ``community_id``, ``grid_id``,
        ``category_code``, ``state`` (empty: one total row).
    street_ids, community_ids, grid_ids, categories, states
        Optional filters (``None``: all). Ids are 0 for cases located in no such area.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns and ``n``, sorted by them.
    """
    bad = [b for b in by if b not in _GROUPS]
    if bad:
        raise ValidationError("city.rollup_bad_group", params={"by": ", ".join(bad)})
    where, params = _filters(street_ids, community_ids, grid_ids, categories, states)
    cols = ", ".join(by)
    head = f"SELECT {cols + ', ' if cols else ''}sum(n)::bigint AS n"
    tail = f" GROUP BY {cols} ORDER BY {cols}" if cols else ""
    sql = f"{head} FROM incident_rollup_day WHERE day BETWEEN :a AND :b{where}{tail}"  # noqa: S608
    rows = conn.execute(sa.text(sql), {"a": start, "b": end, **params}).all()
    frame = pd.DataFrame(rows, columns=[*by, "n"])
    frame["n"] = frame["n"].fillna(0).astype("int64")
    return frame


def heat_cells(conn: Connection, start: dt.date, end: dt.date, *, res: int = H3_RES,
               community_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Counts per H3 cell (``res`` ≤ :data:`H3_RES`) of cases reported from ``start`` to
    ``end``: [{h3, count, lon, lat}], busiest first."""
    if not 0 <= res <= H3_RES:
        raise ValidationError("city.rollup_bad_res", params={"res": res, "max": H3_RES})
    where = " AND community_id = ANY(:c)" if community_ids is not None else ""
    head = "SELECT cell, sum(n)::bigint FROM incident_rollup_h3 WHERE res = :r"
    sql = f"{head} AND day BETWEEN :a AND :b{where} GROUP BY cell"  # noqa: S608 - fixed
    rows = conn.execute(sa.text(sql),
        {"r": H3_RES, "a": start, "b": end, "c": list(community_ids or [])}).all()
    counts: dict[str, int] = {}
    for cell, n in rows:
        key = h3.int_to_str(int(cell))
        if res < H3_RES:
            key = h3.cell_to_parent(key, res)
        counts[key] = counts.get(key, 0) + int(n)
    out = []
    for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        lat, lon = h3.cell_to_latlng(key)
        out.append({"h3": key, "count": n, "lon": lon, "lat": lat})
    return out


def cells_of(lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64],
             res: int = H3_RES) -> npt.NDArray[np.int64]:
    """H3 cells (as integers) of points rounded to 1e-4°: h3 runs once per distinct point."""
    key = (np.rint(lat * 1e4).astype(np.int64) << 32) + np.rint(lon * 1e4).astype(np.int64)
    uniq, inv = np.unique(key, return_inverse=True)
    ulat = (uniq >> 32) / 1e4
    ulon = (uniq - ((uniq >> 32) << 32)) / 1e4
    cells = np.fromiter((h3.str_to_int(h3.latlng_to_cell(a, b, res))
                         for a, b in zip(ulat.tolist(), ulon.tolist(), strict=True)),
                        dtype=np.uint64, count=len(uniq)).view(np.int64)
    return cells[inv]


def h3_rows(lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64],
            at64: npt.NDArray[np.datetime64], community: npt.ArrayLike) -> pd.DataFrame:
    """Aggregated (day, community_id, cell, n) of a chunk of new cases (UTC times)."""
    local = pd.DatetimeIndex(at64).tz_localize("UTC").tz_convert(LOCAL_TZ)
    frame = pd.DataFrame({"day": local.normalize().tz_localize(None).to_numpy(),
                          "community_id": pd.Series(community).fillna(0).astype("int64")
                          .to_numpy(),
                          "cell": cells_of(lon, lat)})
    return frame.groupby(["day", "community_id", "cell"], as_index=False).size().rename(
        columns={"size": "n"})


def add_h3(conn: Connection, parts: Sequence[pd.DataFrame]) -> None:
    """Add chunks from :func:`h3_rows` to ``incident_rollup_h3`` (COPY + one upsert)."""
    if not parts:
        return
    frame = pd.concat(parts).groupby(["day", "community_id", "cell"], as_index=False)["n"].sum()
    frame["day"] = pd.to_datetime(frame["day"]).dt.tz_localize("UTC")
    conn.execute(sa.text("CREATE TEMP TABLE IF NOT EXISTS _rollup_h3 (day timestamptz, "
                         "community_id int, cell bigint, n bigint) ON COMMIT DROP"))
    conn.execute(sa.text("TRUNCATE _rollup_h3"))
    cells = frame["cell"].to_numpy(np.int64)  # 64-bit exact (the generic encoder goes via float)
    copy_frame(conn, "_rollup_h3", ["day", "community_id", "cell", "n"], frame,
               {"day": "ts", "community_id": "int4", "n": "int8"},
               {"cell": (np.full(len(cells), 8, dtype=np.int64),
                         cells.astype(">i8").view(np.uint8))})
    conn.execute(sa.text(
        "INSERT INTO incident_rollup_h3 AS r (day, res, cell, community_id, n) "
        "SELECT (day AT TIME ZONE 'UTC')::date, :res, cell, community_id, n FROM _rollup_h3 "
        "ON CONFLICT (day, res, cell, community_id) DO UPDATE SET n = r.n + EXCLUDED.n"),
        {"res": H3_RES})


def rebuild(conn: Connection, chunk: int = 1_000_000) -> dict[str, int]:
    """Recompute both rollups from the stored cases (after a repair or a bulk SQL change).

    Returns the number of rollup rows written per table.
    """
    with conn.begin_nested():
        conn.execute(sa.text("LOCK TABLE incident IN SHARE MODE"))
        conn.execute(sa.text("TRUNCATE incident_rollup_day, incident_rollup_h3"))
        conn.execute(sa.text(_REBUILD_DAY))
        last, parts = 0, []
        while True:
            rows = conn.execute(sa.text(
                "SELECT id, ST_X(geom), ST_Y(geom), reported_at, community_id FROM incident "
                "WHERE id > :last ORDER BY id LIMIT :n"), {"last": last, "n": chunk}).all()
            if not rows:
                break
            f = pd.DataFrame(rows, columns=["id", "lon", "lat", "at", "community"])
            at64 = pd.to_datetime(f["at"], utc=True).dt.tz_localize(None).to_numpy()
            parts.append(h3_rows(f["lon"].to_numpy(float), f["lat"].to_numpy(float), at64,
                                 f["community"]))
            last = int(f["id"].iloc[-1])
        add_h3(conn, parts)
        return {table: int(conn.execute(sa.text(
            f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608 - fixed names
            for table in ("incident_rollup_day", "incident_rollup_h3")}
