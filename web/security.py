"""CSRF protection, secret key, session cookie flags, trusted proxies.

Roles and login live in :mod:`web.access` and :mod:`web.views.auth`; response headers
in :mod:`web.headers`.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from gridmap.config import Settings
from gridmap.errors import ConfigError

csrf = CSRFProtect()


def init_app(app: Flask, settings: Settings) -> None:
    """Set the secret key, the session cookie, proxies; enable CSRF on state changes.

    The session cookie is ``HttpOnly``, ``SameSite=Lax`` and ``Secure`` (unless
    ``Settings.cookie_secure`` is off or the demo serves plain http) and lives at most
    ``Settings.session_max_hours``; the session itself is checked server-side
    (:mod:`gridmap.accounts.sessions`). With ``Settings.trusted_proxies`` > 0, werkzeug's
    ProxyFix takes the client address and scheme from that many proxies' headers.
    """
    app.config["SESSION_COOKIE_SECURE"] = settings.cookie_secure and not settings.demo
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=settings.session_max_hours)
    # Set the cookie only when the session changed: a refresh on every response let map
    # requests still in flight from the old page overwrite the cookie the language switch
    # had just set (the switch then "did nothing"). Idle and maximum age are server-side.
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    if settings.trusted_proxies > 0:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    key = app.config.get("SECRET_KEY") or settings.secret_key
    if not key:
        if settings.demo or app.config.get("TESTING"):
            key = secrets.token_hex(32)
        else:
            raise ConfigError("web.secret_key_missing")
    app.config["SECRET_KEY"] = key
    csrf.init_app(app)
