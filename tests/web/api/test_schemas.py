"""Request schemas (web/api/schemas.py, web/api/parsing.py): bbox and time-window parsing
collect coded problems, every bad field at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gridmap.errors import ValidationError
from web.api.parsing import load
from web.api.schemas import GridIndicatorQuery, WindowQuery


def _problems(schema: type, args: dict, **attrs: object) -> list:
    with pytest.raises(ValidationError) as info:
        load(schema, args, **attrs)
    assert info.value.code == "web.bad_parameters"
    return info.value.problems


def test_parse_bbox_reports_each_kind_of_mistake() -> None:
    for raw in ("1,2,3", "a,b,c,d", "116.4,39.9,116.3,40", "200,0,201,1", "100,30,105,35", "nan,1,2,3"):
        problems = _problems(GridIndicatorQuery, {"bbox": raw})
        assert len(problems) == 1 and problems[0].field == "bbox", raw
    problems = []
    assert load(GridIndicatorQuery, {"bbox": "116.3,39.8,116.5,40"})["bbox"] == (
        116.3, 39.8, 116.5, 40.0)
    assert problems == []
    codes = [_problems(GridIndicatorQuery, {"bbox": raw})[0].code
             for raw in ("", "1,2,3", "200,0,201,1", "116.4,39.9,116.3,40", "100,30,105,35")]
    assert codes == ["web.bbox_required", "web.bbox_malformed", "web.bbox_outside_wgs84",
                     "web.bbox_inverted", "web.bbox_too_large"]


def test_parse_window_named_custom_and_bad() -> None:
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    problems: list = []
    got = load(WindowQuery, {"window": "7d"}, now=now)
    assert (got["start"], got["end"]) == (now - timedelta(days=7), now)
    got = load(WindowQuery, {"start": "2026-04-01", "end": "2026-04-02T00:00:00Z"}, now=now)
    start, end = got["start"], got["end"]
    assert start == datetime(2026, 4, 1, tzinfo=UTC) and end == datetime(2026, 4, 2, tzinfo=UTC)
    assert problems == []
    for args in ({"window": "1y"}, {"window": "custom"}, {"start": "yesterday"},
                 {"start": "2026-04-02", "end": "2026-04-01"}, {"start": "2020-01-01"}):
        problems = _problems(WindowQuery, args, now=now)
        assert problems, args


def test_every_bad_field_is_listed_with_its_code_and_field() -> None:
    problems = _problems(GridIndicatorQuery, {"window": "1y", "start": "x"})
    assert {(p.field, p.code) for p in problems} == {
        ("window", "web.must_be_one_of"), ("start", "web.iso_datetime"),
        ("bbox", "web.bbox_required")}
    assert all(p.params["field"] == p.field for p in problems)
