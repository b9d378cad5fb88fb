"""Years of synthetic incidents for the city: seasonality by hour, weekday and month, and
spatial clustering on hot buildings (docs/city.md).

Written through the incidents' one write path (:func:`gridmap.incidents.write.write_rows`:
location at all five levels, case numbers, intake events), in chunks so memory stays flat
for tens of millions of rows. Deterministic for a seed.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.city.params import CityParams
from gridmap.db import partitions
from gridmap.incidents.intake import IntakeParams
from gridmap.incidents.write import write_rows

CHUNK = 1_000_000
# reports per hour of the day (Asia/Shanghai): quiet nights, morning and afternoon peaks
HOURLY = np.array([1, 0.6, 0.4, 0.3, 0.3, 0.6, 1.5, 3, 5, 6.5, 6.5, 5.5, 4, 4.5, 5.5, 5.5,
                   5, 4.5, 3.5, 3, 2.8, 2.4, 1.8, 1.3])
WEEKDAY = np.array([1.08, 1.04, 1.0, 1.0, 0.98, 0.82, 0.74])  # Monday first
_SOURCES = np.array(["patrol", "hotline_12345", "public", "video", "iot", "referral"],
                    dtype=object)
_SOURCE_W = np.array([40, 38, 9, 8, 3, 2], dtype=float)


def day_weights(days: pd.DatetimeIndex) -> npt.NDArray[np.float64]:
    """Relative volume per day: weekday profile × a summer peak (July/August, +25 %)."""
    doy = days.day_of_year.to_numpy()
    season = 1.0 + 0.25 * np.cos(2 * np.pi * (doy - 205) / 365.25)
    return WEEKDAY[days.day_of_week.to_numpy()] * season


def report_times(rng: np.random.Generator, n: int, p: CityParams) -> pd.Series:
    """``n`` report times over ``p.years`` years up to the end of ``p.end_year`` (UTC)."""
    first = dt.date(p.end_year - p.years + 1, 1, 1)
    days = pd.date_range(first, dt.date(p.end_year, 12, 31), freq="D")
    w = day_weights(days)
    day = rng.choice(len(days), size=n, p=w / w.sum())
    hour = rng.choice(24, size=n, p=HOURLY / HOURLY.sum())
    sec = rng.integers(0, 3600, n)
    local = days.values[day] + (hour * 3600 + sec).astype("timedelta64[s]")
    ts = pd.Series(pd.DatetimeIndex(np.sort(local)).tz_localize("Asia/Shanghai"))
    return ts.dt.tz_convert("UTC")


def clustered_points(rng: np.random.Generator, anchors: npt.NDArray[np.float64], n: int
                     ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Points around anchors drawn with heavy-tailed weights (a few hot spots get many)."""
    weights = rng.pareto(1.1, len(anchors)) + 0.02
    pick = rng.choice(len(anchors), size=n, p=weights / weights.sum())
    spread = rng.exponential(35.0, n)
    ang = rng.uniform(0, 2 * np.pi, n)
    lat = anchors[pick, 1] + spread * np.sin(ang) / 110_574.0
    lon = anchors[pick, 0] + spread * np.cos(ang) / (111_320.0 * np.cos(np.radians(lat)))
    return lon, lat


def _categories(conn: Connection) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.object_]]:
    rows = conn.execute(sa.text(
        "SELECT code, default_urgency FROM event_category WHERE parent_code IS NOT NULL "
        "ORDER BY code")).all()
    return (np.array([r[0] for r in rows], dtype=object),
            np.array([r[1] for r in rows], dtype=object))


def chunk_frame(rng: np.random.Generator, start: int, reported: pd.Series,
                anchors: npt.NDArray[np.float64], cats: npt.NDArray[np.object_],
                urgency: npt.NDArray[np.object_], seed: int) -> pd.DataFrame:
    """One chunk of incident rows (cases older than 30 days closed, the rest open)."""
    n = len(reported)
    lon, lat = clustered_points(rng, anchors, n)
    cw = rng.dirichlet(np.full(len(cats), 0.6))
    ci = rng.choice(len(cats), size=n, p=cw)
    end = reported.iloc[-1] if n else pd.Timestamp.now(tz="UTC")
    done = reported < end - pd.Timedelta(days=30)
    took = pd.to_timedelta(rng.exponential(2.5 * 86400, n) + 7200, unit="s")
    closed_at = reported + took
    return pd.DataFrame({
        "external_id": [f"CITY-{seed}-{i}" for i in range(start, start + n)],
        "category_code": cats[ci], "lon": lon, "lat": lat,
        "reported_at": reported.to_numpy(),
        "description": "合成城市 / synthetic city", "address": None, "media_url": None,
        "state": np.where(done, "closed", "reported"),
        "source": _SOURCES[rng.choice(len(_SOURCES), size=n, p=_SOURCE_W / _SOURCE_W.sum())],
        "urgency": urgency[ci], "reporter_name": None, "reporter_phone": None,
        "filed_at": (reported + pd.Timedelta(minutes=10)).where(done),
        "dispatched_at": (reported + pd.Timedelta(minutes=30)).where(done),
        "handled_at": (closed_at - pd.Timedelta(hours=1)).where(done),
        "closed_at": closed_at.where(done),
    }).assign(reported_at=lambda d: pd.to_datetime(d["reported_at"], utc=True))


def write_incidents(conn: Connection, p: CityParams, anchors: npt.NDArray[np.float64],
                    seed: int, params: IntakeParams | None = None) -> int:
    """Write ``p.years × p.incidents_per_year`` incidents in chunks; returns the count."""
    n = p.years * p.incidents_per_year
    if n == 0 or len(anchors) == 0:
        return 0
    rng = np.random.default_rng([seed, 18])
    cats, urgency = _categories(conn)
    reported = report_times(rng, n, p)
    first = reported.iloc[0].tz_convert("Asia/Shanghai").date()
    partitions.ensure(conn, first, max(reported.iloc[-1].tz_convert("Asia/Shanghai").date(),
                                       dt.date.today()))
    params = params or IntakeParams()
    for start in range(0, n, CHUNK):
        part = reported.iloc[start:start + CHUNK].reset_index(drop=True)
        df = chunk_frame(rng, start, part, anchors, cats, urgency, seed)
        write_rows(conn, df, actor="city", params=params, synthetic=True)
    return n
