"""Duplicate flagging (疑似重复): a new incident is a possible duplicate of the earliest open
incident of the same category reported within ``duplicate_radius_m`` and the preceding
``duplicate_window_hours``, found with one sorted cell-hash pass over new and stored points."""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import crs
from gridmap.incidents.intake import IntakeParams
from gridmap.incidents.states import OPEN_STATES


def earliest_neighbour(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64],
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


def flag_duplicates(conn: Connection, df: pd.DataFrame, ids: npt.NDArray[np.int64],
                     params: IntakeParams) -> npt.NDArray[np.float64]:
    """``duplicate_of`` per new row (NaN if none): the earliest open incident of the same
    category within ``duplicate_radius_m`` and ``duplicate_window_hours`` reported before it
    (new rows and open incidents already stored; see :func:`earliest_neighbour`)."""
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
    mcrs = crs.metric_crs(all_lon.min(), all_lat.min(), all_lon.max(), all_lat.max())
    x, y = crs.project_xy(all_lon, all_lat, crs.STORAGE_EPSG, mcrs)
    cat_idx, _ = pd.factorize(all_cat)
    found = earliest_neighbour(np.asarray(x), np.asarray(y), all_t, cat_idx, all_open,
                                all_ids, n, params.duplicate_radius_m, win)
    dup[found >= 0] = all_ids[found[found >= 0]]
    return dup

