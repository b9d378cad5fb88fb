"""The space-time cube of cases on the active grids, and the grids' queen contiguity.

One SQL aggregate counts cases per (grid, step); numpy scatters the rows into a dense
n × T array. Neighbours are grids whose active geometries intersect (share an edge or a
point: queen contiguity, within 0.1 m so that digitising slivers do not cut a neighbour),
found once with one GiST self-join in PostGIS.

Time steps are local (Asia/Shanghai) calendar weeks (Monday to Sunday) or months. Only whole
steps are analysed: the default window ends before the current step, because a step still in
progress would look like a cold spot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from scipy import sparse
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError
from gridmap.incidents.query import filter_sql
from gridmap.reference.workcal import LOCAL_TZ

STEPS = ("week", "month")
DEFAULT_STEPS = {"week": 104, "month": 24}
"""Steps analysed when no start is given (two years)."""
MAX_STEPS = {"week": 520, "month": 240}
"""At most ten years of weeks / twenty of months in one cube."""
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 31)
"""Days a window may name (intake refuses cases before 2000)."""

_STEP_SQL = {
    # step index of a case, from its local report time and the first step's start (:t0)
    "week": "((date_trunc('week', i.reported_at AT TIME ZONE 'Asia/Shanghai')::date - CAST(:t0 AS date)) / 7)",
    "month": "((extract(year FROM i.reported_at AT TIME ZONE 'Asia/Shanghai')::int * 12"
             " + extract(month FROM i.reported_at AT TIME ZONE 'Asia/Shanghai')::int)"
             " - (extract(year FROM CAST(:t0 AS date))::int * 12 + extract(month FROM CAST(:t0 AS date))::int))",
}

_CUBE_SQL = (  # one row of three arrays; the join to unnest is hashed (ANY() is not)
    "SELECT coalesce(array_agg(grid_id), '{{}}'), coalesce(array_agg(k), '{{}}'), "
    "coalesce(array_agg(n), '{{}}') FROM (SELECT i.grid_id, {step} AS k, count(*) AS n "
    "FROM incident i JOIN unnest(CAST(:ids AS int[])) AS g(id) ON g.id = i.grid_id "
    "WHERE {where} GROUP BY 1, 2) t")
_GRIDS_SQL = (
    "SELECT gg.grid_id, g.grid_code FROM grid_geometry gg "
    "JOIN grid_version gv ON gv.id = gg.version_id JOIN grid g ON g.id = gg.grid_id "
    "JOIN community c ON c.id = gv.community_id "
    "WHERE gv.status = 'active' AND (CAST(:streets AS int[]) IS NULL OR c.street_id = ANY(:streets))"
    " AND (CAST(:comms AS int[]) IS NULL OR gv.community_id = ANY(:comms)) ORDER BY gg.grid_id")
_PAIRS_SQL = (  # joined on the tables (not a CTE) so that the GiST index of geom is used
    "SELECT coalesce(array_agg(a.grid_id), '{}'), coalesce(array_agg(b.grid_id), '{}') "
    "FROM grid_geometry a "
    "JOIN grid_version va ON va.id = a.version_id AND va.status = 'active' "
    "JOIN grid_geometry b ON ST_DWithin(a.geom, b.geom, :tol) AND a.grid_id < b.grid_id "
    "JOIN grid_version vb ON vb.id = b.version_id AND vb.status = 'active' "
    "WHERE a.grid_id = ANY(:ids) AND b.grid_id = ANY(:ids)")
TOUCH_TOLERANCE_DEG = 1e-6
"""Grids closer than this (≈ 0.1 m) are neighbours: digitised shared edges are rarely exact."""


@dataclass(frozen=True)
class Cube:
    """Cases per active grid and time step, with the grids' contiguity.

    ``counts`` is n × T (grids in ``grid_ids`` order, steps oldest first); ``steps`` are the
    local start dates of the steps; ``adjacency`` is the n × n 0/1 queen contiguity (no
    diagonal).
    """

    grid_ids: npt.NDArray[np.int64]
    grid_codes: list[str]
    step: str
    steps: list[dt.date]
    counts: npt.NDArray[np.float64]
    adjacency: sparse.csr_matrix


def step_start(day: dt.date, step: str) -> dt.date:
    """Start (Monday, or the 1st) of the week or month containing ``day``."""
    if step == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def next_start(day: dt.date, step: str) -> dt.date:
    """Start of the step after the one starting on ``day``."""
    if step == "week":
        return day + dt.timedelta(days=7)
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def step_dates(step: str, start: dt.date | None, end: dt.date | None,
               today: dt.date | None = None) -> list[dt.date]:
    """Start dates of the whole steps between ``start`` and ``end`` (inclusive days).

    Without ``end`` the last step is the last whole one before ``today``; without ``start``
    the window holds :data:`DEFAULT_STEPS` steps.
    """
    if step not in STEPS:
        raise ValidationError("analysis.step", params={"value": step})
    for day in (start, end):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise ValidationError("analysis.day_out_of_range", params={
                "value": str(day), "earliest": str(EARLIEST), "latest": str(LATEST)})
    today = today or dt.datetime.now(LOCAL_TZ).date()
    last = step_start(end, step) if end else step_start(step_start(today, step)
                                                          - dt.timedelta(days=1), step)
    if start is None:
        first = last
        for _ in range(DEFAULT_STEPS[step] - 1):
            first = step_start(first - dt.timedelta(days=1), step)
    else:
        first = step_start(start, step)
    if first > last:
        raise ValidationError("analysis.window", params={"start": str(first), "end": str(last)})
    n = ((last - first).days // 7 if step == "week"
         else (last.year - first.year) * 12 + last.month - first.month) + 1
    if n > MAX_STEPS[step]:
        raise ValidationError("analysis.too_many_steps", params={"n": n, "max": MAX_STEPS[step]})
    out = [first]
    while out[-1] < last:
        out.append(next_start(out[-1], step))
    return out


def load_grids(conn: Connection, street_ids: Sequence[int] | None = None,
               community_ids: Sequence[int] | None = None
               ) -> tuple[npt.NDArray[np.int64], list[str], sparse.csr_matrix]:
    """Active grids in scope (ids, codes) and their queen contiguity (n × n, 0/1)."""
    rows = conn.execute(sa.text(_GRIDS_SQL), {
        "streets": None if street_ids is None else list(street_ids),
        "comms": None if community_ids is None else list(community_ids)}).all()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    codes = [str(r[1]) for r in rows]
    a, b = conn.execute(sa.text(_PAIRS_SQL), {"ids": ids.tolist(),
                                               "tol": TOUCH_TOLERANCE_DEG}).one()
    n = len(ids)
    r = np.searchsorted(ids, np.asarray(a, dtype=np.int64))
    c = np.searchsorted(ids, np.asarray(b, dtype=np.int64))
    adj = sparse.coo_matrix((np.ones(len(r)), (r, c)), shape=(n, n)).tocsr()
    return ids, codes, sparse.csr_matrix(((adj + adj.T) > 0).astype(float))


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=LOCAL_TZ)


def load_cube(conn: Connection, step: str, steps: Sequence[dt.date], *,
              street_ids: Sequence[int] | None = None,
              community_ids: Sequence[int] | None = None,
              filters: Mapping[str, Any] | None = None) -> Cube:
    """The cube of cases per active grid and step (one SQL aggregate).

    Parameters
    ----------
    step:
        ``week`` or ``month``.
    steps:
        Start dates of the steps (:func:`step_dates`).
    street_ids, community_ids:
        Limit the grids (and so the study area) to these streets / communities.
    filters:
        Further incident filters of :func:`gridmap.incidents.filter_sql` (categories, …).

    Returns
    -------
    Cube
        Dense counts (grids without cases are zero rows) and the contiguity.
    """
    if step not in STEPS:
        raise ValidationError("analysis.step", params={"value": step})
    ids, codes, adj = load_grids(conn, street_ids, community_ids)
    end = next_start(steps[-1], step)
    where, fp = filter_sql({**(filters or {}), "start": _local_midnight(steps[0]),
                            "end": _local_midnight(end)})
    # one row of three arrays: numpy reads them without a Python object per (grid, step)
    g, k, c = conn.execute(sa.text(_CUBE_SQL.format(step=_STEP_SQL[step], where=where)),
                           {**fp, "t0": steps[0], "ids": ids.tolist()}).one()
    grid, step_no, n = (np.asarray(v, dtype=np.int64) for v in (g, k, c))
    counts = np.zeros((len(ids), len(steps)))
    ok = (step_no >= 0) & (step_no < len(steps))
    counts[np.searchsorted(ids, grid[ok]), step_no[ok]] = n[ok]
    return Cube(grid_ids=ids, grid_codes=codes, step=step, steps=list(steps), counts=counts,
                adjacency=adj)
