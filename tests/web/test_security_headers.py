"""Issue #12 (5): every response carries the security headers; pages and API answers with
personal data are never cached; the CSP has no 'unsafe-inline' for scripts and each
response's inline scripts carry that response's nonce."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.fixtures.web import login

pytest_plugins = ["tests.fixtures.web"]

PAGES = ["/login", "/", "/planner", "/supervisor", "/officer", "/api/me",
         "/api/incidents?bbox=116.39,39.89,116.45,39.92", "/api/facility_types",
         "/supervisor/api/grids/999999", "/no-such-page", "/api/no-such-thing",
         "/open311/v2/services.json"]


def _check(resp, *, no_store: bool = True) -> None:
    h = resp.headers
    csp = h["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", csp).group(1)  # type: ignore[union-attr]
    assert "'unsafe-inline'" not in script_src and "'nonce-" in script_src
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert h["X-Frame-Options"] == "DENY"
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "same-origin"
    assert "geolocation=(self)" in h["Permissions-Policy"]
    assert "camera=()" in h["Permissions-Policy"]
    if no_store:
        assert h["Cache-Control"] == "no-store"


def test_every_page_and_api_answer_has_the_headers(client: FlaskClient) -> None:
    for path in ("/login", "/", "/api/me", "/no-such-page"):  # anonymous
        _check(client.get(path))
    login(client, "admin")
    seen = set()
    for path in PAGES:
        resp = client.get(path)
        seen.add(resp.status_code)
        _check(resp)
    assert {200, 302, 404} <= seen
    _check(client.post("/logout", headers={"X-CSRFToken": client.csrf}))


def test_static_files_keep_caching_but_get_the_headers(client: FlaskClient) -> None:
    resp = client.get("/static/js/gridmap.js")
    assert resp.status_code == 200
    _check(resp, no_store=False)
    assert resp.headers.get("Cache-Control") != "no-store"


def test_inline_scripts_carry_this_responses_nonce(client: FlaskClient) -> None:
    login(client, "admin")
    nonces = set()
    for path in ("/login", "/planner", "/supervisor", "/officer"):
        resp = client.get(path)
        html = resp.get_data(as_text=True)
        nonce = re.search(r"'nonce-([^']+)'", resp.headers["Content-Security-Policy"]).group(1)  # type: ignore[union-attr]
        nonces.add(nonce)
        tags = re.findall(r"<script\b[^>]*>", html)
        assert tags, path
        for tag in tags:  # every script is a local file or carries the nonce
            assert 'src="/static/' in tag or f'nonce="{nonce}"' in tag, (path, tag)
    assert len(nonces) == 4  # a fresh nonce per response
