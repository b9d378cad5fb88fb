"""Request schemas of the case workspace API (:mod:`web.api.cases`)."""

from __future__ import annotations

from typing import Any

from gridmap.cases import search
from gridmap.cases.detail import MAX_COMMENT, MAX_EXTENSION_DAYS
from gridmap.cases.lists import MAX_FIELD
from gridmap.errors import Problem
from gridmap.incidents.states import STATES
from web.api.fields import CSV, Bool, IdList, Int, MaxLength, Num, OneOf, Range, Str
from web.api.parsing import Base
from web.api.schemas import INT32, MAX_NOTE, DisplayQuery, FilterQuery

MAX_IDS = 200


def _search() -> Str:
    return Str(validate=MaxLength(search.MAX_TEXT, "web.text_too_long"))


class CaseQuery(FilterQuery, DisplayQuery):
    """The case list's selection: search (``q`` address or description, ``case_no``,
    ``address``, ``phone``), filters (time window, ``category``, ``status``, ``urgency``
    = order type, ``source``, ``unit_id``, ``level``, ``light``, ``street_id``,
    ``community_id``, ``grid_id``, ``grid`` (grid codes), ``open``, ``overdue``)."""

    window_default = None

    q = _search()
    case_no = _search()
    address = _search()
    phone = _search()
    unit_id = IdList(MAX_IDS)
    level = CSV(lambda: search.LEVELS, attribute="levels")
    light = CSV(lambda: search.LIGHTS, attribute="lights")
    street_id = IdList(MAX_IDS)
    community_id = IdList(MAX_IDS)
    grid = CSV(attribute="grid_codes")
    open = Bool()
    overdue = Bool()

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        super().check(data, problems)
        for src, dst in (("q", "text"), ("unit_id", "unit_ids"), ("street_id", "street_ids"),
                         ("community_id", "community_ids")):
            if src in data:
                data[dst] = data.pop(src)


class CaseListQuery(CaseQuery):
    """A page of the selection, sorted by ``sort`` (``desc`` newest/largest first)."""

    page = Int(load_default=1, validate=Range(1, 100_000))
    page_size = Int(load_default=50, validate=Range(1, 500))
    sort = Str(load_default="reported_at", validate=OneOf(tuple(search.SORTS)))
    desc = Bool(load_default=True)


class ExportQuery(CaseQuery):
    """The selection as XLSX (at most 50,000 rows), sorted as the list."""

    sort = Str(load_default="reported_at", validate=OneOf(tuple(search.SORTS)))
    desc = Bool(load_default=True)


class CaseActBody(Base):
    """A case page button: ``to`` (the target state), ``version`` (the ``lock_version`` as
    read: 409 when the case changed since), ``note`` (reason), ``unit_id`` (派遣 to another
    unit than proposed: the note is the reason), ``extension`` (延期 days) and
    ``higher_approval`` (a second 延期, approved by a post that may), ``satisfaction`` 1–5 and
    ``solved`` (评价)."""

    to = Str(required=True, validate=OneOf(STATES))
    version = Int(allow_none=True, text=False)
    note = Str(allow_none=True, validate=MaxLength(MAX_NOTE, "web.text_too_long"))
    unit_id = Int(allow_none=True, text=False, validate=Range(1, INT32))
    extension = Num(allow_none=True, validate=Range(0.01, MAX_EXTENSION_DAYS))
    higher_approval = Bool(load_default=False)
    satisfaction = Int(allow_none=True, text=False, validate=Range(1, 5))
    solved = Bool(allow_none=True)


class CommentBody(Base):
    """``{"body": text}``: a comment on the case."""

    body = Str(required=True, validate=MaxLength(MAX_COMMENT, "web.text_too_long"))


class WorkQuery(Base):
    """A page of one 待办 bucket."""

    page = Int(load_default=1, validate=Range(1, 100_000))
    page_size = Int(load_default=50, validate=Range(1, 500))


class ListsQuery(Base):
    """三张清单 options: ``solved_days`` (解决清单 window), ``format`` of the export."""

    solved_days = Int(load_default=90, validate=Range(1, 3660))
    lang = Str(load_default="zh", validate=OneOf(("zh", "en")))


class ServiceBody(Base):
    """An entry of a community's own service list."""

    name = Str(allow_none=True, validate=MaxLength(MAX_FIELD, "web.text_too_long"))
    kind = Str(allow_none=True, validate=MaxLength(MAX_FIELD, "web.text_too_long"))
    provider = Str(allow_none=True, validate=MaxLength(MAX_FIELD, "web.text_too_long"))
    contact = Str(allow_none=True, validate=MaxLength(MAX_FIELD, "web.text_too_long"))
    hours = Str(allow_none=True, validate=MaxLength(MAX_FIELD, "web.text_too_long"))
    note = Str(allow_none=True, validate=MaxLength(MAX_FIELD, "web.text_too_long"))
