"""Login, roles, CSRF, language switch (Flask test client against a real database)."""

from __future__ import annotations

import pytest
from flask import Blueprint, Flask

from gridmap.accounts import users
from tests.fixtures.web import PASSWORD, WebDB, csrf_token, login, make_app
from web.access import roles_required

pytest_plugins = ["tests.fixtures.web"]


def test_login_page_is_chinese_and_has_no_cdn(client) -> None:
    from web.assets import cdn_urls

    html = client.get("/login").get_data(as_text=True)
    assert "登录" in html and 'lang="zh-CN"' in html
    assert cdn_urls(html) == []


def test_pages_need_login(client) -> None:
    resp = client.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert client.get("/api/me").status_code == 401


def test_wrong_password_is_refused(client) -> None:
    token = csrf_token(client)
    resp = client.post("/login", data={"username": "planner", "password": "nope-nope",
                                       "csrf_token": token})
    assert resp.status_code == 401
    assert "用户名或密码错误" in resp.get_data(as_text=True)
    assert client.get("/api/me").status_code == 401


def test_login_without_csrf_token_is_refused(client) -> None:
    resp = client.post("/login", data={"username": "planner", "password": PASSWORD})
    assert resp.status_code == 400
    assert client.get("/api/me").status_code == 401


def test_login_then_me_then_logout(client) -> None:
    login(client, "planner")
    me = client.get("/api/me").get_json()
    assert me["role"] == "planner" and me["username"] == "planner"
    assert client.post("/logout").status_code == 400  # no CSRF token
    resp = client.post("/logout", headers={"X-CSRFToken": client.csrf})
    assert resp.status_code == 302
    assert client.get("/api/me").status_code == 401


def test_login_next_is_never_an_open_redirect(client) -> None:
    token = csrf_token(client)
    resp = client.post("/login?next=//evil.example/x", data={
        "username": "planner", "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302
    assert "evil.example" not in resp.headers["Location"]


def test_disabled_user_loses_session(web_db: WebDB, app, client) -> None:
    import sqlalchemy as sa

    from gridmap.accounts import users
    from gridmap.db import make_engine

    login(client, "officer")
    assert client.get("/api/me").status_code == 200
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        users.disable(conn, "officer")
    eng.dispose()
    assert client.get("/api/me").status_code == 401


def _app_with_role_pages(url: str) -> Flask:
    application = make_app(url)
    bp = Blueprint("roles_probe", __name__)

    @bp.get("/probe/supervisor")
    @roles_required("supervisor")
    def sup() -> str:
        return "supervisor ok"

    @bp.post("/api/probe/officer")
    @roles_required("officer")
    def off() -> dict:
        return {"ok": True}

    application.register_blueprint(bp)
    return application


@pytest.mark.parametrize(("role", "sup_status", "off_status"), [
    ("planner", 403, 403), ("supervisor", 200, 403), ("officer", 403, 200), ("admin", 200, 200),
])
def test_roles_required(web_db: WebDB, role: str, sup_status: int, off_status: int) -> None:
    application = _app_with_role_pages(web_db.url)
    c = application.test_client()
    login(c, role)
    assert c.get("/probe/supervisor").status_code == sup_status
    resp = c.post("/api/probe/officer", headers={"X-CSRFToken": c.csrf})
    assert resp.status_code == off_status
    if off_status == 403:
        assert "error" in resp.get_json()
    application.extensions["gridmap.engine"].dispose()


def test_supervisor_scope_is_their_street(web_db: WebDB) -> None:
    application = _app_with_role_pages(web_db.url)
    from web.access import current_scope

    c = application.test_client()
    login(c, "supervisor")
    with c:
        c.get("/api/me")
        scope = current_scope().ids()
    street1 = {web_db.ids["community"]["110101001001"], web_db.ids["community"]["110101001002"]}
    assert set(scope or []) == street1
    application.extensions["gridmap.engine"].dispose()


def test_language_switch(client) -> None:
    login(client, "planner")
    resp = client.post("/lang", data={"lang": "en", "next": "/login",
                                      "csrf_token": client.csrf})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    html = client.get("/login").get_data(as_text=True)
    assert 'lang="en"' in html and "Log in" in html
    client.post("/lang", data={"lang": "zh", "csrf_token": client.csrf})
    assert 'lang="zh-CN"' in client.get("/login").get_data(as_text=True)


def test_index_without_role_pages_lists_nothing_but_works(client) -> None:
    login(client, "officer")
    resp = client.get("/")
    assert resp.status_code in (200, 302)


def test_serve_demo_runs_gunicorn_and_prints_working_accounts(fresh_db_url: str) -> None:
    """`gridmap serve --demo`: gunicorn starts, the printed demo password logs in."""
    import os
    import re
    import socket
    import subprocess
    import sys
    import time
    import urllib.request
    from http.cookiejar import CookieJar
    from pathlib import Path
    from urllib.parse import urlencode

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    import sqlalchemy as sa

    from gridmap.db import make_engine
    from tests.fixtures.web import seed_district

    eng = make_engine(fresh_db_url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        seed_district(conn)
        users.add(conn, "planner", "my-own-password", "planner")  # a real account
    eng.dispose()
    env = {**os.environ, "DATABASE_URL": fresh_db_url, "GRIDMAP_LANG": "en"}
    env.pop("GRIDMAP_SECRET_KEY", None)
    exe = str(Path(sys.executable).parent / "gridmap")
    proc = subprocess.Popen([exe, "serve", "--demo", "--port", str(port), "--workers", "2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out = ""
        deadline = time.time() + 60
        while "user officer" not in out and time.time() < deadline:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            assert line, proc.stderr.read()  # type: ignore[union-attr]
            out += line
        # the seeded 'planner' is a real account: the demo never re-keys it
        assert not re.search(r"user planner\b", out)
        password = re.search(r"user officer\s+password (\S+)", out).group(1)  # type: ignore[union-attr]
        base = f"http://127.0.0.1:{port}"
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        for _ in range(100):
            try:
                html = opener.open(f"{base}/login", timeout=5).read().decode()
                break
            except OSError:
                time.sleep(0.1)
        token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)  # type: ignore[union-attr]
        data = urlencode({"username": "officer", "password": password, "csrf_token": token})
        opener.open(f"{base}/login", data=data.encode(), timeout=5)
        # several requests: any worker must accept the session (shared secret key)
        for _ in range(6):
            me = opener.open(f"{base}/api/me", timeout=5).read().decode()
            assert '"role":"officer"' in me.replace(" ", "")
    finally:
        proc.terminate()
        proc.wait(10)


def test_serve_without_secret_key_or_demo_refuses(web_db: WebDB) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "DATABASE_URL": web_db.url, "GRIDMAP_LANG": "en"}
    env.pop("GRIDMAP_SECRET_KEY", None)
    exe = str(Path(sys.executable).parent / "gridmap")
    r = subprocess.run([exe, "serve", "--port", "1"], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1 and "GRIDMAP_SECRET_KEY" in r.stderr


def test_repeated_failed_logins_are_throttled_across_workers(web_db: WebDB) -> None:
    """Two app instances (two gunicorn workers) share one count of failed logins."""
    import sqlalchemy as sa

    from gridmap.accounts import throttle
    from gridmap.config import Settings
    from gridmap.db import make_engine

    workers = [make_app(web_db.url).test_client(), make_app(web_db.url).test_client()]
    tokens = [csrf_token(c) for c in workers]
    try:
        for i in range(Settings.login_max_per_user_address):  # alternate between the two workers
            r = workers[i % 2].post("/login", data={"username": "Admin",
                                                    "password": "guess-guess",
                                                    "csrf_token": tokens[i % 2]})
            assert r.status_code == 401
        for c, token in zip(workers, tokens, strict=True):
            r = c.post("/login", data={"username": "admin", "password": PASSWORD,
                                       "csrf_token": token})
            assert r.status_code == 429 and "登录失败次数过多" in r.get_data(as_text=True)
    finally:  # the window passes (here: the rows are removed)
        eng = make_engine(web_db.url)
        with eng.begin() as conn:
            throttle.clear(conn, "admin", "127.0.0.1")
            left = conn.execute(sa.text("SELECT count(*) FROM login_failure")).scalar_one()
        eng.dispose()
    assert left == 0
    assert workers[0].post("/login", data={"username": "admin", "password": PASSWORD,
                                           "csrf_token": tokens[0]}).status_code == 302
