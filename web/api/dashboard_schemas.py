"""Request schemas of the district dashboard API (:mod:`web.api.dashboard`)."""

from __future__ import annotations

from web.api.fields import MAX_BBOX_SPAN_DEG, BBox, Int, Limit, Range, Str
from web.api.schemas import DisplayQuery


class AreaQuery(DisplayQuery):
    """The area: a street (9 digits), community (12) or grid code; none for the viewer's
    whole area."""

    area = Str(validate=Limit("code"), metadata={
        "description": "street, community or grid code; omitted: the viewer's whole area"})


class HeatQuery(AreaQuery):
    """Heat of the area's cases in a bbox at a map zoom."""

    bbox = BBox(MAX_BBOX_SPAN_DEG, required=True)
    zoom = Int(required=True, validate=Range(0, 22))
