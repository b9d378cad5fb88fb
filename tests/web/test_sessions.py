"""Issue #12 (4, 9): a login is a server-side session. The old cookie is worthless after
logout, ``gridmap users passwd``, disabling, a role change and after the idle time; the
cookie is Secure (outside the demo), HttpOnly, SameSite=Lax and lives at most
``session_max_hours``."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from gridmap.db import make_engine
from tests.fixtures.web import WebDB, csrf_token, login, make_app

pytest_plugins = ["tests.fixtures.web"]


def _cookie(client: FlaskClient) -> str:
    c = client.get_cookie("session")
    assert c is not None
    return c.value


def _replay(app: Flask, value: str) -> int:
    """Status of ``/api/me`` for a fresh client holding a copied cookie."""
    thief = app.test_client()
    thief.set_cookie("session", value)
    return thief.get("/api/me").status_code


def _sql(web_db: WebDB, sql: str) -> None:
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        conn.execute(sa.text(sql))
    eng.dispose()


def test_cookie_flags_and_lifetime(app: Flask, client: FlaskClient) -> None:
    token = csrf_token(client)
    resp = client.post("/login", data={"username": "planner", "password": "correct-horse-battery",
                                       "csrf_token": token})
    set_cookie = resp.headers["Set-Cookie"]
    assert "Secure" in set_cookie and "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
    expires = parsedate_to_datetime(set_cookie.split("Expires=")[1].split(";")[0])
    hours = (expires - datetime.now(UTC)).total_seconds() / 3600
    assert 11.9 < hours <= 12.0


def test_demo_cookie_is_not_secure(web_db: WebDB) -> None:
    demo = make_app(web_db.url, demo=True)
    c = demo.test_client()
    resp = c.post("/login", data={"username": "planner", "password": "correct-horse-battery",
                                  "csrf_token": csrf_token(c)})
    assert resp.status_code == 302 and "Secure" not in resp.headers["Set-Cookie"]
    demo.extensions["gridmap.engine"].dispose()


def test_logout_ends_the_session_for_a_copied_cookie(app: Flask, client: FlaskClient) -> None:
    login(client, "planner")
    stolen = _cookie(client)
    assert _replay(app, stolen) == 200
    client.post("/logout", headers={"X-CSRFToken": client.csrf})
    assert _replay(app, stolen) == 401
    assert client.get("/").status_code == 302  # back to the login form


def test_passwd_on_the_command_line_ends_sessions(app: Flask, client: FlaskClient,
                                                  web_db: WebDB) -> None:
    login(client, "officer")
    stolen = _cookie(client)
    env = {**os.environ, "DATABASE_URL": web_db.url, "NEW_PW": "a-brand-new-password"}
    exe = str(Path(sys.executable).parent / "gridmap")
    r = subprocess.run([exe, "users", "passwd", "officer", "--password-env", "NEW_PW"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert client.get("/api/me").status_code == 401
    assert _replay(app, stolen) == 401


def test_role_change_and_disable_end_sessions(app: Flask, web_db: WebDB) -> None:
    a = login(app.test_client(), "supervisor")
    b = login(app.test_client(), "planner")
    _sql(web_db, "UPDATE app_user SET scope_streets = '{110101002}' WHERE username = 'supervisor'")
    assert a.get("/api/me").status_code == 401
    assert b.get("/api/me").status_code == 200  # others keep theirs
    _sql(web_db, "UPDATE app_user SET role = 'officer' WHERE username = 'planner'")
    assert b.get("/api/me").status_code == 401
    c = login(app.test_client(), "admin")
    _sql(web_db, "UPDATE app_user SET active = false WHERE username = 'admin'")
    assert c.get("/api/me").status_code == 401


def test_idle_timeout_and_absolute_lifetime(web_db: WebDB) -> None:
    app = make_app(web_db.url, session_idle_minutes=5, session_max_hours=1)
    idle = login(app.test_client(), "planner")
    old = login(app.test_client(), "officer")
    assert idle.get("/api/me").status_code == 200
    _sql(web_db, "UPDATE user_session SET last_seen_at = now() - interval '6 minutes'"
                 " WHERE user_id = (SELECT id FROM app_user WHERE username = 'planner')")
    _sql(web_db, "UPDATE user_session SET created_at = now() - interval '61 minutes'"
                 " WHERE user_id = (SELECT id FROM app_user WHERE username = 'officer')")
    assert idle.get("/api/me").status_code == 401
    assert old.get("/api/me").status_code == 401
    app.extensions["gridmap.engine"].dispose()


def test_an_old_signed_cookie_without_a_session_is_nobody(app: Flask) -> None:
    """The pre-#12 cookie held ``uid``; a forged or old one opens nothing."""
    from flask.sessions import SecureCookieSessionInterface

    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    forged = serializer.dumps({"uid": 1, "sid": "guessed-token"})
    assert _replay(app, forged) == 401
