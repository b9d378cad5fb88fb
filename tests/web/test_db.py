"""Issue #12 (13, 14): the database down answers 503 "数据库暂不可用，请稍后再试" with
Retry-After, for pages and JSON alike; web sessions run with statement and lock timeouts,
and hitting one is a 503 "busy", not a worker held for minutes."""

from __future__ import annotations

import threading

import sqlalchemy as sa
from flask import Blueprint, Flask
from flask.sessions import SecureCookieSessionInterface

from gridmap.db import make_engine
from tests.fixtures.web import WebDB, csrf_token, make_app
from web import db

pytest_plugins = ["tests.fixtures.web"]

DEAD = "postgresql+psycopg://gridmap:x@127.0.0.1:1/gridmap"


def _with_session_cookie(app: Flask) -> object:
    c = app.test_client()
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    c.set_cookie("session", serializer.dumps({"sid": "some-token"}))
    return c


def test_database_down_is_503_for_pages_and_json() -> None:
    app = make_app(DEAD)
    c = app.test_client()
    resp = c.post("/login", data={"username": "a", "password": "b",
                                  "csrf_token": csrf_token(c)})
    assert resp.status_code == 503 and resp.headers["Retry-After"].isdigit()
    assert "数据库暂不可用，请稍后再试" in resp.get_data(as_text=True)
    assert "Traceback" not in resp.get_data(as_text=True)
    logged_in = _with_session_cookie(app)
    page = logged_in.get("/planner")  # type: ignore[attr-defined]
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert "数据库暂不可用" in page.get_data(as_text=True)
    api = logged_in.get("/api/me")  # type: ignore[attr-defined]
    assert api.status_code == 503 and api.headers["Retry-After"].isdigit()
    assert api.get_json()["code"] == "security.db_unavailable"
    assert api.get_json()["error"] == "数据库暂不可用，请稍后再试"
    en = _with_session_cookie(app)
    with en.session_transaction() as s:  # type: ignore[attr-defined]
        s["lang"] = "en"
    assert "temporarily unavailable" in en.get("/api/me").get_json()["error"]  # type: ignore[attr-defined]


def _probe_app(url: str, **config: object) -> Flask:
    app = make_app(url, **config)
    bp = Blueprint("db_probe", __name__)

    @bp.get("/api/probe/settings")
    def settings() -> dict:
        with db.read() as conn:
            return {k: conn.execute(sa.text(f"SHOW {k}")).scalar_one()
                    for k in ("statement_timeout", "lock_timeout")}

    @bp.get("/api/probe/slow")
    def slow() -> dict:
        with db.read() as conn:
            conn.execute(sa.text("SELECT pg_sleep(5)"))
        return {}

    @bp.get("/api/probe/locked")
    def locked() -> dict:
        with db.read() as conn:
            conn.execute(sa.text("SELECT count(*) FROM incident"))
        return {}

    app.register_blueprint(bp)
    return app


def test_web_sessions_have_statement_and_lock_timeouts(web_db: WebDB) -> None:
    app = _probe_app(web_db.url)
    assert app.test_client().get("/api/probe/settings").get_json() == {
        "statement_timeout": "15s", "lock_timeout": "5s"}
    app.extensions["gridmap.engine"].dispose()
    app = _probe_app(web_db.url, db_statement_timeout_ms=300, db_lock_timeout_ms=300)
    c = app.test_client()
    resp = c.get("/api/probe/slow")
    assert resp.status_code == 503 and resp.get_json()["code"] == "security.db_busy"
    assert resp.headers["Retry-After"].isdigit()
    # a reader waiting behind an exclusive lock (e.g. a migration) gives up after lock_timeout
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    holding, done = threading.Event(), threading.Event()

    def hold() -> None:
        with eng.begin() as conn:
            conn.execute(sa.text("LOCK TABLE incident IN ACCESS EXCLUSIVE MODE"))
            holding.set()
            done.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    try:
        assert holding.wait(10)
        resp = c.get("/api/probe/locked")
        assert resp.status_code == 503 and resp.get_json()["code"] == "security.db_busy"
    finally:
        done.set()
        t.join(10)
        eng.dispose()
        app.extensions["gridmap.engine"].dispose()
    assert c.get("/api/probe/locked").status_code == 200
