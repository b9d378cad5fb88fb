"""API tests for web/api/cases.py: the list (search, filters, paging, masking, phone search
refused), points, XLSX export, one case with its buttons, a step with 409 on a stale version
and 400 on a missing reason, comments, 我的待办, 三张清单 with the service list."""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from tests.fixtures.case_web import CaseWorld, build_case_world
from tests.fixtures.org_world import PASSWORD
from tests.fixtures.web import login, make_app, post_json

pytest_plugins = ["tests.fixtures.web"]


@pytest.fixture
def world(fresh_db_url: str) -> Iterator[tuple[Flask, CaseWorld]]:
    w = build_case_world(fresh_db_url)
    application = make_app(fresh_db_url)
    yield application, w
    application.extensions["gridmap.engine"].dispose()


def _as(app: Flask, username: str) -> FlaskClient:
    return login(app.test_client(), username, PASSWORD)


def test_list_search_filters_masking_and_export(world: tuple[Flask, CaseWorld]) -> None:
    app, w = world
    sup = _as(app, "sup_all")
    r = sup.get("/api/cases?q=和平路&sort=case_no&desc=false")
    assert r.status_code == 200, r.get_json()
    assert {x["id"] for x in r.get_json()["items"]} == {w.cases["leak"], w.cases["wall"]}
    assert sup.get("/api/cases?phone=139").get_json()["items"][0]["reporter_phone"] == \
        "13900001111"
    body = sup.get(f"/api/cases?status=dispatched&unit_id={w.units['CG']}").get_json()
    assert [x["id"] for x in body["items"]] == [w.cases["wall"]]
    assert body["items"][0]["state_label"] == "派遣"
    r = sup.get("/api/cases?sort=nope&level=moon&page_size=0")
    assert r.status_code == 400
    assert {p["field"] for p in r.get_json()["problems"]} == {"sort", "level", "page_size"}
    officer = _as(app, "admin")
    r = officer.get("/api/cases?phone=139")
    assert r.status_code == 403 and "电话" in r.get_json()["error"]
    leak = next(x for x in officer.get("/api/cases").get_json()["items"]
                if x["id"] == w.cases["leak"])
    assert leak["reporter_phone"] == "139****1111"
    pts = sup.get("/api/cases/points?q=和平路").get_json()
    assert {p[0] for p in pts["points"]} == {w.cases["leak"], w.cases["wall"]}
    r = sup.get("/api/cases/export?q=漏水")
    ws = load_workbook(BytesIO(r.data)).active
    assert ws["A1"].value == "案卷号" and ws.max_row == 2
    assert _as(app, "ow_cg").get("/api/cases").get_json()["total"] == 3  # street unit


def test_case_page_steps_comments_and_worklist(world: tuple[Flask, CaseWorld]) -> None:
    app, w = world
    cg = _as(app, "ow_cg")
    wall = w.cases["wall"]
    assert cg.get("/api/cases/worklist").get_json()["counts"] == {"accept": 1, "handle": 0}
    assert [x["id"] for x in cg.get("/api/cases/worklist/accept").get_json()["items"]] == [wall]
    assert cg.get("/api/cases/worklist/nope").status_code == 400
    v = cg.get(f"/api/cases/{wall}").get_json()
    assert [a["to"] for a in v["actions"]] == ["handling", "returned"]
    version = v["case"]["lock_version"]
    r = post_json(cg, f"/api/cases/{wall}/act", {"to": "returned", "version": version})
    assert r.status_code == 400 and r.get_json()["problems"][0]["field"] == "note"
    r = post_json(cg, f"/api/cases/{wall}/act", {"to": "handling", "version": version})
    assert r.status_code == 200 and r.get_json()["case"]["state"] == "handling"
    r = post_json(cg, f"/api/cases/{wall}/act", {"to": "handled", "version": version})
    assert r.status_code == 409
    r = post_json(cg, f"/api/cases/{wall}/act", {"to": "evaluated"})
    assert r.status_code in (403, 409)
    r = post_json(cg, f"/api/cases/{wall}/comments", {"body": "已到现场"})
    assert r.status_code == 201
    assert [c["body"] for c in cg.get(f"/api/cases/{wall}").get_json()["comments"]] == ["已到现场"]
    assert _as(app, "ow_jwe").get(f"/api/cases/{wall}").status_code == 403
    assert post_json(cg, f"/api/cases/{wall}/comments", {"body": ""}).status_code == 400


def test_three_lists_and_services(world: tuple[Flask, CaseWorld]) -> None:
    app, w = world
    east = w.communities["E"]
    sup = _as(app, "sup_all")
    body = sup.get(f"/api/cases/lists/{east}").get_json()
    assert [x["id"] for x in body["problems"]["open"]] == [w.cases["leak"]]
    assert body["may_edit"] is True and body["community"]["name"] == "东社区"
    r = post_json(sup, f"/api/cases/lists/{east}/services", {"name": "助老食堂", "kind": "养老"})
    assert r.status_code == 201
    sid = r.get_json()["id"]
    r = sup.put(f"/api/cases/lists/{east}/services/{sid}", json={"name": ""},
                headers={"X-CSRFToken": sup.csrf})  # type: ignore[attr-defined]
    assert r.status_code == 400
    assert sup.get(f"/api/cases/lists/{east}").get_json()["services"]["own"][0]["name"] == \
        "助老食堂"
    r = sup.get(f"/api/cases/lists/{east}/export")
    assert load_workbook(BytesIO(r.data)).sheetnames[0] == "问题清单"
    cg = _as(app, "ow_cg")
    assert post_json(cg, f"/api/cases/lists/{east}/services", {"name": "x"}).status_code == 403
    assert sup.get("/api/cases/lists/999999").status_code == 404

