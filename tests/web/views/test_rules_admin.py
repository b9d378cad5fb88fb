"""``/admin/rules`` (web/views/rules_admin.py): routing rules edited in a table and saved as a
new version, every problem shown with the values kept, activation, file import, and the
re-run of the proposals with a preview that changes nothing."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from gridmap.db import make_engine
from gridmap.dispatch import rules
from tests.fixtures.dispatch_world import POINTS, STREET
from tests.fixtures.org_world import GRID, OrgWorld, build_org_world
from tests.fixtures.web import WebDB, login, post_json

pytest_plugins = ["tests.fixtures.web"]
_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                    r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def world(web_db: WebDB) -> OrgWorld:
    engine = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        w = build_org_world(conn)
    engine.dispose()
    return w


def _post(client: FlaskClient, url: str, data: dict[str, str]) -> tuple[int, str, str]:
    m = _TOKEN.search(client.get("/admin/rules").get_data(as_text=True))
    assert m, "no csrf token in the page"
    resp = client.post(url, data={**data, "csrf_token": m.group(1) or m.group(2)})
    return resp.status_code, resp.headers.get("Location", ""), resp.get_data(as_text=True)


def _sets(web_db: WebDB) -> list[dict[str, object]]:
    engine = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        out = [{**s, "rules": rules.get_rules(conn, int(s["id"]))} for s in rules.list_sets(conn)]
    engine.dispose()
    return out


def test_admin_only_and_in_chinese(app: Flask, world: OrgWorld) -> None:
    assert "/login" in app.test_client().get("/admin/rules").headers["Location"]
    assert login(app.test_client(), "planner").get("/admin/rules").status_code == 403
    html = login(app.test_client(), "admin").get("/admin/rules").get_data(as_text=True)
    assert "派单规则" in html and "保存为新版本" in html and "属地兜底" in html
    assert "和平城管中队" in html  # units offered by name
    index = login(app.test_client(), "admin").get("/admin").get_data(as_text=True)
    assert "/admin/rules" in index


def test_table_saved_as_a_new_version_in_the_given_order(app: Flask, world: OrgWorld,
                                                          web_db: WebDB) -> None:
    client = login(app.test_client(), "admin")
    status, where, _ = _post(client, "/admin/rules", {
        "rows": "3", "note": "春季版",
        "r0-order": "2", "r0-category": "E0101", "r0-area_code": STREET, "r0-unit": "CG",
        "r1-order": "1", "r1-category": "E01", "r1-keywords": "漏水|房屋", "r1-unit": "FG",
        "r2-order": "3", "activate": "1"})                                 # row 3 blank
    assert status == 302 and "/admin/rules?set=" in where
    (saved,) = _sets(web_db)
    assert saved["active"] and saved["note"] == "春季版" and saved["created_by"] == "admin"
    got = [(r["position"], r["category"], r["unit"], r["keywords"]) for r in saved["rules"]]
    assert got == [(1, "E01", "FG", ["漏水", "房屋"]), (2, "E0101", "CG", None)]
    page = client.get(where).get_data(as_text=True)
    assert "已保存为新版本" in page and 'value="漏水|房屋"' in page
    # editing = a new version; deleting a row; the first version stays in the history
    status, where, _ = _post(client, "/admin/rules", {
        "rows": "2", "r0-category": "E01", "r0-unit": "FG", "r0-delete": "1",
        "r1-category": "E0101", "r1-area_code": GRID["E1"], "r1-unit": "CG"})
    assert status == 302
    new, old = _sets(web_db)
    assert not new["active"] and old["active"]            # not activated: the old one stays
    assert [(r["area_level"], r["unit"]) for r in new["rules"]] == [("grid", "CG")]
    assert _post(client, f"/admin/rules/{new['id']}/activate", {})[0] == 302
    assert [s["active"] for s in _sets(web_db)] == [True, False]


def test_bad_rows_list_every_problem_and_keep_the_values(app: Flask, world: OrgWorld,
                                                         web_db: WebDB) -> None:
    client = login(app.test_client(), "admin")
    status, _, html = _post(client, "/admin/rules", {
        "rows": "2", "r0-category": "Z99", "r0-unit": "CG",
        "r1-area_code": "999999999", "r1-unit": "NOPE", "r1-keywords": "<b>漏水</b>"})
    assert status == 400 and _sets(web_db) == []
    problems = html.split('id="adm-problems"')[1].split("</div>")[0]
    assert problems.count("<li>") >= 4                    # category, area, unit… all at once
    assert "Z99" in problems and "NOPE" in problems and "999999999" in problems
    assert 'value="Z99"' in html and "&lt;b&gt;漏水&lt;/b&gt;" in html and "<b>漏水" not in html


def test_rerun_preview_changes_nothing_then_apply(app: Flask, world: OrgWorld,
                                                  web_db: WebDB) -> None:
    client = login(app.test_client(), "admin")
    lon, lat = POINTS["E1"]
    r = post_json(client, "/api/incidents", {"category": "E0101", "lon": lon, "lat": lat})
    assert r.status_code == 201, r.get_json()
    assert _post(client, "/admin/rules", {"rows": "1", "r0-category": "E0101",
                                          "r0-unit": "CG", "activate": "1"})[0] == 302
    status, _, html = _post(client, "/admin/rules/rerun", {})
    assert status == 200 and "预览" in html and "和平城管中队" in html
    engine = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        before = conn.execute(sa.text("SELECT proposed_unit_id FROM incident")).scalar()
    status, _, html = _post(client, "/admin/rules/rerun", {"apply": "1"})
    with engine.begin() as conn:
        after = conn.execute(sa.text("SELECT proposed_unit_id FROM incident")).scalar()
        cg = conn.execute(sa.text("SELECT id FROM org_unit WHERE code = 'CG'")).scalar()
    engine.dispose()
    assert before != cg and after == cg and "已更新 1 件" in html
    assert "没有案件的建议单位需要改变" in _post(client, "/admin/rules/rerun", {})[2]
