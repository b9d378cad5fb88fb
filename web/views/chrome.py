"""Page chrome served outside ``/static``: ``/favicon.ico`` (browsers ask for it even when
the page links ``static/favicon.svg``; answering it keeps the console free of 404s)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, send_from_directory

bp = Blueprint("chrome", __name__)


@bp.get("/favicon.ico")
def favicon() -> Response:
    """The app's icon (SVG), cached for a day."""
    folder = current_app.static_folder
    assert folder is not None
    resp = send_from_directory(folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400)
    resp.headers["Cache-Control"] = "public, max-age=86400"
    return resp
