"""Request schemas of the units/staff/assignments API (``/api/org``). Errors are headed
``invalid request`` (``web.invalid_request``); the library validates the values themselves
(kinds, codes, areas, dates) and reports every problem at once."""

from __future__ import annotations

from typing import Any

from gridmap.errors import Problem
from gridmap.org.assignment_input import parse_date
from gridmap.org.sheets import KINDS_OF_SHEET
from web.api.fields import Bool, Int, OneOf, Raw, Str
from web.api.parsing import Base


class OrgBase(Base):
    """Org requests: errors headed ``invalid request``."""

    headline = "web.invalid_request"


def _date(data: dict[str, Any], name: str, problems: list[Problem]) -> None:
    raw = data.get(name)
    if raw in (None, ""):
        data[name] = None
        return
    value = parse_date(raw)
    if value is None:
        problems.append(Problem("org.bad_date", {"value": str(raw)}, field=name))
    data[name] = value


class UnitsQuery(OrgBase):
    """Which units: inactive ones too; as a tree."""

    include_inactive = Bool(load_default=False)
    tree = Bool(load_default=False)


class UnitPatch(OrgBase):
    """Fields of a unit to change (the code stays); ``areas`` replaces the served areas."""

    name = Str()
    kind = Str(metadata={"description": "kind code, Chinese name or alias (城管中队 …)"})
    line = Str(allow_none=True, metadata={"description": "kuai/块 or tiao/条"})
    level = Str(allow_none=True, metadata={"description": "district/street/community/grid"})
    parent = Str(allow_none=True, metadata={"description": "parent unit code"})
    contact_name = Str(allow_none=True)
    contact_phone = Str(allow_none=True)
    webhook_url = Str(allow_none=True)
    webhook_secret = Str(allow_none=True)
    areas = Raw(allow_none=True, metadata={
        "description": "[{level, code}], ['street:CODE', …] or 'CODE;CODE'"})


class UnitBody(UnitPatch):
    """A new unit."""

    code = Str(required=True)
    name = Str(required=True)
    kind = Str(required=True, metadata={"description": "kind code, Chinese name or alias"})


class StaffQuery(OrgBase):
    """Only holders of this post."""

    post = Str(allow_none=True)


class PostBody(OrgBase):
    """A post: the user (id or username), the unit (id or code) and the post."""

    user_id = Int(allow_none=True)
    username = Str(allow_none=True)
    unit_id = Int(allow_none=True)
    unit_code = Str(allow_none=True)
    post = Str(required=True, metadata={"description": "post code or Chinese name"})

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        if data.get("user_id") is None and not data.get("username"):
            problems.append(Problem("web.required", {"field": "username"}, field="username"))
        if data.get("unit_id") is None and not data.get("unit_code"):
            problems.append(Problem("web.required", {"field": "unit_code"}, field="unit_code"))


class AssignmentsQuery(OrgBase):
    """Filters of the assignment list; ``on``: only those valid that day."""

    grid_code = Str(allow_none=True)
    user_id = Int(allow_none=True)
    community_code = Str(allow_none=True)
    street_code = Str(allow_none=True)
    on = Str(allow_none=True, metadata={"description": "YYYY-MM-DD"})

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        _date(data, "on", problems)


class AssignmentBody(OrgBase):
    """A grid assignment (user by id or username)."""

    user_id = Int(allow_none=True)
    username = Str(allow_none=True)
    grid_code = Str(required=True)
    estate = Str(allow_none=True, metadata={"description": "小区 code or name"})
    role = Str(load_default="grid_worker",
               metadata={"description": "grid_worker/网格员, building_head/楼长, road_head/路长"})
    duty = Str(allow_none=True, metadata={"description": "职责/值班时间"})
    valid_from = Str(allow_none=True, metadata={"description": "YYYY-MM-DD (default today)"})
    valid_to = Str(allow_none=True, metadata={"description": "YYYY-MM-DD (default open)"})

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        if data.get("user_id") is None and not data.get("username"):
            problems.append(Problem("web.required", {"field": "username"}, field="username"))
        _date(data, "valid_from", problems)
        _date(data, "valid_to", problems)


class EndBody(OrgBase):
    """Last day of an assignment (default today)."""

    on = Str(allow_none=True, metadata={"description": "YYYY-MM-DD"})

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        _date(data, "on", problems)


class CoverageQuery(OrgBase):
    """Coverage per community or street, optionally one street, on a day."""

    level = Str(load_default="community", validate=OneOf(("community", "street")))
    street_code = Str(allow_none=True)
    on = Str(allow_none=True, metadata={"description": "YYYY-MM-DD (default today)"})

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        _date(data, "on", problems)


class OrgImportForm(OrgBase):
    """Form fields of an org file upload (the file itself is the multipart ``file`` part)."""

    kind = Str(allow_none=True, validate=OneOf(KINDS_OF_SHEET), metadata={
        "description": "kind of a single-table file (default: sheet names or headers)"})
    dry_run = Bool(load_default=False)
