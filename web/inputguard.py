"""Hostile text refused for every request before any view reads it (400, never 500).

PostgreSQL cannot store a NUL character, UTF-8 cannot encode a lone surrogate, and a JSON
body nested thousands of levels deep makes Python's parser raise ``RecursionError``: any of
them reaching a view would end as an HTTP 500. This check runs after the body-size cap
(:mod:`web.limits`) and before the views, for every route (pages, ``/api/``, Open311,
login): query-string keys and values, form fields, path parameters and every key and
string of a JSON body are checked with :mod:`gridmap.inputs`; ``NaN``/``Infinity`` (not
JSON) and nesting deeper than :data:`gridmap.inputs.MAX_JSON_DEPTH` are refused too. The
answer is a :class:`~gridmap.errors.ValidationError` headed ``input.rejected`` listing every
problem (rendered by :mod:`web.errors` in the session's language). A body that is not JSON
at all is left to the view, which answers with its own message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from flask import Flask, request

from gridmap import inputs
from gridmap.errors import Problem, ValidationError


class _NotFinite(ValueError):
    """``NaN``, ``Infinity`` or ``-Infinity`` in a JSON body."""


def _no_constant(name: str) -> Any:
    raise _NotFinite(name)


def _pairs_problems(pairs: Iterable[tuple[str, str]]) -> list[Problem]:
    """Keys and values of query strings, forms and path parameters."""
    problems: list[Problem] = []
    for key, value in pairs:
        key_code = inputs.bad_text(key)
        if key_code is not None:  # the key itself cannot be shown
            problems.append(Problem("input.bad_key", {"field": "?"}))
            continue
        code = inputs.bad_text(value)
        if code is not None:
            problems.append(Problem(code, {"field": key}, field=key))
    return problems


def _json_problems() -> list[Problem]:
    if not request.is_json:
        return []
    raw = request.get_data(cache=True, parse_form_data=False)
    if not raw.strip():
        return []
    try:
        doc = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        return [Problem("input.json_too_deep", {"max": inputs.MAX_JSON_DEPTH})]
    except _NotFinite:
        return [Problem("input.json_not_finite")]
    except ValueError:  # not JSON (or not UTF-8): the view says so in its own words
        return []
    return inputs.json_problems(doc)


def check_request() -> None:
    """Refuse a request carrying unusable text anywhere (see the module docstring).

    Raises
    ------
    ValidationError
        ``input.rejected`` with one problem per offending field.
    """
    problems = _pairs_problems(request.args.items(multi=True))
    problems += _pairs_problems((k, v) for k, v in (request.view_args or {}).items()
                                if isinstance(v, str))
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            problems += _pairs_problems(request.form.items(multi=True))
        problems += _json_problems()
    if problems:
        raise ValidationError("input.rejected", problems)


def init_app(app: Flask) -> None:
    """Install the check for every request (after the body-size cap)."""
    app.before_request(check_request)
