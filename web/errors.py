"""The one place where errors become HTTP responses.

Library errors carry a message code and params (:mod:`gridmap.errors`); they are rendered
here from the message catalogues in the session's language. API requests (``/api/``,
``/open311/``) get JSON ``{"error": text, "code", "params", "problems": [...]}`` (each
problem with ``reason`` in the session's language and ``reason_en``); pages get a small
HTML error page. Never a traceback. The web layer's own refusals (login, role) are
HTTP errors with a ``web.*`` code: :func:`http_error`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify, render_template, render_template_string, request
from psycopg import errors as pg_errors
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, default_exceptions

from gridmap import messages
from gridmap.errors import (
    Conflict,
    DatabaseUnavailable,
    GridmapError,
    IllegalTransition,
    InputTooLarge,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from web import i18n
from web.errors_text import ERROR_MESSAGES
from web.i18n import MESSAGES, current_language, t

i18n.register(ERROR_MESSAGES)

STATUS: list[tuple[type[GridmapError], int]] = [
    (InputTooLarge, 413),
    (ValidationError, 400),
    (NotFound, 404),
    (PermissionDenied, 403),
    (Conflict, 409),
    (IllegalTransition, 409),
    (DatabaseUnavailable, 503),
]

RETRY_AFTER_S = 30
"""``Retry-After`` of a 503 (database down or busy)."""

_PAGE = """<!doctype html>
<html lang="{{ 'zh-CN' if lang == 'zh' else 'en' }}"><meta charset="utf-8">
<title>{{ status }}</title><body style="font-family:sans-serif;margin:3em">
<h1>{{ status }}</h1><p>{{ message }}</p><p><a href="/">{{ home }}</a></p></body></html>"""


def status_for(exc: GridmapError) -> int:
    """The HTTP status of a library error."""
    for cls, code in STATUS:
        if isinstance(exc, cls):
            return code
    return 400


def http_error(status: int, code: str, params: Mapping[str, Any] | None = None
               ) -> HTTPException:
    """An HTTP error (401, 403, …) whose text is the message ``code`` (rendered on output)."""
    exc = default_exceptions[status](description=messages.render(code, params, "en"))
    exc.gm_code = code  # type: ignore[attr-defined]
    exc.gm_params = dict(params or {})  # type: ignore[attr-defined]
    return exc


def is_api_path(path: str) -> bool:
    """``/api/…``, ``/open311/…`` or any path with an ``/api/`` segment (JSON answers)."""
    return path.startswith(("/api/", "/open311/")) or "/api/" in path


def wants_json() -> bool:
    return is_api_path(request.path) or request.is_json


def _page(status: int, body: dict[str, Any]) -> str:
    """The error page in the app's layout (header, navigation, language switch); the bare
    page if the layout itself fails (e.g. the database is down and the user unknown)."""
    key = str(status) if f"error.title.{status}" in MESSAGES["zh"] else "other"
    message = body["error"] if body.get("code") else t(f"error.text.{key}")
    try:
        return render_template("error.html", status=status, title=t(f"error.title.{key}"),
                               message=message)
    except Exception:  # noqa: BLE001 (an error page must never fail)
        return render_template_string(_PAGE, status=status, message=message,
                                      lang=current_language(), home=t("error.home"))


def _respond(status: int, body: dict[str, Any]) -> Response:
    if wants_json():
        resp = jsonify(body)
        resp.status_code = status
        return resp
    return Response(_page(status, body), status=status)


def database_error(exc: sa_exc.DBAPIError) -> DatabaseUnavailable:
    """A driver error that means "database down or too busy" as a 503 library error.

    A statement or lock timeout (``QueryCanceled``, ``LockNotAvailable``) is "busy"; a
    refused or lost connection is "unavailable". Neither leaks the driver's text.
    """
    busy = isinstance(exc.orig, pg_errors.QueryCanceled | pg_errors.LockNotAvailable)
    return DatabaseUnavailable("security.db_busy" if busy else "security.db_unavailable")


def error_body(exc: BaseException, lang: str) -> tuple[int, dict[str, Any]]:
    """``(status, JSON body)`` for any error, the texts in ``lang``."""
    if isinstance(exc, GridmapError):
        return status_for(exc), exc.as_dict(lang)
    if isinstance(exc, HTTPException):
        code = getattr(exc, "gm_code", None)
        if code is None:
            return exc.code or 500, {"error": exc.description or exc.name}
        params = getattr(exc, "gm_params", {})
        return exc.code or 500, {"error": messages.render(code, params, lang), "code": code,
                                 "params": params}
    return 500, {"error": messages.render("web.internal_error", None, lang),
                 "code": "web.internal_error", "params": {}}


def register(app: Flask) -> None:
    """Install the error handlers on ``app``."""

    @app.errorhandler(GridmapError)
    def _gridmap(exc: GridmapError) -> Response:
        return _respond(*error_body(exc, current_language()))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        return _respond(*error_body(exc, current_language()))

    @app.errorhandler(sa_exc.OperationalError)
    @app.errorhandler(sa_exc.InterfaceError)
    def _database(exc: sa_exc.DBAPIError) -> Response:
        app.logger.warning("database unavailable: %s", exc.orig)
        return _respond(*error_body(database_error(exc), current_language()))

    @app.after_request
    def _retry_after(resp: Response) -> Response:
        if resp.status_code == 503:
            resp.headers.setdefault("Retry-After", str(RETRY_AFTER_S))
        return resp

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        app.logger.exception("unhandled error")
        return _respond(*error_body(exc, current_language()))
