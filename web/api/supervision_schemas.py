"""Request schemas of the 督办 / notifications / unit and post indicators API
(:mod:`web.api.supervision`)."""

from __future__ import annotations

from typing import Any

from gridmap.errors import Problem
from gridmap.supervision import board, posts
from web.api.fields import Bool, Int, OneOf, Range, Raw, Str, Timestamp
from web.api.parsing import Base

MAX_IDS = 1000


class PageQuery(Base):
    """``page`` (from 1) and ``page_size`` (1–500)."""

    page = Int(load_default=1, validate=Range(1, 100_000))
    page_size = Int(load_default=50, validate=Range(1, 500))


class BoardQuery(PageQuery):
    """The 督办 list of a street (code) or unit (code), optionally one light."""

    street = Str(metadata={"description": "street code (9 digits)"})
    unit = Str(metadata={"description": "unit code: its cases and those escalated to it"})
    light = Str(validate=OneOf(board.LIGHTS))
    include_cleared = Bool(load_default=False)


class SummaryQuery(Base):
    """Lit cases per unit, optionally of one street (code)."""

    street = Str(metadata={"description": "street code (9 digits)"})


class NotificationsQuery(PageQuery):
    """The caller's notifications; ``unread=true`` for the unread ones only."""

    unread = Bool(load_default=False)


class ReadBody(Base):
    """``{"ids": [id, …]}`` or ``{"all": true}``: mark notifications read."""

    ids = Raw(metadata={"description": "notification ids (at most 1000)"})
    all = Bool(load_default=False)

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        ids = data.get("ids")
        if data.get("all"):  # absent when "all" itself was refused
            if ids is not None:
                problems.append(Problem("supervise.ids_or_all", field="ids"))
            data["ids"] = None
            return
        if (not isinstance(ids, list) or not ids or len(ids) > MAX_IDS
                or not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**62
                           for i in ids)):
            problems.append(Problem("supervise.bad_ids", {"max": MAX_IDS}, field="ids"))


class PeriodQuery(Base):
    """A period ``[start, end)`` and the export format (``json`` default, ``csv``, ``xlsx``)."""

    start = Timestamp(required=True)
    end = Timestamp(required=True)
    format = Str(load_default="json", validate=OneOf(("json", "csv", "xlsx")))
    lang = Str(validate=OneOf(("zh", "en")))

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            problems.append(Problem("web.end_before_start", field="end"))


class PostQuery(PeriodQuery):
    """A post's indicators."""

    post = Str(required=True, validate=OneOf(posts.POSTS))


class HotlineQuery(PeriodQuery):
    """三率 per unit or street; ``sources`` (comma separated, default the 12345 hotline)."""

    by = Str(load_default="unit", validate=OneOf(("unit", "street")))
    satisfied_from = Int(load_default=4, validate=Range(1, 5))


class LevelQuery(PeriodQuery):
    """小事不出网格/大事不出社区 per grid, community or street."""

    area = Str(load_default="community", validate=OneOf(("grid", "community", "street")))
