"""Issue #12 (3, 17): ``next`` never redirects off the site (tabs, newlines, backslashes,
``//``, schemes; never a 500), and every JSON API path answers JSON errors, never HTML
pages or login redirects."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gridmap.accounts.scope import Scope
from gridmap.accounts.users import User
from tests.fixtures.web import PASSWORD, csrf_token, login
from web import access
from web.access import safe_next

pytest_plugins = ["tests.fixtures.web"]

HOSTILE = [
    "//evil.example", "/\t/evil.example", "/%09/evil.example", "/\n/evil.example",
    "/\r\nSet-Cookie: x=1", "/\\evil.example", "\\\\evil.example", "/\\/evil.example",
    "https://evil.example", "javascript:alert(1)", "http:/evil.example", "evil.example",
    "/ /evil.example", "/\x00/evil.example", "//", "", None, "/%5cevil.example",
]


@pytest.mark.parametrize("target", HOSTILE)
def test_safe_next_refuses_anything_but_a_local_path(target: str | None) -> None:
    assert safe_next(target) is None


@pytest.mark.parametrize("target", ["/planner", "/supervisor?window=7d", "/a/b#c"])
def test_safe_next_keeps_local_paths(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize("raw", ["%2F%09%2Fevil.example", "%2F%0A%2Fevil.example",
                                 "%2F%0D%0ALocation:%20http://evil.example",
                                 "%2F%5C%2Fevil.example", "%2F%2Fevil.example",
                                 "https:%2F%2Fevil.example"])
def test_login_and_lang_never_redirect_off_site(client: FlaskClient, raw: str) -> None:
    token = csrf_token(client)
    resp = client.post(f"/login?next={raw}", data={
        "username": "planner", "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302
    loc = resp.headers["Location"]
    assert "evil" not in loc and not loc.startswith("//")
    from urllib.parse import unquote
    resp = client.post("/lang", data={"lang": "en", "next": unquote(raw),
                                      "csrf_token": csrf_token(client)})
    assert resp.status_code == 302
    assert "evil" not in resp.headers["Location"]
    assert not resp.headers["Location"].startswith("//")


def test_supervisor_api_answers_json_errors(client: FlaskClient) -> None:
    resp = client.get("/supervisor/api/grids/1")  # anonymous: 401 JSON, no login redirect
    assert resp.status_code == 401 and resp.is_json and "error" in resp.get_json()
    login(client, "planner")
    resp = client.get("/supervisor/api/grids/1")  # wrong role: 403 JSON
    assert resp.status_code == 403 and resp.is_json
    resp = client.get("/supervisor/api/nothing-here")  # unknown: 404 JSON
    assert resp.status_code == 404 and resp.is_json
    resp = client.get("/api/nothing-here")
    assert resp.status_code == 404 and resp.is_json
    page = client.get("/nothing-here")  # pages keep their HTML error page
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_reading_requests_reuse_the_scope_for_a_few_seconds_writes_never(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The area scope is computed per process at most every SCOPE_TTL_S for GET/HEAD; a
    write computes it afresh and empties the cache, so a change applies at once there."""
    calls: list[int] = []

    def counted(conn: object, user: User) -> Scope:
        calls.append(user.id)
        return Scope(community_ids=frozenset({len(calls)}))

    monkeypatch.setattr(access.scopes, "scope_for", counted)
    user = User(id=7, username="s", role="staff")

    def scope(method: str) -> Scope:
        with app.test_request_context("/", method=method):
            return access._scope_of(user)

    first = scope("GET")
    assert scope("GET") == first and len(calls) == 1          # reused
    assert scope("POST") != first and len(calls) == 2         # a write: fresh
    assert scope("GET") != first and len(calls) == 3          # cache emptied by the write
    assert scope("HEAD") and len(calls) == 3                  # HEAD reads too
    monkeypatch.setattr(access, "SCOPE_TTL_S", 0.0)
    scope("POST")                                             # empties the cache
    scope("GET")
    scope("GET")
    assert len(calls) == 6                                    # expired: fresh each time
