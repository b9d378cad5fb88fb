"""gridmap web app: ``create_app(config)`` factory.

A thin layer over the ``gridmap`` library: page blueprints (:mod:`web.views`), a
JSON/GeoJSON API under ``/api/`` and Open311 under ``/open311/v2`` (:mod:`web.api`).
Requests are parsed by one schema layer (:mod:`web.api.parsing`); library errors become
HTTP responses in one place (:func:`web.errors.register`); who may see what is decided by
:mod:`web.access` and the library's area scope (:mod:`gridmap.accounts.scope`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Flask

from gridmap.config import Settings
from gridmap.reference.workcal import CalendarParams
from web import activation, compression, db, errors, headers, inputguard, limits, security
from web.api import aggregates, cases, dispatch, geocode, grids, incidents, layers, open311, openapi
from web.api import analysis as analysis_api  # emerging hot spots, PAI (#17 §4)
from web.api import dashboard as dashboard_api  # district dashboard (#17 §3)
from web.api import field as field_api
from web.api import org as org_api
from web.api import planner as planner_api
from web.api import profiles as profiles_api  # profiles, 2SFCA (#17 §2, §4)
from web.api import ratings as ratings_api  # star ratings 星级测评 (#17 §1)
from web.api import supervision as supervision_api
from web.api import tiles as tiles_api
from web.views import admin as admin_views
from web.views import (
    admin_records,
    auth,
    chrome,
    home,
    officer,
    org_admin,
    planner,
    rules_admin,  # /admin/rules 派单规则 (#13)
    supervisor,
)
from web.views import cases as cases_views
from web.views import dashboard as dashboard_views  # /dashboard (#17 §3)
from web.views import field as field_views
from web.views import profiles as profiles_views  # /profiles (#17 §2)
from web.views import ratings as ratings_views  # /ratings 星级测评 (#17 §1)

BLUEPRINTS: tuple[Blueprint, ...] = (
    auth.bp,
    chrome.bp,
    home.bp,
    planner.bp,
    supervisor.bp,
    dashboard_views.bp,  # /dashboard 一屏观天下 (#17 §3)
    profiles_views.bp,  # /profiles 社区画像 (#17 §2)
    ratings_views.bp,  # /ratings 星级测评 (#17 §1)
    officer.bp,
    org_admin.bp,
    rules_admin.bp,  # /admin/rules (#13)
    admin_views.bp,  # /admin: landing, users, settings (#16)
    admin_records.bp,  # /admin: audit log, import runs, catalogues (#16)
    cases_views.bp,
    field_views.bp,
    layers.bp,
    tiles_api.bp,  # basemap tiles and labels (#16): /api/tiles/base/…
    incidents.bp,
    aggregates.bp,
    grids.bp,
    planner_api.bp,
    open311.bp,
    geocode.bp,
    org_api.bp,
    dispatch.bp,
    supervision_api.bp,
    dashboard_api.bp,  # /api/dashboard/* (#17 §3)
    analysis_api.bp,  # /api/analysis/ehsa, /api/analysis/pai (#17 §4)
    profiles_api.bp,  # /api/profiles/<code> (#17 §2)
    profiles_api.fca_bp,  # /api/access/fca (#17 §4)
    ratings_api.bp,  # /api/ratings/* (#17 §1)
    field_api.bp,
    cases.bp,
    openapi.bp,
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
    CalendarParams.from_settings(settings)  # a malformed working day fails at start-up

    db.init_app(app, settings)
    limits.init_app(app, settings)  # before CSRF: nothing reads a body over its cap
    security.init_app(app, settings)
    headers.init_app(app, settings)
    compression.init_app(app)  # brotli/gzip answers, static files compressed once (#14)
    inputguard.init_app(app)  # NUL, lone surrogates, deep JSON: 400 before any view
    errors.register(app)
    activation.init_app(app)  # scheduled grid plans in force at their date (#16)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    return app
