"""What one partition does. Every function here runs inside the worker's write
transaction, deletes the partition's previous rows by its key and writes the new ones, so
with :func:`gridmap.batch.jobs.finish` in the same transaction a partition is written
exactly once whatever happens to workers.

Each function takes the connection, the job id, the partition key, the partition's
parameters and its payload (the rows of an input file travel with the task) and returns
the number of rows written.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.access.storage import copy_rows

Work = Callable[[Connection, int, str, Mapping[str, Any], Mapping[str, Any]], int]

_LOCATE_COLUMNS = ["job_id", "row_no", "part_key", "lon", "lat", "reported_at", "street_id",
                   "community_id", "estate_id", "building_id", "grid_id", "grid_version_id",
                   "located_by", "grid_distance_m", "near_boundary", "boundary_distance_m"]
_LOCATE_KINDS = {"job_id": "int8", "row_no": "int8", "part_key": "text", "lon": "float8",
                 "lat": "float8", "reported_at": "ts", "street_id": "int4",
                 "community_id": "int4", "estate_id": "int4", "building_id": "int4",
                 "grid_id": "int4", "grid_version_id": "int4", "located_by": "text",
                 "grid_distance_m": "float8", "near_boundary": "bool",
                 "boundary_distance_m": "float8"}


def _clear(conn: Connection, table: str, job_id: int, key: str) -> None:
    # table names are the fixed result tables of this module, never input
    conn.execute(sa.text(f"DELETE FROM {table} WHERE job_id = :j AND part_key = :k"),  # noqa: S608
                 {"j": job_id, "k": key})


def locate(conn: Connection, job_id: int, key: str, params: Mapping[str, Any],
           payload: Mapping[str, Any]) -> int:
    """Incident points of one chunk → street, community, estate, building, grid
    (:func:`gridmap.incidents.locate.assign_points`), into ``batch_locate_result`` (one
    binary COPY built column-wise)."""
    from gridmap.db.bulkcopy import copy_frame
    from gridmap.incidents.locate import assign_points

    lon = np.asarray(payload["lon"], dtype=float)
    lat = np.asarray(payload["lat"], dtype=float)
    at = pd.to_datetime(pd.Series(payload["at"]), utc=True)
    frame = assign_points(conn, lon, lat, at.to_numpy())
    frame["job_id"] = job_id
    frame["row_no"] = np.asarray(payload["row_no"], dtype=np.int64)
    frame["part_key"] = key
    frame["lon"], frame["lat"], frame["reported_at"] = lon, lat, at.to_numpy()
    _clear(conn, "batch_locate_result", job_id, key)
    copy_frame(conn, "batch_locate_result", _LOCATE_COLUMNS, frame, _LOCATE_KINDS)
    return len(frame)


def geocode(conn: Connection, job_id: int, key: str, params: Mapping[str, Any],
            payload: Mapping[str, Any]) -> int:
    """Addresses of one chunk geocoded against the register (:mod:`gridmap.geocode`), into
    ``batch_geocode_result`` (the result row as JSON)."""
    from gridmap.geocode.match import geocode as geocode_addresses
    from gridmap.geocode.register import load_index

    texts = list(payload["address"])
    res = geocode_addresses(load_index(conn), texts)
    _clear(conn, "batch_geocode_result", job_id, key)
    cols = ["level", "score", "lon", "lat", "status", "reason", "entry_id", "building_id"]
    out = [(job_id, int(r), key, texts[i],
            json.dumps({c: _plain(res.iloc[i][c]) for c in cols}, ensure_ascii=False))
           for i, r in enumerate(payload["row_no"])]
    copy_rows(conn, "batch_geocode_result", ["job_id", "row_no", "part_key", "address",
                                             "result"], out)
    return len(out)


def _plain(v: Any) -> Any:
    if v is None or v is pd.NA or (isinstance(v, float) and not np.isfinite(v)):
        return None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


def partition(conn: Connection, job_id: int, key: str, params: Mapping[str, Any],
              payload: Mapping[str, Any]) -> int:
    """Auto-partition (draft plans) of the communities of one street
    (:func:`gridmap.grids.autopartition.auto_partition`, same seed as one machine)."""
    from gridmap.grids.autopartition import auto_partition

    ids = [int(c) for c in params["community_ids"]]
    for cid in ids:
        auto_partition(conn, cid, seed=int(params.get("seed", 0)), actor=f"batch:{job_id}")
    return len(ids)


def ehsa(conn: Connection, job_id: int, key: str, params: Mapping[str, Any],
         payload: Mapping[str, Any]) -> int:
    """Emerging hot spots of one street's grids (:func:`gridmap.analysis.report.run` with
    ``street_ids=[street]``), into ``batch_ehsa_result``."""
    from gridmap.analysis import report

    def day(v: Any) -> dt.date | None:
        return dt.date.fromisoformat(v) if v else None

    run = report.run(conn, str(params.get("step", "week")), day(params.get("start")),
                     day(params.get("end")), street_ids=[int(params["street_id"])],
                     today=day(params.get("today")))
    _clear(conn, "batch_ehsa_result", job_id, key)
    out = [(job_id, r["grid_id"], key, r["class"], json.dumps(r, default=str))
           for r in report.rows(run)]
    copy_rows(conn, "batch_ehsa_result", ["job_id", "grid_id", "part_key", "class", "result"],
              out)
    return len(out)


def coverage(conn: Connection, job_id: int, key: str, params: Mapping[str, Any],
             payload: Mapping[str, Any]) -> int:
    """``building_coverage`` of one street's buildings (see :mod:`gridmap.batch.coverage`)."""
    from gridmap.batch.coverage import street_coverage

    return street_coverage(conn, [int(b) for b in params["building_ids"]],
                           float(params.get("speed", 60.0)))


WORK: dict[str, Work] = {"locate": locate, "geocode": geocode, "partition": partition,
                         "ehsa": ehsa, "coverage": coverage}
