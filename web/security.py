"""CSRF protection and secret key. Roles and login live in ``web.auth``."""

from __future__ import annotations

import secrets

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from gridmap.config import Settings
from gridmap.errors import ConfigError

csrf = CSRFProtect()


def init_app(app: Flask, settings: Settings) -> None:
    """Set the secret key and enable CSRF on every state-changing request."""
    key = app.config.get("SECRET_KEY") or settings.secret_key
    if not key:
        if settings.demo or app.config.get("TESTING"):
            key = secrets.token_hex(32)
        else:
            raise ConfigError("web.secret_key_missing")
    app.config["SECRET_KEY"] = key
    csrf.init_app(app)
