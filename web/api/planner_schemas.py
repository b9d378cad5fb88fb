"""Request schemas of the planner API's what-if detail and gap export
(:mod:`web.api.planner`)."""

from __future__ import annotations

from marshmallow.validate import OneOf

from web.api.fields import Str
from web.api.schemas import GapsQuery, WhatIfBody


class WhatIfDetailBody(WhatIfBody):
    """A what-if with the unit level to list (``estate``/``community``) and the focus type
    whose changed units are listed (default: the first affected type)."""

    level = Str(load_default="estate", validate=OneOf(("estate", "community")))
    type = Str(load_default=None, allow_none=True)


class GapsExportQuery(GapsQuery):
    """The gap list as XLSX: same filters as the JSON list, up to 1000 rows."""
