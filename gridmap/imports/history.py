"""Case history in an import: lifecycle times of closed and evaluated cases.

Only under an explicit history flag (``gridmap import incidents --history``): a file's
lifecycle times (filed, dispatched, due, handled, closed, evaluated) and final states are kept
as they are and recorded as one ``imported`` event per case
(:data:`gridmap.incidents.write._IMPORTED_EVENTS`), never replayed as transitions. Without the
flag such rows are refused (``tables.history_needs_flag``), so history never enters by
accident.

Checks (:func:`check`): no lifecycle time before the report time or in the future; a closed or
evaluated case without a closing time is a warning (its indicators stay incomplete). A due
time the file lacks is computed from the category's time limit on the working clock, from the
dispatch time (else filing, else report time), as the workflow does at dispatch; the count is
reported.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import Problem
from gridmap.incidents.intake import IntakeParams
from gridmap.incidents.workflow import limit_for
from gridmap.reference import workcal

TIMES: tuple[str, ...] = ("filed_at", "dispatched_at", "due_at", "handled_at", "closed_at",
                          "evaluated_at")
HISTORY_STATES = ("handled", "closed", "evaluated")
_CLOCK_STATES = ("dispatched", "handling", "returned", "extended", "parked", "handled",
                 "rework", "closed", "evaluated")
_SLACK = pd.Timedelta(minutes=1)


def _times(df: pd.DataFrame) -> dict[str, pd.Series]:
    out = {}
    for c in TIMES:
        s = df[c] if c in df.columns else pd.Series(pd.NaT, index=df.index)
        out[c] = pd.to_datetime(s, utc=True)
    return out


def check(conn: Connection, df: pd.DataFrame, allowed: bool, params: IntakeParams,
          now: dt.datetime | None = None) -> list[Problem]:
    """Problems of the lifecycle columns of validated rows ``df`` (changed in place: times as
    UTC timestamps, missing due times computed when ``allowed``)."""
    times = _times(df)
    for c, s in times.items():
        df[c] = s
    has_time = np.zeros(len(df), dtype=bool)
    for s in times.values():
        has_time |= s.notna().to_numpy()
    state = df["state"].astype(object)
    past = state.isin(HISTORY_STATES).to_numpy(dtype=bool)
    rownum = np.arange(1, len(df) + 1)
    if not allowed:
        return [Problem("tables.history_needs_flag", {"state": str(state.iloc[r - 1])},
                        row=int(r), field="state") for r in rownum[has_time | past]]
    problems: list[Problem] = []
    reported = pd.to_datetime(df["reported_at"], utc=True)
    limit = pd.Timestamp(now or dt.datetime.now(dt.UTC)) + pd.Timedelta(hours=1)
    for c, s in times.items():
        early = (s < reported - _SLACK).to_numpy(dtype=bool)
        problems += [Problem("tables.history_before_report", {"time": c}, row=int(r), field=c)
                     for r in rownum[early]]
        late = (s > limit).to_numpy(dtype=bool) if c != "due_at" else np.zeros(len(df), bool)
        problems += [Problem("tables.history_future_time", {"time": c}, row=int(r), field=c)
                     for r in rownum[late]]
    closed = state.isin(("closed", "evaluated")).to_numpy(dtype=bool)
    open_end = closed & times["closed_at"].isna().to_numpy()
    problems += [Problem("tables.closed_without_time", row=int(r), field="closed_at",
                         severity="warning") for r in rownum[open_end]]
    n = _fill_due(conn, df, params)
    if n:
        problems.append(Problem("tables.due_computed", {"n": n}, field="due_at",
                                severity="warning"))
    return problems


def _fill_due(conn: Connection, df: pd.DataFrame, params: IntakeParams) -> int:
    """Due times the file lacks, for cases whose clock started (dispatched or later)."""
    state = df["state"].astype(object)
    start = df["dispatched_at"].fillna(df["filed_at"]).fillna(
        pd.to_datetime(df["reported_at"], utc=True))
    need = (df["due_at"].isna() & (state.isin(_CLOCK_STATES) | df["dispatched_at"].notna())
            ).to_numpy(dtype=bool)
    if not need.any():
        return 0
    cats = {r["code"]: r for r in conn.execute(sa.text(
        "SELECT code, time_limit, time_unit, urgent_time_limit, urgent_time_unit "
        "FROM event_category")).mappings()}
    sub_cat = df["category_code"].to_numpy(dtype=object)[need]
    urgent = (df["urgency"].to_numpy(dtype=object)[need] == "urgent")
    lims = [limit_for(cats.get(c, {}), bool(u), params) for c, u in zip(sub_cat, urgent,
                                                                         strict=True)]
    cal = workcal.calendar_from_db(conn, params.calendar)
    starts = start[need].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    due = cal.due_many(starts.astype("datetime64[m]"), np.array([v for v, _ in lims], float),
                       np.array([u for _, u in lims], dtype=str), urgent)
    col = df["due_at"].copy()
    col.iloc[np.flatnonzero(need)] = pd.to_datetime(due, utc=True)
    df["due_at"] = col
    return int(need.sum())
