"""Due-time calculator: working hours across a weekend, a holiday and a 调休 working Sunday."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from gridmap.reference.workcal import LOCAL_TZ, CalendarParams, calendar_from_csv, read_calendar_csv

T = LOCAL_TZ


@pytest.fixture(scope="module")
def cal():  # type: ignore[no-untyped-def]
    return calendar_from_csv()


def local(*a: int) -> dt.datetime:
    return dt.datetime(*a, tzinfo=T)


def test_friday_afternoon_working_hour_rolls_over_weekend(cal) -> None:  # type: ignore[no-untyped-def]
    # Fri 2025-11-21 17:00: 30 min left today, 30 min on Monday morning
    assert cal.due(local(2025, 11, 21, 17, 0), 1, "working_hour") == local(2025, 11, 24, 9, 0)


def test_lunch_break_is_skipped(cal) -> None:  # type: ignore[no-untyped-def]
    assert cal.due(local(2025, 11, 20, 11, 30), 1, "working_hour") == local(2025, 11, 20, 14, 0)


def test_end_of_period_is_kept(cal) -> None:  # type: ignore[no-untyped-def]
    assert cal.due(local(2025, 11, 20, 11, 0), 1, "working_hour") == local(2025, 11, 20, 12, 0)


def test_national_day_holiday_is_skipped(cal) -> None:  # type: ignore[no-untyped-def]
    # Tue 2025-09-30 16:30, 4 working hours: 1 h on Tuesday, Oct 1-8 off, 3 h on Thu Oct 9
    assert cal.due(local(2025, 9, 30, 16, 30), 4, "working_hour") == local(2025, 10, 9, 11, 30)
    # one working day = 7.5 h
    assert cal.due(local(2025, 9, 30, 16, 30), 1, "working_day") == local(2025, 10, 9, 16, 30)


def test_tiaoxiu_sunday_is_a_working_day(cal) -> None:  # type: ignore[no-untyped-def]
    # Sun 2025-09-28 is a 调休 working day; Sat 2025-09-27 is not
    assert cal.is_working_day(dt.date(2025, 9, 28))
    assert not cal.is_working_day(dt.date(2025, 9, 27))
    assert cal.due(local(2025, 9, 27, 10, 0), 1, "working_hour") == local(2025, 9, 28, 9, 30)


def test_report_outside_hours_starts_next_morning(cal) -> None:  # type: ignore[no-untyped-def]
    assert cal.due(local(2025, 11, 22, 22, 0), 2, "working_hour") == local(2025, 11, 24, 10, 30)


def test_urgent_and_natural_units_ignore_the_calendar(cal) -> None:  # type: ignore[no-untyped-def]
    start = local(2025, 11, 21, 17, 0)
    assert cal.due(start, 2, "working_hour", urgent=True) == local(2025, 11, 21, 19, 0)
    assert cal.due(start, 2, "hour") == local(2025, 11, 21, 19, 0)
    assert cal.due(start, 1, "day") == local(2025, 11, 22, 17, 0)
    assert cal.due(start, 30, "minute") == local(2025, 11, 21, 17, 30)


def test_vectorised_matches_scalar(cal) -> None:  # type: ignore[no-untyped-def]
    starts = [local(2025, 11, 21, 17, 0), local(2025, 9, 30, 16, 30)]
    arr = np.array([np.datetime64(s.astimezone(dt.UTC).replace(tzinfo=None), "m")
                    for s in starts])
    out = cal.due_many(arr, np.array([1.0, 4.0]), np.array(["working_hour", "working_hour"]),
                       np.array([False, False]))
    expect = [cal.due(s, lim, "working_hour") for s, lim in zip(starts, (1, 4), strict=True)]
    assert [o.astype("datetime64[m]") for o in out] == [
        np.datetime64(e.astimezone(dt.UTC).replace(tzinfo=None), "m") for e in expect]


def test_configurable_work_periods() -> None:
    c = calendar_from_csv(params=CalendarParams(periods=(("09:00", "17:00"),)))
    assert c.day_minutes == 480
    assert c.due(local(2025, 11, 20, 16, 0), 2, "working_hour") == local(2025, 11, 21, 10, 0)


def test_calendar_file_tiaoxiu_days_are_weekends() -> None:
    for r in read_calendar_csv():
        if r["kind"] == "workday":
            assert r["day"].weekday() >= 5  # type: ignore[attr-defined]


def test_work_periods_and_weekend_come_from_settings() -> None:
    from gridmap.config import Settings
    from gridmap.errors import ConfigError

    s = Settings.load(environ={"GRIDMAP_WORK_PERIODS": "09:00-12:00, 13:00-18:00",
                               "GRIDMAP_WEEKEND_DAYS": "sun"})
    p = CalendarParams.from_settings(s)
    assert p.periods == (("09:00", "12:00"), ("13:00", "18:00")) and p.weekend == (6,)
    assert CalendarParams.from_settings(Settings.load(environ={})) == CalendarParams()
    for periods, days in (("9-12", "sat,sun"), ("13:00-12:00", "sat"),
                          ("08:00-12:00,11:00-17:00", "sat"), ("08:00-12:00", "someday")):
        bad = Settings.load(environ={"GRIDMAP_WORK_PERIODS": periods,
                                     "GRIDMAP_WEEKEND_DAYS": days})
        with pytest.raises(ConfigError, match="GRIDMAP_W"):
            CalendarParams.from_settings(bad)
