"""Request schemas of the JSON API (query strings and bodies), one per kind of request.

They are the single description of what each endpoint accepts: :mod:`web.api.parsing`
loads requests with them and :mod:`web.api.openapi` documents them.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import marshmallow as ma
import numpy as np

from gridmap import crs, incidents
from gridmap.errors import Problem
from web import db
from web.api.fields import (
    CSV,
    MAX_BBOX_SPAN_DEG,
    BBox,
    Bool,
    IdList,
    Int,
    Limit,
    MaxLength,
    Num,
    OneOf,
    Range,
    Raw,
    Str,
    Text,
    Timestamp,
)
from web.api.parsing import Base

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100
MAX_WINDOW_DAYS = 400
WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
MAX_NOTE = 2000
EARLIEST_CASE = datetime(2000, 1, 1, tzinfo=UTC)
"""Start of ``window=all`` where a start is needed (intake refuses earlier report times)."""
INT32 = 2**31 - 1


def _categories() -> list[str]:
    with db.read() as conn:
        return list(incidents.category_codes(conn))


def _note() -> Str:
    return Str(allow_none=True, validate=MaxLength(MAX_NOTE, "web.text_too_long"))


# --------------------------------------------------------------------------- common


class DisplayQuery(Base):
    """Coordinates of the response: WGS84, or shifted to GCJ-02 for an Amap basemap."""

    display = Str(load_default="wgs84", validate=OneOf(("wgs84", "gcj02")))


class PageQuery(Base):
    """1-based page and page size."""

    page = Int(load_default=1, validate=Range(1, 100_000))
    page_size = Int(load_default=DEFAULT_PAGE_SIZE, validate=Range(1, MAX_PAGE_SIZE))


class WindowQuery(Base):
    """A time window: ``window`` (24h | 7d | 30d | custom | all) or ``start``/``end``.

    ``start``/``end`` alone imply ``custom``; a window is at most
    :data:`MAX_WINDOW_DAYS` days and ``end`` must be after ``start``. Loaded data hold
    ``start`` and ``end`` (``None`` = open).
    """

    window_default: str | None = "30d"
    now: datetime | None = None

    window = Str(validate=OneOf(("24h", "7d", "30d", "custom", "all")))
    start = Timestamp()
    end = Timestamp()

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        now = self.now or datetime.now(UTC)
        start, end = data.get("start"), data.get("end")
        window = data.pop("window", None) or ("custom" if (start or end) else
                                              self.window_default)
        data["start"], data["end"] = start, end
        if window is None or window == "all" or any(p.field == "window" for p in problems):
            return
        if window in WINDOWS:
            end = end or now
            data["start"], data["end"] = end - WINDOWS[window], end
            return
        if start is None:
            if not any(p.field == "start" for p in problems):
                problems.append(Problem("web.window_needs_start", field="start"))
            return
        data["end"] = end = end or now
        if end <= start:
            problems.append(Problem("web.end_before_start", field="end"))
        elif end - start > timedelta(days=MAX_WINDOW_DAYS):
            problems.append(Problem("web.window_too_long", {"days": MAX_WINDOW_DAYS},
                                    field="start"))


# --------------------------------------------------------------------------- incidents


class FilterQuery(WindowQuery):
    """Incident filters: time window, categories, states, urgencies, sources, bbox, grid."""

    category = CSV(_categories, attribute="categories")
    status = CSV(lambda: incidents.STATES, attribute="statuses")
    urgency = CSV(lambda: incidents.URGENCIES, attribute="urgencies")
    source = CSV(lambda: incidents.SOURCES, attribute="sources")
    bbox = BBox(MAX_BBOX_SPAN_DEG)
    grid_id = Int(validate=Range(1, INT32))

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        super().check(data, problems)
        grid_id = data.pop("grid_id", None)
        if grid_id is not None:
            data["grid_ids"] = [grid_id]
        for key in [k for k, v in data.items() if v is None]:
            del data[key]


class BBoxFilterQuery(FilterQuery):
    """Incident filters with a required bbox."""

    bbox = BBox(MAX_BBOX_SPAN_DEG, required=True)


class IncidentListQuery(BBoxFilterQuery, PageQuery):
    """A page of incidents in a bbox."""


class SpecialListQuery(FilterQuery, PageQuery):
    """Overdue / to-confirm lists: any time by default, 50 per page."""

    window_default = None
    page_size = Int(load_default=50, validate=Range(1, MAX_PAGE_SIZE))


class HeatQuery(BBoxFilterQuery):
    """Heatmap: filters, bbox and the map zoom."""

    zoom = Int(load_default=14, validate=Range(0, 22))


class GridIndicatorQuery(WindowQuery):
    """Per-grid indicators: a window and a bbox."""

    bbox = BBox(MAX_BBOX_SPAN_DEG, required=True)


class HotspotQuery(FilterQuery):
    """Hotspots: filters and the level (grids or H3 cells)."""

    level = Str(load_default="grid", validate=OneOf(("grid", "h3")))


def check_point(data: dict[str, Any], problems: list[Problem]) -> None:
    """Range of ``lon``/``lat`` (loaded as plain numbers); coordinates that look swapped (a
    latitude beyond ±90 with a longitude within it, or a Chinese point given as (lat, lon))
    get the swap hint ``incidents.swapped_coordinates``, as on intake."""
    lon, lat = data.get("lon"), data.get("lat")
    if (lon is not None and lat is not None and math.isfinite(lon) and math.isfinite(lat)
            and bool(crs.looks_swapped(np.array([lon]), np.array([lat]))[0])):
        problems.append(Problem("incidents.swapped_coordinates", field="lat"))
        return
    for key, value, hi in (("lon", lon, 180), ("lat", lat, 90)):
        if value is not None and not (math.isfinite(value) and -hi <= value <= hi):
            problems.append(Problem("web.between", {"field": key, "lo": -hi, "hi": hi},
                                    field=key))


class LocateQuery(Base):
    """A point (WGS84) and optionally a time; swapped coordinates get the swap hint."""

    lon = Num(required=True, metadata={"description": "longitude, WGS84 (-180..180)"})
    lat = Num(required=True, metadata={"description": "latitude, WGS84 (-90..90)"})
    at = Timestamp()

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        check_point(data, problems)


class IncidentBody(Base):
    """A new incident (checked, located and given a deadline by the library).

    Every value is one text or number within the library's limits
    (:data:`gridmap.inputs.MAX_LENGTHS`); a new case always starts at 信息收集, so
    ``state``/``status`` may only say ``reported`` (or ``open``).
    """

    class Meta:
        unknown = ma.INCLUDE

    category = Text("category_code", metadata={"description": "event category code (required)"})
    lon = Text("lon", metadata={"description": "longitude, WGS84 (required)"})
    lat = Text("lat", metadata={"description": "latitude, WGS84 (required)"})
    description = Text("description", allow_none=True)
    address = Text("address", allow_none=True)
    urgency = Text("urgency", allow_none=True)
    source = Text("source", allow_none=True)
    reported_at = Text("reported_at", allow_none=True)
    reporter_name = Text("reporter_name", allow_none=True)
    reporter_phone = Text("reporter_phone", allow_none=True)
    external_id = Text("external_id", allow_none=True)
    media_url = Text("media_url", allow_none=True)
    state = Text("state", allow_none=True, metadata={
        "description": "only reported (or open): intake always starts at 信息收集"})
    status = Text("state", allow_none=True, metadata={"description": "alias of state"})

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        refuse_later_state(data, problems)


def refuse_later_state(data: dict[str, Any], problems: list[Problem]) -> None:
    """``input.state_not_allowed`` for a ``state``/``status`` other than the first state:
    intake (API, Open311) always starts at 信息收集 (same rule as
    :func:`gridmap.incidents.intake.starting_state_only`)."""
    for key in ("state", "status"):
        value = data.get(key)
        if value is not None and not (isinstance(value, str)
                                      and value.strip() in incidents.INTAKE_STATES):
            problems.append(Problem("input.state_not_allowed",
                                    {"field": key, "value": str(value)[:40]}, field=key))


class TransitionBody(Base):
    """``{"to": state, "note": text}``; at 评价 (closed → evaluated) also
    ``"satisfaction": 1–5`` and ``"solved": true/false`` (both required there)."""

    to = Str(required=True, validate=OneOf(incidents.STATES))
    note = _note()
    satisfaction = Int(allow_none=True, text=False, validate=Range(1, 5),
                       metadata={"description": "满意度 1–5 (only with to=evaluated)"})
    solved = Bool(allow_none=True, metadata={"description": "problem solved (to=evaluated)"})

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        if data.get("to") != "evaluated":
            return
        for key in ("satisfaction", "solved"):
            if data.get(key) is None and not any(p.field == key for p in problems):
                problems.append(Problem("supervise.evaluation_required", field=key))


class LocationBody(Base):
    """``{"grid_id": id?, "note": text?}``."""

    grid_id = Int(allow_none=True, text=False)
    note = _note()


# --------------------------------------------------------------------------- layers


class LayerQuery(DisplayQuery):
    """A layer in a bbox at a zoom (``type``: one facility type)."""

    bbox = BBox(required=True)
    zoom = Int(required=True, validate=Range(0, 22))
    type = Str()


class SearchQuery(DisplayQuery):
    """A name to look for (communities and estates)."""

    q = Str(required=True, validate=MaxLength(100))

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        if "q" in data:
            data["q"] = data["q"].strip()
            if not data["q"]:
                problems.append(Problem("web.required", {"field": "q"}, field="q"))


# --------------------------------------------------------------------------- planner


class LevelQuery(DisplayQuery):
    """Coverage units: estates or communities."""

    level = Str(load_default="estate", validate=OneOf(("estate", "community")))


class CoverageQuery(LevelQuery):
    """Coverage choropleth of one facility type in a bbox."""

    type = Str(required=True)
    bbox = BBox(required=True)
    zoom = Int(load_default=14, validate=Range(0, 22))


class GapsQuery(LevelQuery):
    """The gap list (optionally one type)."""

    type = Str()
    limit = Int(load_default=200, validate=Range(1, 1000))


class CandidatesQuery(DisplayQuery):
    """The ``k`` best new sites for a type."""

    type = Str(required=True)
    k = Int(load_default=5, validate=Range(1, 50))


class ServiceAreaQuery(DisplayQuery):
    """Walking service areas of a type in a bbox."""

    type = Str(required=True)
    minutes = Int(load_default=15, validate=Range(1, 60))
    bbox = BBox(required=True)


class WhatIfPoint(Base):
    """A hypothetical facility."""

    error_messages = {"type": "web.whatif_item"}

    type = Raw(load_default="")
    lon = Num(required=True, validate=Range(float("-inf"), float("inf")))
    lat = Num(required=True, validate=Range(float("-inf"), float("inf")))


class WhatIfBody(Base):
    """``{"add": [{type, lon, lat}], "remove": [facility ids], "crs": "wgs84"|"gcj02"}``."""

    headline = "web.whatif_invalid"
    MAX_POINTS = 50

    add = ma.fields.List(ma.fields.Nested(WhatIfPoint), allow_none=True, load_default=list,
                         error_messages={"invalid": "web.must_be_list"})
    remove = ma.fields.List(Int(text=False), allow_none=True, load_default=list,
                            error_messages={"invalid": "web.must_be_list"})
    crs = Str(load_default="wgs84", validate=OneOf(("wgs84", "gcj02")))

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        data["add"], data["remove"] = data.get("add") or [], data.get("remove") or []
        if len(data["add"]) + len(data["remove"]) > self.MAX_POINTS:
            problems.append(Problem("web.whatif_too_many", {"max": self.MAX_POINTS}))


# --------------------------------------------------------------------------- Open311


MAX_OPEN311_PAGE = 200
"""Most service requests in one Open311 list answer (``page_size``; default 100)."""


class RequestsQuery(Base):
    """GeoReport v2 request filters and paging (``page``, ``page_size`` ≤ 200)."""

    service_request_id = IdList(MAX_OPEN311_PAGE)
    service_code = CSV()
    start_date = Timestamp()
    end_date = Timestamp()
    status = Str(validate=OneOf(("open", "closed")))
    page = Int(load_default=1, validate=Range(1, 100_000))
    page_size = Int(load_default=100, validate=Range(1, MAX_OPEN311_PAGE))


class Open311Create(Base):
    """A GeoReport v2 service request (form fields or JSON)."""

    headline = "web.bad_request"

    class Meta:
        unknown = ma.INCLUDE

    api_key = Str()
    service_code = Str(required=True, validate=Limit("category_code"))
    # lat/long may be left out when address_string is given (GeoReport v2): the case is then
    # placed from the standard address register or queued for a supervisor (issue #19)
    lat = Num(validate=Range(-90, 90))
    long = Num(validate=Range(-180, 180))
    address_string = Text("address", allow_none=True)
    description = Str(allow_none=True, validate=Limit("description"))
    media_url = Text("media_url", allow_none=True)
    first_name = Text("reporter_name", allow_none=True)
    last_name = Text("reporter_name", allow_none=True)
    phone = Text("reporter_phone", allow_none=True)
    email = Text("short", allow_none=True)
    external_id = Text("external_id", allow_none=True)
    status = Text("state", allow_none=True, metadata={
        "description": "only open (or reported): a new request always starts at 信息收集"})

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        refuse_later_state(data, problems)
        if data.get("service_code") == "":
            problems.append(Problem("web.required", {"field": "service_code"},
                                    field="service_code"))
