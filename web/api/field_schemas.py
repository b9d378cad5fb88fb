"""Request schemas of the field-reporting API (:mod:`web.api.field`, issue #14 phone)."""

from __future__ import annotations

from typing import Any

from gridmap.errors import Problem
from web.api.fields import Bool, Int, MaxLength, Num, OneOf, Range, Str, Text
from web.api.parsing import Base
from web.api.schemas import check_point, refuse_later_state

MAX_NOTE = 2000


class ReportForm(Base):
    """A field report (multipart form; the photos are the ``photos`` file parts, 1–6).

    ``client_id`` is the phone's UUID of the report: a repeat returns the case already
    created for it (200) instead of a second one (201). A report always starts at 信息收集:
    ``state``/``status`` may only say ``reported``."""

    client_id = Str(required=True, validate=MaxLength(64, "web.text_too_long"))
    category = Text("category_code", required=True)
    lon = Num(required=True)
    lat = Num(required=True)
    description = Text("description", allow_none=True)
    address = Text("address", allow_none=True)
    urgency = Text("urgency", allow_none=True)
    state = Text("state", allow_none=True)
    status = Text("state", allow_none=True)

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        check_point(data, problems)
        refuse_later_state(data, problems)


class PhotoForm(Base):
    """Photos added to a case: ``stage`` ``before`` or ``after`` (处置/核查), 1–6 ``photos``."""

    stage = Str(load_default="after", validate=OneOf(("before", "after")))


class DuplicateQuery(Base):
    """Open cases of ``category`` near a point (the possible-duplicate warning)."""

    lon = Num(required=True)
    lat = Num(required=True)
    category = Str(required=True, validate=MaxLength(16, "web.text_too_long"))

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        check_point(data, problems)


class VerifyBody(Base):
    """核实 on site: ``found`` (the problem is there) and an optional ``note``."""

    found = Bool(required=True)
    note = Str(allow_none=True, validate=MaxLength(MAX_NOTE, "web.text_too_long"))


class ListQuery(Base):
    """How many rows at most."""

    limit = Int(load_default=50, validate=Range(1, 200))
