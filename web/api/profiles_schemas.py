"""Request schemas of the profile and 2SFCA API (:mod:`web.api.profiles`)."""

from __future__ import annotations

from marshmallow.validate import OneOf

from web.api.fields import BBox, Bool, Int, Num, Range, Str
from web.api.parsing import Base
from web.api.schemas import DisplayQuery


class ProfileQuery(Base):
    """A profile: with the check-up (candidate sites per type with a gap) or without."""

    checkup = Bool(load_default=True)
    sites = Int(load_default=2, validate=Range(0, 10))


class ProfileExportQuery(Base):
    """The profile as XLSX (headers in the page's language)."""

    sites = Int(load_default=2, validate=Range(0, 10))


class FcaQuery(DisplayQuery):
    """2SFCA supply per 1,000 of one capacity type per estate or community in a bbox."""

    type = Str(load_default="kindergarten", validate=OneOf(
        ("kindergarten", "nursery", "nursing_home", "elderly_day_care")))
    level = Str(load_default="community", validate=OneOf(("estate", "community")))
    decay = Str(load_default=None, allow_none=True, validate=OneOf(("step", "gaussian")))
    catchment_m = Num(load_default=None, allow_none=True, validate=Range(10, 5000))
    bbox = BBox(required=True)
    zoom = Int(load_default=14, validate=Range(0, 22))
