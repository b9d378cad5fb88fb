"""Synthetic incidents (``synthetic = true``) for demos, tests and benchmarks.

Points cluster around randomly chosen buildings (hot buildings get many reports), with a
plausible mix of category, source and urgency, and a transition history per incident cut
off at the end of the period, so that open, overdue and closed cases all occur. Everything
is deterministic for a given seed. Written through the incidents' one write path
(:func:`gridmap.incidents.write.write_rows`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError
from gridmap.incidents.intake import IntakeParams
from gridmap.incidents.workflow import limit_for
from gridmap.incidents.write import skip_existing, write_rows
from gridmap.reference import workcal

_SYN_CATEGORIES = {  # weights of a plausible mix [unverified]
    "E0102": 18, "E0104": 12, "E0501": 14, "E0201": 10, "E0602": 9, "E0101": 5, "E0103": 6,
    "E0106": 4, "E0301": 5, "E0604": 5, "E0603": 4, "C0190": 3, "E0502": 3, "E0105": 1,
    "C0490": 2, "E0402": 1, "E0401": 0.3, "E0601": 2,
}
_SYN_SOURCES = {"patrol": 45, "hotline_12345": 30, "public": 10, "video": 8, "iot": 4,
                "referral": 3}

Times: TypeAlias = pd.DatetimeIndex
Mask: TypeAlias = npt.NDArray[np.bool_]


def _places(conn: Connection, n: int) -> npt.NDArray[np.float64]:
    """Anchor points: building interiors, else active grid interiors."""
    pts = conn.execute(sa.text(
        "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(geom) c FROM building "
        "ORDER BY id) b")).all()
    if not pts:
        pts = conn.execute(sa.text(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(gg.geom) c "
            "FROM grid_geometry gg JOIN grid_version gv ON gv.id = gg.version_id "
            "WHERE gv.status = 'active' ORDER BY gg.id) g")).all()
    if not pts or n <= 0:
        raise ValidationError("incidents.synth_no_places")
    return np.array(pts, dtype=float)


def _category_mix(conn: Connection) -> tuple[dict[str, Any], list[str], npt.NDArray[Any]]:
    """Stored sub-categories, the codes to draw from and their weights."""
    cats = conn.execute(sa.text(
        "SELECT code, default_urgency, time_limit, time_unit, urgent_time_limit, "
        "urgent_time_unit FROM event_category WHERE parent_code IS NOT NULL ORDER BY code")
    ).mappings().all()
    catmap = {c["code"]: c for c in cats}
    codes = [c for c in _SYN_CATEGORIES if c in catmap] or list(catmap)
    w = np.array([_SYN_CATEGORIES.get(c, 1.0) for c in codes], dtype=float)
    return catmap, codes, w


def _scatter(rng: np.random.Generator, base: npt.NDArray[np.float64], n: int
             ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Clustered points: a few hot buildings draw most reports (Zipf-like weights)."""
    weights = rng.pareto(1.2, len(base)) + 0.05
    anchor = rng.choice(len(base), size=n, p=weights / weights.sum())
    spread = rng.exponential(40.0, n)  # metres
    ang = rng.uniform(0, 2 * np.pi, n)
    lat = base[anchor, 1] + spread * np.sin(ang) / 111_320.0
    lon = base[anchor, 0] + spread * np.cos(ang) / (111_320.0 * np.cos(np.radians(base[anchor, 1])))
    return lon, lat


def _draw_cases(rng: np.random.Generator, n: int, start: dt.datetime, end: dt.datetime,
                catmap: Mapping[str, Any], codes: list[str], w: npt.NDArray[Any]
                ) -> tuple[Times, npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]]:
    """Report times, categories, sources and urgencies."""
    t0 = pd.Timestamp(start).tz_convert("UTC").value
    t1 = pd.Timestamp(end).tz_convert("UTC").value
    reported = pd.to_datetime(np.sort(rng.uniform(t0, t1, n)).astype(np.int64), utc=True)
    cat = np.array(codes, dtype=object)[rng.choice(len(codes), size=n, p=w / w.sum())]
    src = np.array(list(_SYN_SOURCES), dtype=object)[
        rng.choice(len(_SYN_SOURCES), size=n,
                   p=np.array(list(_SYN_SOURCES.values())) / sum(_SYN_SOURCES.values()))]
    urg = np.array([catmap[c]["default_urgency"] for c in cat], dtype=object)
    urg = np.where((urg == "normal") & (rng.random(n) < 0.12), "key", urg)
    return reported, cat, src, urg


def _lifecycle(rng: np.random.Generator, n: int, reported: Times, cat: npt.NDArray[Any],
               urg: npt.NDArray[Any], catmap: Mapping[str, Any], params: IntakeParams,
               cal: workcal.WorkCalendar) -> dict[str, Any]:
    """Times of every step of every case (and which cases are voided, reworked, evaluated)."""
    minutes = pd.to_timedelta
    voided = rng.random(n) < 0.05
    filed = reported + minutes(rng.uniform(5, 60, n), unit="m")
    dispatched = filed + minutes(rng.uniform(5, 30, n), unit="m")
    lims = [limit_for(catmap[c], u == "urgent", params) for c, u in zip(cat, urg, strict=True)]
    lim_v = np.array([v for v, _ in lims], dtype=float)
    lim_u = np.array([u for _, u in lims], dtype=str)
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
    return {"reported": reported, "voided": voided, "filed": filed, "dispatched": dispatched,
            "due": due, "handling": handling, "handled": handled, "rework": rework,
            "rework_at": rework_at, "handling2": handling2, "handled2": handled2,
            "final_handled": final_handled, "closed": closed, "evaluated": evaluated,
            "evaluate": evaluate}


def _events(t: Mapping[str, Any], n: int, end64: pd.Timestamp
            ) -> tuple[pd.DataFrame, npt.NDArray[Any]]:
    """The transition events up to ``end64`` (row, at, from_state, to_state) and the state
    each case has reached."""
    ev_parts = []
    rows = np.arange(n)

    def add(mask: Mask, at: Times, frm: str | None, to: str) -> None:
        m = mask & (at <= end64)
        ev_parts.append(pd.DataFrame({"row": rows[m], "at": at[m], "from_state": frm,
                                      "to_state": to}))

    ok, rework = ~t["voided"], t["rework"]
    add(np.ones(n, dtype=bool), t["reported"], None, "reported")
    add(t["voided"], t["filed"], "reported", "voided")
    add(ok, t["filed"], "reported", "filed")
    add(ok, t["dispatched"], "filed", "dispatched")
    add(ok, t["handling"], "dispatched", "handling")
    add(ok, t["handled"], "handling", "handled")
    add(ok & rework, t["rework_at"], "handled", "rework")
    add(ok & rework, t["handling2"], "rework", "handling")
    add(ok & rework, t["handled2"], "handling", "handled")
    add(ok, t["closed"], "handled", "closed")
    add(ok & t["evaluate"], t["evaluated"], "closed", "evaluated")
    events = pd.concat(ev_parts, ignore_index=True).sort_values(["row", "at"], kind="stable")
    last = events.groupby("row")["to_state"].last()
    return events, last.reindex(rows).to_numpy()


def _frame(seed: int, n: int, cases: Mapping[str, Any], t: Mapping[str, Any],
           state: npt.NDArray[Any], end64: pd.Timestamp) -> pd.DataFrame:
    """The incident rows, lifecycle times cut off at ``end64``."""
    ok = ~t["voided"]

    def upto(ts: Times, mask: Mask) -> pd.Series:
        s = pd.Series(ts)
        return s.where(mask & (ts <= end64))

    return pd.DataFrame({
        "external_id": [f"SYN-{seed}-{i}" for i in range(n)],
        "category_code": cases["cat"], "lon": cases["lon"], "lat": cases["lat"],
        "reported_at": t["reported"],
        "description": "synthetic / 模拟数据", "address": None, "media_url": None,
        "state": state, "source": cases["src"], "urgency": cases["urg"],
        "reporter_name": None, "reporter_phone": None,
        "filed_at": upto(t["filed"], ok), "dispatched_at": upto(t["dispatched"], ok),
        "due_at": pd.Series(t["due"]).where(ok & (t["dispatched"] <= end64)),
        "handled_at": upto(t["final_handled"], ok),
        "closed_at": upto(t["closed"], ok),
        "rework_count": np.where(ok & t["rework"] & (t["rework_at"] <= end64), 1, 0),
    })


def synthesise(conn: Connection, n: int, *, seed: int = 0, start: dt.datetime,
               end: dt.datetime, params: IntakeParams | None = None,
               calendar: workcal.WorkCalendar | None = None) -> int:
    """Write ``n`` spatially clustered synthetic incidents (``synthetic = true``).

    Points cluster around randomly chosen buildings (hot buildings get many reports), with a
    realistic mix of category, source and urgency, and a transition history per incident
    (filed, dispatched with a due time, handled, some 返工, closed, evaluated, some voided)
    cut off at ``end`` so that open, overdue and closed cases all occur. Idempotent for a
    seed: incidents already written for it are skipped.

    Returns
    -------
    int
        Number of incidents written.

    Raises
    ------
    ValidationError
        No buildings or active grids to place incidents, or ``end`` not after ``start``.
    """
    params = params or IntakeParams()
    rng = np.random.default_rng(seed)
    base = _places(conn, n)
    catmap, codes, w = _category_mix(conn)
    lon, lat = _scatter(rng, base, n)
    start, end = (d if d.tzinfo else d.replace(tzinfo=workcal.LOCAL_TZ) for d in (start, end))
    if end <= start:
        raise ValidationError("incidents.synth_end_before_start")
    reported, cat, src, urg = _draw_cases(rng, n, start, end, catmap, codes, w)
    end64 = pd.Timestamp(end).tz_convert("UTC")
    cal = calendar or workcal.calendar_from_db(conn, params.calendar)
    t = _lifecycle(rng, n, reported, cat, urg, catmap, params, cal)
    events, state = _events(t, n, end64)
    df = _frame(seed, n, {"cat": cat, "lon": lon, "lat": lat, "src": src, "urg": urg}, t,
                state, end64)
    events["actor"] = "synthetic"
    events["note"] = None
    with conn.begin_nested():
        df = skip_existing(conn, df)
        if len(df) < n:  # already written for this seed: keep it idempotent
            events = events[events["row"].isin(df.index)]
            remap = pd.Series(np.arange(len(df)), index=df.index)
            events = events.assign(row=remap.reindex(events["row"]).to_numpy())
        if len(df):
            write_rows(conn, df, actor="synthetic", params=params, synthetic=True,
                       events=events[["row", "at", "actor", "from_state", "to_state", "note"]])
    return len(df)
