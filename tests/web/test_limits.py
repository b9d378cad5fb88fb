"""Issue #12 (14, 15): request bodies are capped per endpoint while they stream in: a
declared length over the cap and a chunked body without a length both get 413 (never
400 "not JSON"); a grid move carries at most ``max_move_units`` units."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

from flask.testing import FlaskClient

from tests.fixtures.web import WebDB, csrf_token, login, serve_app

pytest_plugins = ["tests.fixtures.web"]


def test_declared_length_over_the_endpoint_cap_is_413(client: FlaskClient) -> None:
    login(client, "officer")
    big = {"lock_version": 1, "units": [["building", i] for i in range(40_000)]}  # ~500 KB
    resp = client.post("/api/grids/versions/1/moves", json=big,
                       headers={"X-CSRFToken": client.csrf})
    assert resp.status_code == 413, resp.get_data(as_text=True)[:300]
    body = resp.get_json()
    assert body["code"] == "security.body_too_large" and body["params"]["max"] == 256 * 1024
    resp = client.post("/login", data={"username": "x" * 20_000, "password": "y",
                                       "csrf_token": csrf_token(client)})
    assert resp.status_code == 413


def test_too_many_units_in_one_move(client: FlaskClient) -> None:
    login(client, "officer")
    body = {"lock_version": 1, "units": [["building", i] for i in range(1, 5002)]}
    resp = client.post("/api/grids/versions/1/moves", json=body,
                       headers={"X-CSRFToken": client.csrf})
    assert resp.status_code == 413
    assert resp.get_json()["code"] == "security.too_many_units"
    assert "5000" in resp.get_json()["error"]


def test_a_52_mb_chunked_body_is_413_and_not_read_to_the_end(web_db: WebDB) -> None:
    with serve_app(web_db.url) as base:
        u = urlsplit(base)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        conn.putrequest("POST", "/api/incidents")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        chunk = b"[" * (1024 * 1024)
        sent = 0
        try:
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
            for _ in range(51):
                conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            conn.send(b"0\r\n\r\n")
        except OSError:
            pass  # the server stopped reading at the cap and answered
        resp = conn.getresponse()
        payload = json.loads(resp.read())
        conn.close()
    assert resp.status == 413, payload
    assert payload["code"] == "security.body_too_large"
