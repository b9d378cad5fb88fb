"""Working calendar and due-time calculator (reference/cases.md §5).

Urgent cases run on the natural clock; other cases on a working-time calendar made of
daily work periods (default 08:30–12:00 and 13:30–17:30 [unverified]), weekends,
public holidays and 调休 working weekend days (``data/geo/work_calendar.csv``, loaded
into the ``work_calendar`` table). A unit of ``hour``, ``day`` or ``minute`` is always
natural time. One working day = the total length of the daily work periods.

The calculator maps an instant to its *working-minute ordinal* (working minutes since the
calendar's first day) with a cumulative array over days, so adding working time is one
``searchsorted`` and works on numpy arrays as well as on single datetimes.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.config import DATA_GEO, Settings
from gridmap.errors import ConfigError, Problem, ValidationError

WORK_CALENDAR_CSV = DATA_GEO / "work_calendar.csv"
UNITS = ("working_hour", "working_day", "hour", "day", "minute")
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def parse_work_periods(raw: str) -> tuple[tuple[str, str], ...]:
    """``"08:30-12:00,13:30-17:30"`` → ``(("08:30", "12:00"), ("13:30", "17:30"))``.

    Raises
    ------
    ConfigError
        Malformed, empty or not increasing periods (the message names GRIDMAP_WORK_PERIODS).
    """
    periods: list[tuple[str, str]] = []
    for part in filter(None, (x.strip() for x in raw.split(","))):
        m = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)", part)
        if not m or _minutes(part[:5]) >= _minutes(part[6:]) or (
                periods and _minutes(part[:5]) < _minutes(periods[-1][1])):
            raise ConfigError("reference.work_periods_invalid", {"value": raw})
        periods.append((part[:5], part[6:]))
    if not periods:
        raise ConfigError("reference.work_periods_empty")
    return tuple(periods)


def parse_weekend_days(raw: str) -> tuple[int, ...]:
    """``"sat,sun"`` → ``(5, 6)`` (Monday = 0).

    Raises
    ------
    ConfigError
        Unknown day names, or every day of the week (the message names GRIDMAP_WEEKEND_DAYS).
    """
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    days = [x.strip().lower()[:3] for x in raw.split(",") if x.strip()]
    if any(d not in names for d in days) or len(days) >= 7:
        raise ConfigError("reference.weekend_days_invalid", {"value": raw})
    return tuple(sorted(names.index(d) for d in days))


@dataclass(frozen=True)
class CalendarParams:
    """Configurable shape of the working day (defaults from :class:`gridmap.config.Settings`:
    ``work_periods`` and ``weekend_days``; [unverified], reference/cases.md §5)."""

    periods: tuple[tuple[str, str], ...] = parse_work_periods(Settings.work_periods)
    weekend: tuple[int, ...] = parse_weekend_days(Settings.weekend_days)
    """ISO weekday numbers minus one (Monday = 0) that are rest days unless listed as 调休."""
    tz: str = "Asia/Shanghai"
    first_year: int = 2000
    last_year: int = 2100

    @classmethod
    def from_settings(cls, settings: Settings) -> CalendarParams:
        """Work periods and weekend from ``Settings.work_periods`` / ``weekend_days``.

        Raises
        ------
        ConfigError
            A malformed value (the message names the setting and an example).
        """
        raw_p = str(getattr(settings, "work_periods", "") or "")
        raw_w = str(getattr(settings, "weekend_days", "") or "")
        return cls(periods=parse_work_periods(raw_p), weekend=parse_weekend_days(raw_w))


@dataclass
class WorkCalendar:
    """A working calendar: holidays and 调休 working days plus the daily work periods.

    Parameters
    ----------
    holidays:
        Dates that are days off even if they fall on a weekday.
    workdays:
        Weekend dates that are working days (调休).
    params:
        Work periods, weekend days, time zone and the covered year range.
    """

    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()
    params: CalendarParams = field(default_factory=CalendarParams)

    def __post_init__(self) -> None:
        p = self.params
        self._tz = ZoneInfo(p.tz)
        self._periods = [(_minutes(a), _minutes(b)) for a, b in p.periods]
        self.day_minutes = sum(b - a for a, b in self._periods)
        self._epoch = dt.date(p.first_year, 1, 1)
        ndays = (dt.date(p.last_year + 1, 1, 1) - self._epoch).days
        days = np.arange(ndays)
        weekday = (days + self._epoch.weekday()) % 7
        working = ~np.isin(weekday, np.array(p.weekend))
        for d in self.holidays:
            i = (d - self._epoch).days
            if 0 <= i < ndays:
                working[i] = False
        for d in self.workdays:
            i = (d - self._epoch).days
            if 0 <= i < ndays:
                working[i] = True
        self._working = working
        self._cum = np.concatenate([[0], np.cumsum(working * self.day_minutes)]).astype(np.int64)
        # cumulative work minutes within a day at the end of each period
        self._pstart = np.array([a for a, _ in self._periods])
        self._pend = np.array([b for _, b in self._periods])
        self._pcum = np.cumsum(self._pend - self._pstart)

    # --- queries -----------------------------------------------------------
    def is_working_day(self, day: dt.date) -> bool:
        """True if ``day`` is a working day (weekday not a holiday, or a 调休 weekend day)."""
        return bool(self._working[(day - self._epoch).days])

    def _local_parts(self, when: npt.NDArray[np.datetime64]) -> tuple[
        npt.NDArray[np.int64], npt.NDArray[np.int64]
    ]:
        """Day index and minute of day in local time for UTC datetime64 values."""
        offset = _utc_offset_minutes(self._tz)
        minutes = when.astype("datetime64[m]").astype(np.int64) + offset
        epoch_min = (np.datetime64(self._epoch, "D").astype("datetime64[m]").astype(np.int64))
        rel = minutes - epoch_min
        day = rel // 1440
        return day, rel - day * 1440

    def ordinal(self, when: npt.NDArray[np.datetime64]) -> npt.NDArray[np.int64]:
        """Working minutes elapsed since the calendar start at each UTC instant."""
        day, mod = self._local_parts(np.asarray(when, dtype="datetime64[m]"))
        self._check_range(day)
        within = np.zeros_like(mod)
        for a, b in self._periods:
            within += np.clip(mod - a, 0, b - a)
        return np.asarray(self._cum[day] + np.where(self._working[day], within, 0), dtype=np.int64)

    def from_ordinal(self, w: npt.NDArray[np.int64]) -> npt.NDArray[np.datetime64]:
        """Inverse of :meth:`ordinal`: the earliest UTC instant with that many working minutes.

        An ordinal that falls exactly at the end of a work period maps to the period's end
        (e.g. 17:30), not to the start of the next one.
        """
        w = np.asarray(w, dtype=np.int64)
        day = np.searchsorted(self._cum[1:], w, side="left")
        self._check_range(day)
        r = w - self._cum[day]
        k = np.searchsorted(self._pcum, r, side="left")
        k = np.minimum(k, len(self._pcum) - 1)
        before = np.where(k > 0, self._pcum[np.maximum(k - 1, 0)], 0)
        mod = self._pstart[k] + (r - before)
        mod = np.where(r == 0, self._pstart[0], mod)
        offset = _utc_offset_minutes(self._tz)
        epoch_min = np.datetime64(self._epoch, "D").astype("datetime64[m]").astype(np.int64)
        return np.asarray(epoch_min + day * 1440 + mod - offset).astype("datetime64[m]")

    def _check_range(self, day: npt.NDArray[np.int64]) -> None:
        if day.size and (day.min() < 0 or day.max() >= len(self._working)):
            raise ValidationError("reference.date_outside_calendar", params={
                "first": self.params.first_year, "last": self.params.last_year})

    def add_working_minutes(
        self, start: npt.NDArray[np.datetime64], minutes: npt.ArrayLike
    ) -> npt.NDArray[np.datetime64]:
        """Vectorised: ``start`` (UTC datetime64) plus working minutes."""
        return self.from_ordinal(self.ordinal(start) + np.asarray(minutes, dtype=np.int64))

    def working_minutes_between(
        self, start: npt.NDArray[np.datetime64], end: npt.NDArray[np.datetime64]
    ) -> npt.NDArray[np.int64]:
        """Working minutes between two arrays of UTC instants (negative if end < start)."""
        return self.ordinal(end) - self.ordinal(start)

    def due(self, start: dt.datetime, limit: float, unit: str, *, urgent: bool = False) -> dt.datetime:
        """Due time for one case: ``start`` plus ``limit`` ``unit``.

        Parameters
        ----------
        start:
            Dispatch time, timezone-aware.
        limit, unit:
            The category's time limit; unit is one of :data:`UNITS`.
        urgent:
            Urgent cases run on the natural clock: working hours/days count as 1 h / 24 h.
        """
        out = self.due_many(np.array([_to_utc64(start)]), np.array([limit], dtype=float),
                            np.array([unit]), np.array([urgent]))
        return _from_utc64(out[0])

    def due_many(
        self,
        start: npt.NDArray[np.datetime64],
        limit: npt.NDArray[np.float64],
        unit: npt.NDArray[np.str_],
        urgent: npt.NDArray[np.bool_],
    ) -> npt.NDArray[np.datetime64]:
        """Vectorised :meth:`due` over UTC datetime64 starts."""
        start = np.asarray(start, dtype="datetime64[m]")
        limit = np.asarray(limit, dtype=float)
        unit = np.asarray(unit).astype(str)
        urgent = np.asarray(urgent, dtype=bool)
        bad = ~np.isin(unit, np.array(UNITS))
        if bad.any():
            raise ValidationError("reference.unknown_time_unit_choice",
                                  params={"unit": str(unit[bad][0]), "choices": UNITS})
        natural_min = np.select(
            [unit == "minute", np.isin(unit, ["hour", "working_hour"]), np.isin(unit, ["day", "working_day"])],
            [limit, limit * 60, limit * 1440], 0,
        )
        working = np.isin(unit, ["working_hour", "working_day"]) & ~urgent
        work_min = np.where(unit == "working_day", limit * self.day_minutes, limit * 60)
        out = start + np.round(natural_min).astype("timedelta64[m]")
        if working.any():
            out[working] = self.add_working_minutes(start[working], np.round(work_min[working]))
        return out


def _utc_offset_minutes(tz: ZoneInfo) -> int:
    off = dt.datetime(2025, 1, 1, tzinfo=tz).utcoffset()
    return int(off.total_seconds() // 60) if off else 0


def _to_utc64(when: dt.datetime) -> np.datetime64:
    if when.tzinfo is None:
        raise ValidationError("reference.naive_timestamp")
    return np.datetime64(when.astimezone(dt.UTC).replace(tzinfo=None), "m")


def _from_utc64(value: np.datetime64) -> dt.datetime:
    secs = int(value.astype("datetime64[s]").astype(np.int64))
    return dt.datetime.fromtimestamp(secs, tz=dt.UTC)


def read_calendar_csv(path: Path = WORK_CALENDAR_CSV) -> list[dict[str, object]]:
    """Parse the holiday file (``#`` lines are comments); every problem is reported at once."""
    rows: list[dict[str, object]] = []
    problems: list[Problem] = []
    with open(path, encoding="utf-8-sig") as fh:
        lines = [ln for ln in fh if not ln.startswith("#")]
    for i, rec in enumerate(csv.DictReader(lines), start=1):
        kind = (rec.get("kind") or "").strip()
        try:
            day = dt.date.fromisoformat((rec.get("day") or "").strip())
        except ValueError:
            problems.append(Problem("reference.bad_date", {"day": rec.get("day")}, row=i,
                                    field="day"))
            continue
        if kind not in ("holiday", "workday"):
            problems.append(Problem("reference.bad_calendar_kind", {"kind": kind}, row=i,
                                    field="kind"))
        rows.append({"day": day, "kind": kind, "name": (rec.get("name") or "").strip() or None,
                     "source": (rec.get("source") or "").strip() or None})
    if problems:
        raise ValidationError("reference.calendar_invalid", problems, {"file": path.name})
    return rows


def load_work_calendar(conn: Connection, path: Path = WORK_CALENDAR_CSV, *,
                       update_existing: bool = False, replace_years: bool = False) -> int:
    """Load a holiday file into ``work_calendar``; returns the row count.

    By default only days not stored yet are added, so re-running the shipped defaults (every
    ``gridmap db migrate``) never undoes a city's own calendar. ``update_existing`` overwrites
    stored days; ``replace_years`` first deletes every stored day of the years the file
    covers (the file is then the whole calendar of those years).
    """
    rows = read_calendar_csv(path)
    with conn.begin_nested():
        if replace_years and rows:
            years = sorted({r["day"].year for r in rows})  # type: ignore[attr-defined]
            conn.execute(sa.text("DELETE FROM work_calendar WHERE extract(year FROM day) "
                                 "= ANY(:y)"), {"y": years})
        conflict = ("DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, "
                    "source = EXCLUDED.source") if update_existing else "DO NOTHING"
        if rows:
            sql = ("INSERT INTO work_calendar (day, kind, name, source) "  # noqa: S608
                   f"VALUES (:day, :kind, :name, :source) ON CONFLICT (day) {conflict}")
            conn.execute(sa.text(sql), rows)
    return len(rows)


def from_rows(rows: Iterable[tuple[dt.date, str]], params: CalendarParams | None = None
              ) -> WorkCalendar:
    """Build a calendar from (day, kind) pairs."""
    rows = list(rows)
    return WorkCalendar(
        holidays=frozenset(d for d, k in rows if k == "holiday"),
        workdays=frozenset(d for d, k in rows if k == "workday"),
        params=params or CalendarParams(),
    )


def calendar_from_db(conn: Connection, params: CalendarParams | None = None) -> WorkCalendar:
    """The working calendar stored in ``work_calendar``."""
    rows = conn.execute(sa.text("SELECT day, kind FROM work_calendar")).all()
    return from_rows([(r[0], r[1]) for r in rows], params)


def calendar_from_csv(path: Path = WORK_CALENDAR_CSV, params: CalendarParams | None = None
                      ) -> WorkCalendar:
    """The working calendar of a holiday file (no database needed)."""
    return from_rows([(r["day"], str(r["kind"])) for r in read_calendar_csv(path)],  # type: ignore[misc]
                     params)
