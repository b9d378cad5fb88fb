"""The phone page /field: who may open it, categories rendered with the common ones first,
every script inline with the nonce (no inline handler), English on request, the service
worker served for the /field scope."""

from __future__ import annotations

import re

from flask import Flask

from tests.fixtures.field_world import field_app, report, staff_client

pytest_plugins = ["tests.fixtures.web"]
__all__ = ["field_app"]


def test_the_page_for_grid_workers(field_app: Flask) -> None:
    gw = staff_client(field_app, "ow_gw_e")
    report(gw)  # E0102 becomes a common category of the area
    resp = gw.get("/field")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    common = re.search(r'<optgroup label="常用">(.*?)</optgroup>', html, re.S)
    assert common and 'value="E0102"' in common.group(1)
    nonce = re.search(r"script-src 'self' 'nonce-([^']+)'",
                      resp.headers["Content-Security-Policy"]).group(1)  # type: ignore[union-attr]
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all(f'nonce="{nonce}"' in s for s in scripts)
    assert not re.search(r"\son[a-z]+=", html)
    assert "现场上报" in html and "我的任务" in html
    gw.post("/lang", data={"lang": "en", "csrf_token": gw.csrf})  # type: ignore[attr-defined]
    assert "My tasks" in gw.get("/field").get_data(as_text=True)
    sw = gw.get("/field/sw.js")
    assert sw.status_code == 200 and sw.headers["Service-Worker-Allowed"] == "/field"
    assert sw.mimetype == "text/javascript"


def test_who_may_open_it(field_app: Flask) -> None:
    assert field_app.test_client().get("/field").status_code == 302
    assert staff_client(field_app, "fw_planner").get("/field").status_code == 403
    assert staff_client(field_app, "ow_acceptor").get("/field").status_code == 200
