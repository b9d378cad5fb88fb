"""gridmap web app: ``create_app(config)`` factory.

A thin layer over the ``gridmap`` library: blueprints per page/role, a JSON/GeoJSON
API under ``/api/``, Open311 under ``/open311/v2``. Library errors are mapped to
HTTP status codes in one place (:func:`web.errors.register`).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from flask import Flask

from gridmap.config import Settings

# Each module exposes ``bp`` (a Blueprint). Modules not written yet are skipped.
BLUEPRINT_MODULES = (
    "web.auth",
    "web.pages",
    "web.layers",
    "web.planner",
    "web.supervisor",
    "web.incidents_api",
    "web.open311",
    "web.officer",
    "web.grids_api",
    "web.openapi",
)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app.

    Parameters
    ----------
    config:
        Overrides for :class:`gridmap.config.Settings` (lower-case field names, e.g.
        ``database_url``) and Flask settings (upper-case keys, e.g. ``TESTING``).
    """
    config = dict(config or {})
    flask_keys = {k: v for k, v in config.items() if k.isupper()}
    settings = Settings.load({k: v for k, v in config.items() if not k.isupper()})

    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        JSON_AS_ASCII=False,
    )
    app.config.update(flask_keys)
    app.extensions["gridmap.settings"] = settings
    from gridmap.reference.workcal import CalendarParams

    CalendarParams.from_settings(settings)  # a malformed working day fails at start-up

    from web import db, errors, security

    db.init_app(app, settings)
    security.init_app(app, settings)
    errors.register(app)

    for name in BLUEPRINT_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        app.register_blueprint(module.bp)
    return app
