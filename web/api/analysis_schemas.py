"""Request schemas of the analysis API (:mod:`web.api.analysis`): emerging hot spots and the
PAI / hit rate of hotspot maps."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gridmap.errors import Problem
from web.api.fields import Bool, Int, OneOf, Range, Str
from web.api.parsing import Base

STEPS = ("week", "month")


def _dates(data: dict[str, Any], problems: list[Problem], names: tuple[str, ...]) -> None:
    """``start``/``end`` as ISO dates (YYYY-MM-DD); every bad one reported."""
    for name in names:
        value = data.get(name)
        if value is None:
            continue
        try:
            data[name] = dt.date.fromisoformat(value)
        except ValueError:
            problems.append(Problem("analysis.not_a_date", {"name": name, "value": value},
                                    field=name))
            data[name] = None


class EhsaQuery(Base):
    """Emerging hot spots: ``step`` (week | month), a window of days in the first and last
    step (default: 104 weeks / 24 months before the current step), optional ``street`` code
    and ``time_lag``; ``geometry=true`` returns the classified grids as GeoJSON."""

    step = Str(load_default="week", validate=OneOf(STEPS))
    start = Str(metadata={"description": "a day (YYYY-MM-DD) in the first step"})
    end = Str(metadata={"description": "a day (YYYY-MM-DD) in the last step"})
    street = Str(metadata={"description": "street code (9 digits)"})
    category = Str(metadata={"description": "category codes, comma-separated (a 大类 code "
                                            "takes its sub-classes)"})
    time_lag = Int(validate=Range(0, 4))
    geometry = Bool(load_default=False)

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        _dates(data, problems, ("start", "end"))


class PaiQuery(Base):
    """PAI and hit rate of last period's hot spots (``method`` gi | ehsa | both) for this
    period's cases; ``step`` week | month; ``end`` a day in the scored period (default: the
    last whole one); optional ``street`` code."""

    method = Str(load_default="both", validate=OneOf(("gi", "ehsa", "both")))
    step = Str(load_default="week", validate=OneOf(STEPS))
    end = Str(metadata={"description": "a day (YYYY-MM-DD) in the scored period"})
    street = Str(metadata={"description": "street code (9 digits)"})

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        _dates(data, problems, ("end",))


TARGETS = ("cases", "patrol")
INT32 = 2**31 - 1


class BalanceQuery(Base):
    """Both balances of a grid plan: ``version`` id and the second ``target`` (cases per
    month over the last 12 months | patrol length of streets)."""

    version = Int(required=True, validate=Range(1, INT32))
    target = Str(load_default="cases", validate=OneOf(TARGETS))


class WorkloadPartitionBody(Base):
    """A draft for ``community_id`` balanced on households and ``target``; ``seed``."""

    community_id = Int(required=True, validate=Range(1, INT32))
    target = Str(required=True, validate=OneOf(TARGETS))
    seed = Int(load_default=0, validate=Range(0, INT32))


class WorkloadRebalanceBody(Base):
    """Rebalance draft ``version_id`` on households (hard range) and ``target``;
    ``lock_version`` the client last saw (optional)."""

    version_id = Int(required=True, validate=Range(1, INT32))
    target = Str(required=True, validate=OneOf(TARGETS))
    lock_version = Int(allow_none=True, validate=Range(0, INT32))
