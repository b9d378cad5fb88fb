"""Marshmallow fields and validators whose errors are message codes.

Every error a request field can produce is a :class:`gridmap.errors.Problem` (or a bare
``web.*`` code for marshmallow's own errors: required, wrong type), so that
:func:`web.api.parsing.parse` turns a failed load into one
:class:`~gridmap.errors.ValidationError` listing every bad field, rendered from the
``web`` message catalogue in the session's language.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields

from gridmap import inputs
from gridmap.errors import Problem

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, tzinfo=UTC)
"""Dates accepted in requests: anything else is refused before any window arithmetic."""
MAX_BBOX_SPAN_DEG = 2.0
"""Largest accepted incident bbox side (degrees): roughly a whole Chinese district."""


def fail(code: str, **params: Any) -> ma.ValidationError:
    """A marshmallow error carrying one coded :class:`Problem` (the field is filled in later)."""
    return ma.ValidationError([Problem(code, params)])


class Range(ma.validate.Validator):
    """``lo <= value <= hi`` (and finite), else ``web.between``."""

    def __init__(self, lo: float, hi: float) -> None:
        self.lo, self.hi = lo, hi

    def __call__(self, value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value) or not self.lo <= value <= self.hi:
            raise fail("web.between", lo=self.lo, hi=self.hi)
        return value


class OneOf(ma.validate.Validator):
    """One of ``choices`` (``web.must_be_either`` for two, else ``web.must_be_one_of``)."""

    def __init__(self, choices: Iterable[str]) -> None:
        self.choices = tuple(choices)

    def __call__(self, value: Any) -> Any:
        if value not in self.choices:
            if len(self.choices) == 2:
                raise fail("web.must_be_either", a=self.choices[0], b=self.choices[1])
            raise fail("web.must_be_one_of", choices=list(self.choices))
        return value


class MaxLength(ma.validate.Length):
    """Text of at most ``n`` characters (``code`` names the message; documented as the
    OpenAPI ``maxLength``)."""

    def __init__(self, n: int, code: str = "web.too_long") -> None:
        super().__init__(max=n)
        self.n, self.code = n, code

    def __call__(self, value: Any) -> Any:
        if len(value) > self.n:
            raise fail(self.code, max=self.n, length=len(value))
        return value


def Limit(kind: str) -> MaxLength:  # noqa: N802 - reads like a validator class
    """The library's length limit of ``kind`` (:data:`gridmap.inputs.MAX_LENGTHS`)."""
    return MaxLength(inputs.limit(kind), "input.too_long")


_DIGITS = re.compile(r"\s*[+-]?\d{1,18}\s*")
INT32 = 2**31 - 1
_COMMON = {"required": "web.required", "null": "web.required"}


class Int(fields.Integer):
    """An integer, or (unless ``text=False``) text of digits; a JSON bool or ``1.5`` is not one."""

    default_error_messages = {**_COMMON, "invalid": "web.must_be_integer",
                              "too_large": "web.must_be_integer"}

    def __init__(self, *, text: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.text = text
        if not any(isinstance(v, Range) for v in self.validators):
            self.validators.append(Range(-INT32 - 1, INT32))  # ids and versions are int4

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if self.text and isinstance(value, str) and _DIGITS.fullmatch(value):
            return int(value)
        raise self.make_error("invalid")


class Num(fields.Float):
    """A number (``nan``/``inf`` are refused by :class:`Range`)."""

    default_error_messages = {**_COMMON, "invalid": "web.must_be_number",
                              "special": "web.must_be_number", "too_large": "web.must_be_number"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_nan=True, **kwargs)


def _usable(value: str) -> str:
    """``value``, unless it holds a NUL or a lone surrogate (``input.*``)."""
    code = inputs.bad_text(value)
    if code is not None:
        raise fail(code)
    return value


class Str(fields.String):
    """Text without NUL or lone surrogates, at most ``short`` characters unless a
    :class:`MaxLength` is given."""

    default_error_messages = {**_COMMON, "invalid": "web.must_be_text",
                              "invalid_utf8": "web.must_be_text"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not any(isinstance(v, ma.validate.Length) for v in self.validators):
            self.validators.append(Limit("short"))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        return _usable(super()._deserialize(value, attr, data, **kwargs))


class Text(fields.Field):
    """One value meant as text: text or a number (passed on as it is, the library reads
    it), never a list, an object or a boolean; text checked like :class:`Str` against
    the library's limit of ``kind``."""

    default_error_messages = dict(_COMMON)

    def __init__(self, kind: str, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).update(
            {"type": ["string", "number"], "maxLength": inputs.limit(kind)})
        super().__init__(**kwargs)
        self.kind = kind

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise fail("input.not_text")
        if isinstance(value, str):
            _usable(value)
            n = inputs.limit(self.kind)
            if len(value) > n:
                raise fail("input.too_long", max=n, length=len(value))
        return value


class Bool(fields.Boolean):
    """``true`` or ``false``."""

    default_error_messages = {**_COMMON, "invalid": "web.must_be_bool"}


class Raw(fields.Raw):
    """Any JSON value, passed on as it is (checked by the library)."""

    default_error_messages = dict(_COMMON)


class Timestamp(fields.DateTime):
    """ISO 8601 date or timestamp; a naive value is taken as UTC (``tz`` to change that).

    ``code`` names the message for unreadable text (params ``field``, ``value``); with
    ``blank_is_default`` an empty or null value takes the field's ``load_default``.
    """

    default_error_messages = {**_COMMON, "invalid": "web.iso_datetime"}

    def __init__(self, tz: Any = UTC, code: str = "web.iso_datetime", *,
                 blank_is_default: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tz, self.code, self.blank_is_default = tz, code, blank_is_default

    def deserialize(self, value: Any, attr: str | None = None,
                    data: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        if self.blank_is_default and value in (None, ""):
            value = ma.missing
        return super().deserialize(value, attr, data, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str):
            raise fail(self.code, value=str(value)[:40])
        _usable(value)
        try:
            out = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise fail(self.code, value=value[:40]) from None
        out = out if out.tzinfo else out.replace(tzinfo=self.tz)
        if not EARLIEST <= out <= LATEST:  # window arithmetic stays far from year 1 and 9999
            raise fail("input.date_out_of_range", min=EARLIEST.date().isoformat(),
                       max=LATEST.date().isoformat())
        return out


def parse_bbox(raw: str, max_span: float | None = None) -> tuple[float, float, float, float]:
    """``minlon,minlat,maxlon,maxlat`` (WGS84 degrees) → floats.

    Raises
    ------
    marshmallow.ValidationError
        A malformed, out-of-range or inverted box, or one larger than ``max_span``.
    """
    try:
        values = [float(p) for p in raw.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise fail("web.bbox_malformed")
    x0, y0, x1, y1 = values
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        raise fail("web.bbox_outside_wgs84")
    if x0 >= x1 or y0 >= y1:
        raise fail("web.bbox_inverted")
    if max_span is not None and (x1 - x0 > max_span or y1 - y0 > max_span):
        raise fail("web.bbox_too_large", span=max_span)
    return (x0, y0, x1, y1)


class BBox(fields.Field):
    """A bbox ``minlon,minlat,maxlon,maxlat`` (see :func:`parse_bbox`)."""

    default_error_messages = {**_COMMON, "required": "web.bbox_required"}

    def __init__(self, max_span: float | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).setdefault(
            "description", "minlon,minlat,maxlon,maxlat (WGS84)"
            + (f"; at most {max_span} degrees a side" if max_span else ""))
        super().__init__(**kwargs)
        self.max_span = max_span

    def _deserialize(self, value: Any, attr: str | None, data: Any,
                     **kwargs: Any) -> tuple[float, float, float, float]:
        if not isinstance(value, str) or not value.strip():
            raise self.make_error("required")
        return parse_bbox(value, self.max_span)


class CSV(fields.Field):
    """Comma-separated (or repeated) values, each one of ``allowed()`` if given."""

    is_multiple = True
    default_error_messages = dict(_COMMON)

    def __init__(self, allowed: Callable[[], Iterable[str]] | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).setdefault("description",
                                                     "comma-separated values")
        super().__init__(**kwargs)
        self.allowed = allowed

    def _deserialize(self, value: Any, attr: str | None, data: Any,
                     **kwargs: Any) -> list[str] | None:
        raws = value if isinstance(value, list) else [value]
        if not all(isinstance(raw, str) for raw in raws):
            raise fail("input.not_text")
        values = [v.strip() for raw in raws for v in _usable(raw).split(",") if v.strip()]
        if not values:
            return None
        if self.allowed is not None:
            known = set(self.allowed())
            bad = [v for v in values if v not in known]
            if bad:
                raise fail("web.unknown_values", values=bad[:5])
        return values


def ints_csv(value: str, limit: int) -> list[int]:
    """``"1,2,3"`` → ``[1, 2, 3]`` (at most ``limit`` ids)."""
    try:
        ids = [int(x) for x in value.split(",") if x.strip()]
    except ValueError:
        raise fail("web.ids_must_be_integers") from None
    if len(ids) > limit:
        raise fail("web.too_many_ids")
    return ids


class IdList(fields.Field):
    """Comma-separated integer ids (at most ``limit``)."""

    default_error_messages = dict(_COMMON)

    def __init__(self, limit: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.limit = limit

    def _deserialize(self, value: Any, attr: str | None, data: Any,
                     **kwargs: Any) -> list[int] | None:
        return ints_csv(str(value), self.limit) or None


def field_names(schema: ma.Schema) -> Mapping[str, str]:
    """``{data key: attribute}`` of a schema's fields (for placing errors)."""
    return {(f.data_key or name): name for name, f in schema.fields.items()}
