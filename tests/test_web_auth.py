"""Login, roles, CSRF, language switch (Flask test client against a real database)."""

from __future__ import annotations

import pytest
from flask import Blueprint, Flask

from tests.e2e_support import PASSWORD, WebDB, csrf_token, login, make_app
from web.auth import roles_required

pytest_plugins = ["tests.e2e_support"]


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

    from gridmap import users
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
    from web.auth import scope_community_ids

    c = application.test_client()
    login(c, "supervisor")
    with c:
        c.get("/api/me")
        scope = scope_community_ids()
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
