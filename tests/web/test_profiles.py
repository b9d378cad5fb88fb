"""Profile pages and API, /api/access/fca: roles, area scope, XLSX, escaping, OpenAPI."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from openpyxl import load_workbook

from gridmap.db import make_engine
from tests.fixtures.web import XSS_NAME, login, make_app

pytest_plugins = ["tests.fixtures.web"]

BBOX = "116.399,39.899,116.441,39.916"
JIA, STREET_1, BING = "110101001001", "110101001", "110101002001"


@pytest.fixture(scope="module")
def prof_app(coverage_web_db: Any) -> Iterator[Flask]:
    eng = make_engine(coverage_web_db.url, poolclass=sa.pool.NullPool)
    with eng.begin() as c:
        c.execute(sa.text("UPDATE facility SET capacity = 20 WHERE name = '甲幼儿园'"))
    eng.dispose()
    application = make_app(coverage_web_db.url)
    yield application
    application.extensions["gridmap.engine"].dispose()


def test_profile_api_and_page(prof_app: Flask) -> None:
    planner = login(prof_app.test_client(), "planner")
    body = planner.get(f"/api/profiles/{JIA}").get_json()
    prof, check = body["profile"], body["checkup"]
    # 4 buildings × 100 residents, 40 households each (tests/fixtures/web.py)
    assert (prof["people"]["residents"], prof["people"]["households"]) == (400, 160)
    assert prof["land"]["grids"][0]["grid_code"] == JIA + "001"
    kg = next(t for t in check["types"] if t["code"] == "kindergarten")
    assert kg["facilities"] == 1 and kg["capacity"] == 20
    cap = {c["type"]: c for c in prof["services"]["capacity"]}
    assert cap["kindergarten"]["population"] == 12.0  # 400 × 3 % (no imported age groups)
    html = planner.get(f"/profiles/{JIA}").get_data(as_text=True)
    assert "甲社区 · 社区画像" in html and "生活圈体检报告" not in html.split("<body")[0]
    assert "id=\"profile-xlsx\"" in html and "未评" in html
    street = planner.get(f"/profiles/{STREET_1}").get_data(as_text=True)
    assert "测试街道 · 街道画像" in street and f'href="/profiles/{JIA}"' in street
    xss = planner.get(f"/profiles/{BING}").get_data(as_text=True)
    assert XSS_NAME not in xss


def test_profile_xlsx_in_english(prof_app: Flask) -> None:
    planner = login(prof_app.test_client(), "planner")
    planner.post("/lang", data={"lang": "en", "csrf_token": planner.csrf})  # type: ignore[attr-defined]
    r = planner.get(f"/api/profiles/{JIA}/xlsx")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames[:2] == ["Summary", "Coverage"]


def test_scope_roles_and_unknown_codes(prof_app: Flask) -> None:
    sup = login(prof_app.test_client(), "supervisor")  # street 110101001 only
    assert sup.get(f"/api/profiles/{JIA}?checkup=false").status_code == 200
    denied = sup.get(f"/api/profiles/{BING}")
    assert denied.status_code == 403 and denied.get_json()["code"] == "profiles.outside_scope"
    missing = login(prof_app.test_client(), "planner").get("/api/profiles/999")
    assert missing.status_code == 404 and missing.get_json()["code"] == "profiles.unknown_area"
    assert prof_app.test_client().get(f"/api/profiles/{JIA}").status_code == 401


def test_fca_layer(prof_app: Flask) -> None:
    planner = login(prof_app.test_client(), "planner")
    fc = planner.get(f"/api/access/fca?type=kindergarten&level=community&bbox={BBOX}")
    assert fc.status_code == 200
    data = fc.get_json()
    assert data["summary"]["capacity"] == 20 and data["target_per_1000"] == 900
    jia = next(f for f in data["features"] if f["properties"]["code"] == JIA)
    assert jia["properties"]["population"] == 12.0 and jia["properties"]["per_1000"] > 0
    bad = planner.get(f"/api/access/fca?type=bus_stop&decay=linear&bbox={BBOX}")
    assert bad.status_code == 400 and {p["field"] for p in bad.get_json()["problems"]} == \
        {"type", "decay"}
    officer = login(prof_app.test_client(), "officer")
    assert officer.get(f"/api/access/fca?bbox={BBOX}").status_code == 403


def test_openapi_describes_the_routes(prof_app: Flask) -> None:
    spec = prof_app.test_client().get("/api/openapi.json").get_json()
    assert "/api/profiles/{code}" in spec["paths"] and "/api/access/fca" in spec["paths"]
    params = spec["paths"]["/api/access/fca"]["get"]["parameters"]
    assert params
