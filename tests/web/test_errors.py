"""The one error mapping (web/errors.py): library errors come out of the API with ``code``,
``params``, the text in the session's language (Chinese by default) and, for problems,
``reason_en``; the web layer's own refusals and unexpected errors are catalogue texts too.

Replaces the old regex catalogue's tests (web/messages.py): the same Chinese texts now come
from the message catalogues, for the same errors."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Blueprint, Flask

from gridmap.errors import NotFound, Problem, ValidationError
from tests.fixtures.web import WebDB, login, make_app

pytest_plugins = ["tests.fixtures.web"]

CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("grids.overlap", {"a": "110101001001001", "b": "110101001001002", "area": 12.5},
     "网格 110101001001001 与 110101001001002 重叠 12.5 m²",
     "grids 110101001001001 and 110101001001002 overlap by 12.5 m²"),
    ("grids.households_out_of_range",
     {"grid": "110101001001003", "households": 40, "min": 300, "max": 500},
     "网格 110101001001003：40 户，不在 300–500 户的范围内",
     "grid 110101001001003: 40 households, outside 300–500"),
    ("grids.gap", {"area": 3.2, "lon": 121.4, "lat": 31.2},
     "(121.400000, 31.200000) 附近有 3.2 m² 未被任何网格覆盖（缝隙）",
     "gap of 3.2 m² not covered by any grid near (121.400000, 31.200000)"),
    ("grids.no_responsible_party", {"grid": "110101001001001"},
     "网格 110101001001001：未指定责任主体", "grid 110101001001001: no responsible party (责任主体)"),
]


@pytest.fixture
def probe_app(web_db: WebDB) -> Any:
    app = make_app(web_db.url)
    bp = Blueprint("errors_probe", __name__)

    @bp.get("/api/probe/problems")
    def problems() -> None:
        raise ValidationError("incidents.bad_rows", [Problem(c, p, row=i + 1)
                                                     for i, (c, p, _, _) in enumerate(CASES)],
                              {"n": len(CASES)})

    @bp.get("/api/probe/missing")
    def missing() -> None:
        raise NotFound("scope.unknown_grid", {"grid": 7})

    @bp.get("/api/probe/crash")
    def crash() -> None:
        raise RuntimeError("boom")

    @bp.get("/probe/page")
    def page() -> None:
        raise NotFound("scope.unknown_grid", {"grid": 7})

    app.register_blueprint(bp)
    yield app
    app.extensions["gridmap.engine"].dispose()


def test_problems_in_chinese_with_english_and_codes(probe_app: Flask) -> None:
    r = probe_app.test_client().get("/api/probe/problems")
    assert r.status_code == 400
    body = r.get_json()
    assert body["code"] == "incidents.bad_rows" and body["params"] == {"n": 4}
    assert body["error"].startswith("4 行有误；未导入任何数据：第 1 行：")
    for p, (code, params, zh, en) in zip(body["problems"], CASES, strict=True):
        assert (p["code"], p["reason"], p["reason_en"]) == (code, zh, en)
        assert p["params"] == params
    c = probe_app.test_client()
    with c.session_transaction() as s:
        s["lang"] = "en"
    body = c.get("/api/probe/problems").get_json()
    assert body["error"].startswith("4 bad row(s); nothing imported: row 1: ")
    assert [p["reason"] for p in body["problems"]] == [en for *_, en in CASES]


def test_web_refusals_and_unexpected_errors_are_catalogue_texts(probe_app: Flask) -> None:
    c = probe_app.test_client()
    r = c.get("/api/me")
    assert r.status_code == 401 and r.get_json() == {
        "error": "请先登录", "code": "web.login_required", "params": {}}
    r = c.get("/api/probe/missing")
    assert r.status_code == 404 and r.get_json()["error"] == "网格 7 不存在"
    r = c.get("/api/probe/crash")
    assert r.status_code == 500 and r.get_json()["error"] == "服务器内部错误"
    assert "Traceback" not in r.get_data(as_text=True)
    html = c.get("/probe/page").get_data(as_text=True)
    assert "网格 7 不存在" in html and "返回首页" in html and "Home" not in html
    planner = login(probe_app.test_client(), "planner")
    r = planner.get("/api/incidents?bbox=116.39,39.89,116.45,39.92")
    assert r.status_code == 403 and r.get_json()["error"] == "当前角色无权访问"
    with planner.session_transaction() as s:
        s["lang"] = "en"
    r = planner.get("/api/incidents?bbox=116.39,39.89,116.45,39.92")
    assert r.get_json()["error"] == "your role does not allow this"
    assert "Home" in planner.get("/probe/page").get_data(as_text=True)


def test_request_checks_list_every_field_in_the_session_language(probe_app: Flask) -> None:
    officer = login(probe_app.test_client(), "officer")
    r = officer.get("/api/incidents?bbox=1,2,3&page_size=0&window=1y")
    assert r.status_code == 400
    body = r.get_json()
    assert body["code"] == "web.bad_parameters" and body["error"].startswith("请求参数有误：")
    by_field = {p["field"]: p for p in body["problems"]}
    assert by_field["page_size"]["reason"] == "page_size 必须在 1 与 500 之间"
    assert by_field["page_size"]["reason_en"] == "page_size must be between 1 and 500"
    assert by_field["bbox"]["code"] == "web.bbox_malformed"
    assert by_field["window"]["code"] == "web.must_be_one_of"


# --- error pages in the app's layout (issue #16) -----------------------------------------

def test_error_pages_in_the_layout_in_both_languages(probe_app: Flask) -> None:
    c = login(probe_app.test_client(), "planner")
    r = c.get("/no/such/page?x=1")
    html = r.get_data(as_text=True)
    assert r.status_code == 404 and r.mimetype == "text/html"
    assert 'class="gm-top"' in html and 'data-nav="planner"' in html  # header and navigation
    assert "页面不存在" in html and "Not Found" not in html and "werkzeug" not in html.lower()
    assert 'name="next" value="/no/such/page?x=1"' in html  # the language switch comes back here
    assert 'rel="icon"' in html
    r = c.post("/planner", headers={"X-CSRFToken": c.csrf})  # type: ignore[attr-defined]
    assert r.status_code == 405 and "不支持的操作" in r.get_data(as_text=True)
    with c.session_transaction() as s:
        s["lang"] = "en"
    html = c.get("/no/such/page").get_data(as_text=True)
    assert "Page not found" in html and 'class="gm-top"' in html
    html = c.get("/probe/page").get_data(as_text=True)
    assert "grid 7" in html and 'class="gm-top"' in html


def test_api_errors_stay_json(probe_app: Flask) -> None:
    c = login(probe_app.test_client(), "planner")
    r = c.get("/api/no/such/thing")
    assert r.status_code == 404 and r.is_json and "error" in r.get_json()


def test_favicon_is_served(probe_app: Flask) -> None:
    r = probe_app.test_client().get("/favicon.ico")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"
    assert b"<svg" in r.data
