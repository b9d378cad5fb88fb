"""The one request-parsing layer: webargs + marshmallow schemas, errors as message codes.

A view declares what it reads::

    @bp.get("/api/things")
    @roles_required("planner")
    @use(ThingQuery)                      # query string → kwargs["args"]
    def things(args: dict) -> Response: ...

    @use(ThingBody, "json", arg="body")   # JSON body → kwargs["body"]

:func:`use` parses before the view runs; :func:`parse` does the same inside a view (when
something, e.g. authentication, must come first) and :func:`describe` only records the
schema for the OpenAPI document (:mod:`web.api.openapi` reads ``view.gm_args``).

Every failure becomes one :class:`~gridmap.errors.ValidationError` (400) listing every bad
field at once: marshmallow's messages are ``web.*`` codes or coded
:class:`~gridmap.errors.Problem` objects (:mod:`web.api.fields`); a schema's
:meth:`Base.check` adds cross-field problems (e.g. ``end`` after ``start``) to the same list.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar

import marshmallow as ma
from flask import Request
from webargs.flaskparser import FlaskParser

from gridmap.errors import Problem, ValidationError

F = TypeVar("F", bound=Callable[..., Any])
_LOCATIONS = {"query", "querystring", "json", "form", "json_or_form", "headers", "cookies",
              "files", "view_args"}
_CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")


class Base(ma.Schema):
    """Base of every request schema: unknown keys are ignored, errors are codes."""

    headline = "web.bad_parameters"
    """Code of the error's headline (``bad request parameters``)."""

    error_messages = {"type": "web.body_not_object", "unknown": "web.unknown_field"}

    class Meta:
        unknown = ma.EXCLUDE

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        """Cross-field checks after loading (``data`` holds the fields that loaded)."""


class SchemaErrors(Exception):
    """Field errors of one load (raised by the parser, caught by :func:`parse`)."""

    def __init__(self, problems: list[Problem], valid: dict[str, Any]) -> None:
        super().__init__("invalid request")
        self.problems = problems
        self.valid = valid


def problems_from(messages: Any, field: str | None = None, row: int | None = None,
                  name: str | None = None) -> list[Problem]:
    """marshmallow error messages (codes or Problems, nested by field and list index) →
    coded Problems with ``field`` (the top-level key), ``row`` (1-based list index) and
    ``params["field"]`` (the innermost key)."""
    out: list[Problem] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if isinstance(key, int):
                out += problems_from(value, field, row if row is not None else key + 1, name)
            elif key == "_schema":
                out += problems_from(value, field, row, name)
            else:
                out += problems_from(value, field or str(key), row, str(key))
    elif isinstance(messages, list):
        for m in messages:
            out += problems_from(m, field, row, name)
    elif isinstance(messages, Problem):
        params = dict(messages.params)
        params.setdefault("field", name or field or "")
        out.append(dataclasses.replace(messages, params=params, field=messages.field or field,
                                       row=messages.row if messages.row is not None else row))
    else:
        code = str(messages) if _CODE.match(str(messages)) else "web.invalid_value"
        out.append(Problem(code, {"field": name or field or ""}, field=field, row=row))
    return out


class Parser(FlaskParser):
    """webargs' Flask parser with coded errors."""

    DEFAULT_VALIDATION_STATUS = 400

    def handle_error(self, error: ma.ValidationError, req: Request, schema: ma.Schema,
                     *, error_status_code: int | None, error_headers: Any) -> NoReturn:
        valid = error.valid_data if isinstance(error.valid_data, dict) else {}
        messages = error.messages
        if isinstance(messages, dict) and len(messages) == 1 and next(iter(messages)) in _LOCATIONS:
            messages = next(iter(messages.values()))  # webargs nests them under the location
        raise SchemaErrors(problems_from(messages), valid)

    def _handle_invalid_json_error(self, error: Any, req: Request, *args: Any,
                                   **kwargs: Any) -> NoReturn:
        raise ValidationError("web.body_not_object")


parser = Parser()


def parse(schema_cls: type[Base], location: str = "query") -> dict[str, Any]:
    """Load ``location`` (``query``, ``json``, ``json_or_form``) with ``schema_cls``.

    Raises
    ------
    ValidationError
        Every problem found (field errors and :meth:`Base.check`'s), headline
        ``schema_cls.headline``.
    """
    schema = schema_cls()
    problems: list[Problem] = []
    try:
        data: dict[str, Any] = dict(parser.parse(schema, location=location))
    except SchemaErrors as exc:
        problems, data = exc.problems, dict(exc.valid)
    schema.check(data, problems)
    if problems:
        raise ValidationError(schema.headline, problems)
    return data


def load(schema_cls: type[Base], data: Mapping[str, Any], **attrs: Any) -> dict[str, Any]:
    """:func:`parse` for a plain mapping (tests, other callers); ``attrs`` are set on the
    schema instance first (e.g. ``now=`` for time windows)."""
    schema = schema_cls()
    for key, value in attrs.items():
        setattr(schema, key, value)
    problems: list[Problem] = []
    try:
        out: dict[str, Any] = dict(schema.load(data))
    except ma.ValidationError as exc:
        problems = problems_from(exc.messages)
        out = dict(exc.valid_data) if isinstance(exc.valid_data, dict) else {}
    schema.check(out, problems)
    if problems:
        raise ValidationError(schema.headline, problems)
    return out


def describe(schema_cls: type[Base], location: str = "query") -> Callable[[F], F]:
    """Record that a view reads ``location`` with ``schema_cls`` (for the OpenAPI document)."""

    def decorate(view: F) -> F:
        view.gm_args = [*getattr(view, "gm_args", []), (schema_cls, location)]  # type: ignore[attr-defined]
        return view

    return decorate


def use(schema_cls: type[Base], location: str = "query", *, arg: str | None = None
        ) -> Callable[[F], F]:
    """Parse ``location`` with ``schema_cls`` before the view; the result is passed as the
    keyword ``arg`` (default ``args`` for the query string, ``body`` otherwise)."""
    name = arg or ("args" if location == "query" else "body")

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*a: Any, **kw: Any) -> Any:
            kw[name] = parse(schema_cls, location)
            return view(*a, **kw)

        return describe(schema_cls, location)(wrapper)  # type: ignore[return-value]

    return decorate
