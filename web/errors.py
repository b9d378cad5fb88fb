"""The one place where library errors become HTTP responses.

API requests (``/api/``, ``/open311/``) get JSON ``{"error": message, "problems": [...]}``;
pages get a small HTML error page. Never a traceback. Messages are shown in the session's
language (:mod:`web.messages`; a translated problem keeps its English text as ``reason_en``).
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template_string, request
from werkzeug.exceptions import HTTPException

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
from web.i18n import current_language
from web.messages import localise, localise_problem, summary

STATUS: list[tuple[type[GridmapError], int]] = [
    (InputTooLarge, 413),
    (ValidationError, 400),
    (NotFound, 404),
    (PermissionDenied, 403),
    (Conflict, 409),
    (IllegalTransition, 409),
    (DatabaseUnavailable, 503),
]

_PAGE = """<!doctype html><html lang="zh-CN"><meta charset="utf-8">
<title>{{ code }}</title><body style="font-family:sans-serif;margin:3em">
<h1>{{ code }}</h1><p>{{ message }}</p><p><a href="/">返回首页 / Home</a></p></body></html>"""


def status_for(exc: GridmapError) -> int:
    for cls, code in STATUS:
        if isinstance(exc, cls):
            return code
    return 400


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/open311/")) or request.is_json


def _respond(code: int, message: str, problems: list[dict] | None = None) -> Response:
    if wants_json():
        body: dict = {"error": message}
        if problems:
            body["problems"] = problems
        resp = jsonify(body)
        resp.status_code = code
        return resp
    return Response(render_template_string(_PAGE, code=code, message=message), status=code)


def register(app: Flask) -> None:
    """Install the error handlers on ``app``."""

    @app.errorhandler(GridmapError)
    def _gridmap(exc: GridmapError) -> Response:
        lang = current_language()
        if not isinstance(exc, ValidationError):
            return _respond(status_for(exc), localise(exc.message, lang))
        problems = [localise_problem(p.as_dict(), lang) for p in exc.problems]
        message = summary(exc.headline, problems, lang) if lang == "zh" else exc.message
        return _respond(status_for(exc), message, problems)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        return _respond(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        app.logger.exception("unhandled error")
        return _respond(500, "internal error / 服务器内部错误")
