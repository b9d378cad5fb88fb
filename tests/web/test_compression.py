"""Response compression (web/compression.py, issue #14): what a phone on a slow link gets."""

from __future__ import annotations

import gzip
from typing import Any

import brotli
from flask import Flask

from tests.fixtures.web import login

pytest_plugins = ["tests.fixtures.web"]
LEAFLET = "/static/vendor/leaflet/leaflet.js"


def test_static_script_comes_compressed_and_revalidates(shared_app: Flask) -> None:
    client = shared_app.test_client()
    plain = client.get(LEAFLET).get_data()
    resp = client.get(LEAFLET, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert resp.status_code == 200 and resp.headers["Content-Encoding"] == "br"
    assert "Accept-Encoding" in resp.headers["Vary"]
    body = resp.get_data()
    assert len(body) < len(plain) / 3 and brotli.decompress(body) == plain
    assert int(resp.headers["Content-Length"]) == len(body)
    again = client.get(LEAFLET, headers={"Accept-Encoding": "gzip, br",
                                         "If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    gz = client.get(LEAFLET, headers={"Accept-Encoding": "gzip"})
    assert gz.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(gz.get_data()) == plain
    assert gz.headers["ETag"] != resp.headers["ETag"]   # a cache keeps each encoding apart


def test_no_accepted_encoding_gets_the_plain_file(shared_app: Flask) -> None:
    resp = shared_app.test_client().get(LEAFLET, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in resp.headers and b"Leaflet" in resp.get_data()


def test_json_answers_compressed_pages_not(shared_app: Flask) -> None:
    client = login(shared_app.test_client(), "planner")
    page = client.get("/login", headers={"Accept-Encoding": "gzip"})
    # a page carries the CSRF token: never compressed (no BREACH size oracle)
    assert "Content-Encoding" not in page.headers and "csrf-token" in page.get_data(as_text=True)
    assert "no-store" in page.headers["Cache-Control"]   # personal pages are still not kept
    tiny: Any = client.get("/api/openapi.json", headers={"Accept-Encoding": "br"})
    assert tiny.status_code == 200 and tiny.headers.get("Content-Encoding") == "br"
