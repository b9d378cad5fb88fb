"""Supervisor page (web/views/supervisor.py) and its grid-details endpoint
(web/api/aggregates.py), via the test client."""

from __future__ import annotations

import re

from flask import Flask

from tests.fixtures.web import WEST, WebDB, create, login

pytest_plugins = ["tests.fixtures.web"]


def test_page_renders_in_chinese_with_local_assets_only(app: Flask) -> None:
    sup = login(app.test_client(), "supervisor")
    r = sup.get("/supervisor")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "事件监督" in html and "结案率" in html and "超期案件" in html
    assert "最近24小时" in html and "时间回放" in html
    assert 'id="sup-window"' in html and "supervisor/supervisor.js" in html
    assert "leaflet-heat.js" in html
    external = [u for u in re.findall(r'(?:src|href)="(https?://[^"]+)"', html)]
    assert external == []
    assert len(html) < 200_000  # a skeleton: data comes from /api


def test_planner_and_anonymous_cannot_reach_supervisor(app: Flask, web_db: WebDB) -> None:
    anon = app.test_client()
    r = anon.get("/supervisor")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    planner = login(app.test_client(), "planner")
    assert planner.get("/supervisor").status_code == 403
    gid = web_db.ids["grid"]["110101001001"]
    r = planner.get(f"/supervisor/api/grids/{gid}")
    assert r.status_code == 403


def test_grid_details_numbers_and_open_cases(app: Flask, web_db: WebDB) -> None:
    officer = login(app.test_client(), "officer")
    create(officer, WEST, description="<b>井盖</b>")
    sup = login(app.test_client(), "supervisor")
    gid = web_db.ids["grid"]["110101001001"]
    body = sup.get(f"/supervisor/api/grids/{gid}?window=30d").get_json()
    assert body["grid"]["grid_code"] == "110101001001001"
    assert body["open_total"] == 1
    case = body["open_cases"][0]
    assert case["description"] == "<b>井盖</b>"  # JSON carries raw text; the page escapes
    assert case["reporter_phone"] == "13812345678"  # own area: unmasked
    assert case["state_label"] == "信息收集"
    for key in ("filed", "closed", "due", "closure_rate", "ontime_rate", "overdue_open",
                "score", "grade"):
        assert key in body["indicators"]
    other = web_db.ids["grid"]["110101002001"]
    assert sup.get(f"/supervisor/api/grids/{other}").status_code == 403
    assert sup.get("/supervisor/api/grids/999999").status_code == 404
    assert sup.get(f"/supervisor/api/grids/{gid}?window=forever").status_code == 400


def test_page_switches_to_english(app: Flask) -> None:
    sup = login(app.test_client(), "supervisor")
    with sup.session_transaction() as s:
        s["lang"] = "en"
    html = sup.get("/supervisor").get_data(as_text=True)
    assert "Incident supervision" in html and "Closure rate" in html and "Last 7 days" in html
    assert "Grid patrol" in html and "事件监督" not in html
