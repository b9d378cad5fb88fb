"""Request-size limits per endpoint, enforced while the body streams in.

Every request may carry at most ``Settings.api_max_body_bytes`` and
``Settings.max_upload_bytes`` (smaller caps for some endpoints: :data:`BODY_LIMITS`). A declared ``Content-Length`` over the cap is refused
before anything is read; a chunked body (no length) is read through werkzeug's limited
stream, which stops reading at the cap (a chunked body that reaches it is refused): either way the answer is 413 with
``security.body_too_large``, never "not JSON". The check runs before CSRF and the views.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

from gridmap.config import Settings
from gridmap.errors import InputTooLarge

BODY_LIMITS: dict[str, int] = {
    "auth.login": 16 * 1024,
    "auth.logout": 16 * 1024,
    "pages.set_language": 16 * 1024,
    # a move lists [type, id] pairs: ~25 bytes each, Settings.max_move_units of them
    "grids_api.moves": 256 * 1024,
}
"""Endpoint → largest body in bytes (others: ``Settings.api_max_body_bytes``)."""
UPLOAD_ENDPOINTS: frozenset[str] = frozenset({"field_api.submit_report", "field_api.add_photos"})
"""Photo uploads (issue #14): capped by ``Settings.max_upload_bytes`` alone (each photo is
checked against ``photo_max_bytes`` by the library, 1–6 per request)."""

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def body_limit(endpoint: str | None, settings: Settings) -> int:
    """The body cap of ``endpoint`` in bytes (never above the general caps)."""
    if endpoint in UPLOAD_ENDPOINTS:
        return settings.max_upload_bytes
    return min(BODY_LIMITS.get(endpoint or "", settings.api_max_body_bytes),
               settings.api_max_body_bytes, settings.max_upload_bytes)


def _too_large(limit: int) -> InputTooLarge:
    return InputTooLarge("security.body_too_large", params={"max": limit})


def check_body(settings: Settings) -> None:
    """Refuse (413) a body larger than this endpoint's cap; read chunked bodies capped."""
    limit = body_limit(request.endpoint, settings)
    request.max_content_length = limit
    length = request.content_length
    if length is not None:
        if length > limit:
            raise _too_large(limit)
        return
    if request.method in _BODY_METHODS:
        try:
            data = request.get_data(cache=True, parse_form_data=False)
        except RequestEntityTooLarge as exc:
            raise _too_large(limit) from exc
        if len(data) >= limit:  # the limited stream stops at the cap without an error
            raise _too_large(limit)


def init_app(app: Flask, settings: Settings) -> None:
    """Install the check (call before CSRF, so no body is parsed before it)."""
    app.before_request(lambda: check_body(settings))
