"""Request schemas of the address API (``/api/address-queue``, ``/api/geocode``)."""

from __future__ import annotations

from typing import Any

from gridmap.errors import Problem
from web.api.fields import Bool, Int, Limit, Num, OneOf, Range, Str
from web.api.parsing import Base

DISPLAYS = ("wgs84", "gcj02")


def _display() -> Str:
    return Str(load_default="wgs84", validate=OneOf(DISPLAYS), metadata={
        "description": "coordinates of the response (gcj02 for an Amap basemap) or of the "
                       "placed point"})


class GeocodeQuery(Base):
    """One address to geocode against the standard address register."""

    address = Str(required=True, validate=Limit("address"),
                  metadata={"description": "the address as written (any form)"})
    display = _display()


class QueueQuery(Base):
    """The pending 地址待确认 cases, oldest first."""

    limit = Int(load_default=200, validate=Range(1, 1000))
    display = _display()


class PlaceBody(Base):
    """Place a queued case: a candidate number, or a point placed by hand."""

    candidate = Int(allow_none=True, validate=Range(0, 100),
                    metadata={"description": "0-based number of the chosen candidate"})
    lon = Num(allow_none=True, validate=Range(-180, 180))
    lat = Num(allow_none=True, validate=Range(-90, 90))
    display = _display()
    add_to_register = Bool(load_default=False, metadata={
        "description": "also add the address at this point to the standard address register"})

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        has_point = data.get("lon") is not None and data.get("lat") is not None
        if data.get("candidate") is None and not has_point:
            problems.append(Problem("geocode.place_needs_point", field="candidate"))


class DismissBody(Base):
    """Close a queued case without placing it."""

    note = Str(allow_none=True, validate=Limit("note"))
