"""Request schemas of the star-rating API (:mod:`web.api.ratings`)."""

from __future__ import annotations

from typing import Any

from gridmap.errors import Problem
from gridmap.ratings import ROUNDS
from web.api.fields import CSV, Int, MaxLength, Num, OneOf, Range, Str
from web.api.parsing import Base

MAX_COMMITTEES = 500


class RoundQuery(Base):
    """A rating round: ``year`` and ``round`` (initial 初评 | acceptance 验收评估)."""

    year = Int(required=True, validate=Range(2000, 2100))
    round = Str(required=True, validate=OneOf(ROUNDS))


class TableQuery(RoundQuery):
    """A round, optionally one street (9-digit code)."""

    street = Str(metadata={"description": "street code (9 digits)"})


class MapQuery(TableQuery):
    """The star map of a round (one street or all), in WGS84 or shifted to GCJ-02."""

    display = Str(load_default="wgs84", validate=OneOf(("wgs84", "gcj02")))


class SchemeQuery(Base):
    """The scheme of ``year`` (default: the shipped one)."""

    year = Int(validate=Range(2000, 2100))


class AuditQuery(Base):
    """One rating by id: its recomputation from what it froze and the cases behind it."""

    id = Int(required=True, validate=Range(1, 2**62))


class ReportQuery(RoundQuery):
    """The printable report of one street."""

    street = Str(required=True, metadata={"description": "street code (9 digits)"})


class ComputeBody(TableQuery):
    """Compute the drafts of the caller's committees (of one street)."""


class EnterBody(RoundQuery):
    """A rater's value of an entered criterion, with its evidence note."""

    committee = Str(required=True, metadata={"description": "committee (community) code"})
    criterion = Str(required=True)
    value = Num(required=True, validate=Range(0, 100))
    evidence = Str(required=True, validate=MaxLength(2000))


class ConfirmBody(RoundQuery):
    """Confirm the drafts of ``committees`` (codes), optionally with other ``stars`` and a note."""

    committees = CSV(required=True, metadata={"description": "committee codes (at most 500)"})
    stars = Int(validate=Range(1, 5))
    note = Str(validate=MaxLength(2000))

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        """At most :data:`MAX_COMMITTEES` committees per call."""
        if len(data.get("committees") or []) > MAX_COMMITTEES:
            problems.append(Problem("web.too_many_ids", {"field": "committees"},
                                    field="committees"))
