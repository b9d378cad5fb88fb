"""Assignment input: dates in the spellings a spreadsheet has, roles in Chinese."""

from __future__ import annotations

import datetime as dt

from gridmap.org.assignment_input import ROLE_ALIASES, parse_date


def test_dates() -> None:
    d = dt.date(2026, 1, 31)
    for text in ("2026-01-31", "2026/1/31", "2026.1.31", "2026年1月31日", "2026-01-31 00:00:00"):
        assert parse_date(text) == d, text
    assert parse_date(dt.datetime(2026, 1, 31, 8)) == d
    for text in ("2026-02-30", "31/01/2026", "tomorrow", "2026-01-31 08:00:00"):
        assert parse_date(text) is None, text


def test_roles_in_chinese() -> None:
    assert (ROLE_ALIASES["楼长"], ROLE_ALIASES["路长"], ROLE_ALIASES["网格员"]) == (
        "building_head", "road_head", "grid_worker")
