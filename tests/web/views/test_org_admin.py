"""``/admin/org`` (web/views/org_admin.py) with the Flask test client: admin only, CSRF,
Chinese texts, data shown as text, library problems on the page, forms that change things."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from gridmap.db import make_engine
from gridmap.org import units
from tests.fixtures.org_world import (
    GRID,
    STAFF,
    OrgWorld,
    build_geography,
    build_org_world,
    write_org_xlsx,
)
from tests.fixtures.web import XSS_NAME, WebDB, login

pytest_plugins = ["tests.fixtures.web"]
_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                    r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def world(web_db: WebDB) -> OrgWorld:
    engine = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        w = build_org_world(conn)
        units.create_unit(conn, {"code": "XSS", "name": XSS_NAME, "kind": "other",
                                 "parent": "JD"})
    engine.dispose()
    return w


def _form_post(client: FlaskClient, url: str, data: dict[str, str]) -> str:
    html = client.get("/admin/org").get_data(as_text=True)
    m = _TOKEN.search(html)
    assert m, "no csrf token in the page"
    resp = client.post(url, data={**data, "csrf_token": m.group(1) or m.group(2)})
    return f"{resp.status_code} {resp.headers.get('Location', '')} {resp.get_data(as_text=True)}"


def test_admin_only(app: Flask, world: OrgWorld) -> None:
    assert "/login" in app.test_client().get("/admin/org").headers["Location"]
    assert login(app.test_client(), "planner").get("/admin/org").status_code == 403


def test_page_in_chinese_with_data_as_text_and_no_inline_script(app: Flask,
                                                                world: OrgWorld) -> None:
    html = login(app.test_client(), "admin").get("/admin/org").get_data(as_text=True)
    assert "单位与人员" in html and "和平城管中队" in html and "城管中队" in html
    assert XSS_NAME not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "50.0%" in html  # 西社区: one grid of two has a grid worker
    assert GRID["W2"] in html.split('id="org-gaps"')[1]
    main = html.split('<main class="gm-main">')[1].split("</main>")[0]
    assert "<script" not in main and "onclick" not in main


def test_bad_unit_shows_every_problem_and_keeps_the_values(app: Flask, world: OrgWorld) -> None:
    client = login(app.test_client(), "admin")
    out = _form_post(client, "/admin/org/units", {
        "unit-code": "LH", "unit-name": "", "unit-kind": "greening",
        "unit-contact_phone": "call me", "unit-areas": "999"})
    assert out.startswith("400")
    assert "字段 单位名称：必填项不能为空" in out and "字段 电话：" in out
    assert "无法识别的服务区域" in out
    assert 'value="call me"' in out
    assert client.post("/admin/org/units", data={"unit-code": "X"}).status_code == 400  # CSRF


def test_forms_change_units_posts_and_assignments(app: Flask, world: OrgWorld) -> None:
    client = login(app.test_client(), "admin")
    out = _form_post(client, "/admin/org/units", {
        "unit-code": "LH", "unit-name": "和平绿化市容所", "unit-kind": "greening",
        "unit-parent": "JD", "unit-areas": "319902001"})
    assert out.startswith("302")
    assert "单位已保存" in client.get("/admin/org").get_data(as_text=True)
    out = _form_post(client, f"/admin/org/units/{world.units['JD']}/deactivate", {})
    assert out.startswith("400") and "还有在用的下级单位" in out
    out = _form_post(client, "/admin/org/posts", {"post-username": "ow_cg", "post-unit": "FG",
                                                 "post-post": "handler"})
    assert out.startswith("302")
    out = _form_post(client, "/admin/org/assignments", {
        "asg-username": "ow_gw_w", "asg-grid_code": GRID["W2"], "asg-role": "grid_worker",
        "asg-duty": "周末 09:00-17:00", "asg-valid_from": "2026-01-01"})
    assert out.startswith("302"), out[:300]
    html = client.get("/admin/org").get_data(as_text=True)
    assert "周末 09:00-17:00" in html
    assert GRID["W2"] not in html.split('id="org-gaps"')[1]
    out = _form_post(client, "/admin/org/posts/revoke", {
        "user_id": str(world.users["ow_cg"]), "unit_id": str(world.units["FG"]),
        "post": "handler"})
    assert out.startswith("302")


def test_import_form_reports_and_shows_passwords_once(app: Flask, web_db: WebDB,
                                                      tmp_path: Path) -> None:
    engine = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        build_geography(conn)
    engine.dispose()
    client = login(app.test_client(), "admin")
    book = write_org_xlsx(tmp_path / "org.xlsx").read_bytes()

    def upload(**form: str) -> tuple[int, str]:
        html = client.get("/admin/org").get_data(as_text=True)
        m = _TOKEN.search(html)
        assert m
        resp = client.post("/admin/org/import", content_type="multipart/form-data", data={
            "imp-file": (io.BytesIO(book), "org.xlsx"), "csrf_token": m.group(1) or m.group(2),
            **form})
        assert resp.headers.get("Cache-Control") == "no-store" or resp.status_code != 200
        return resp.status_code, resp.get_data(as_text=True)

    status, html = upload(**{"imp-dry_run": "y"})
    assert status == 200 and "试运行结果（未写入）" in html and 'id="org-passwords"' not in html
    assert "和平城管中队" not in html.split('id="org-unit-table"')[1]
    status, html = upload()
    assert status == 200 and "导入完成" in html
    assert html.count("<code>") == len(STAFF) + 1 and "和平城管中队" in html
    assert "<code>" not in client.get("/admin/org").get_data(as_text=True)
