"""``/admin`` (web/views/admin.py, admin_records.py) with the Flask test client: admin only,
Chinese texts, data as text, every problem of a form at once, changes audited, sessions
ended, the audit filter validated, import reports as tables, catalogue dry run, settings
with secrets masked; each role's home after login."""

from __future__ import annotations

import html as htmllib
import io
import json
import re

import openpyxl
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from gridmap.db import make_engine
from tests.fixtures.web import PASSWORD, XSS_NAME, WebDB, login, make_app

pytest_plugins = ["tests.fixtures.web"]
_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                    r'name="csrf_token" value="([^"]+)"')


def _post(client: FlaskClient, url: str, data: dict, page: str = "/admin/users") -> tuple[int, str]:
    m = _TOKEN.search(client.get(page).get_data(as_text=True))
    assert m, "no csrf token in the page"
    resp = client.post(url, data={**data, "csrf_token": m.group(1) or m.group(2)})
    if resp.status_code == 302:
        return 302, client.get(resp.headers["Location"]).get_data(as_text=True)
    return resp.status_code, resp.get_data(as_text=True)


def _text(resp_html: str) -> str:
    return htmllib.unescape(resp_html)


def _sql(web_db: WebDB, sql: str, **p: object) -> list:
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        result = conn.execute(sa.text(sql), p)
        rows = list(result) if result.returns_rows else []
    eng.dispose()
    return rows


def test_admin_only_and_landing_links_everything(app: Flask) -> None:
    for path in ("/admin", "/admin/users", "/admin/audit", "/admin/imports",
                 "/admin/catalogues", "/admin/settings"):
        assert "/login" in app.test_client().get(path).headers["Location"]
        assert login(app.test_client(), "planner").get(path).status_code == 403
    html = login(app.test_client(), "admin").get("/admin").get_data(as_text=True)
    assert "系统管理" in html
    for href in ("/admin/users", "/admin/org", "/admin/audit", "/admin/imports",
                 "/admin/catalogues", "/admin/settings"):
        assert f'href="{href}"' in html
    assert 'data-nav="admin"' in html


def test_add_with_every_problem_then_add_disable_reset(app: Flask, web_db: WebDB) -> None:
    client = login(app.test_client(), "admin")
    status, html = _post(client, "/admin/users/add", {
        "add-username": "a b", "add-password": "short", "add-role": "supervisor",
        "add-scope": "999, 110101009", "add-display_name": XSS_NAME})
    assert status == 400
    for text in ("用户名须为", "密码至少需要 8 个字符", "管辖范围代码 '999' 无效",
                 "未知街道代码 '110101009'"):
        assert text in _text(html)
    assert XSS_NAME not in html and 'value="&lt;script&gt;' in html  # kept, as text
    status, html = _post(client, "/admin/users/add", {
        "add-username": "wang", "add-password": "password-123", "add-role": "supervisor",
        "add-scope": "110101001", "add-display_name": "王丽"})
    assert status == 302 and "账号已创建" in html and 'data-username="wang"' in html

    worker = login(app.test_client(), "wang", "password-123")
    assert worker.get("/api/me").status_code == 200
    status, html = _post(client, "/admin/users/wang/disable", {})
    assert status == 302 and "账号已停用" in html
    assert worker.get("/api/me").status_code == 401  # the session ended
    status, html = _post(client, "/admin/users/wang/enable", {})
    status, html = _post(client, "/admin/users/wang/password", {})
    assert status == 200
    made = re.search(r"<code>([^<]+)</code>", html)
    assert made and login(app.test_client(), "wang", made.group(1))
    status, html = _post(client, "/admin/users/wang/change", {
        "chg-role": "staff", "chg-scope": "", "chg-display_name": "王丽"})
    assert status == 302 and "账号已修改" in html
    actions = [r[0] for r in _sql(web_db, "SELECT action FROM audit_log WHERE object_id = 'wang'"
                                  " AND actor = 'admin' ORDER BY id")]
    assert actions == ["user.add", "user.disable", "user.enable", "user.password_reset",
                       "user.change"]
    status, html = _post(client, "/admin/users/admin/disable", {})
    assert status == 400 and "不能停用或降级自己的管理员账号" in html


def test_audit_filter_problems_and_results(app: Flask, web_db: WebDB) -> None:
    client = login(app.test_client(), "admin")
    _post(client, "/admin/users/planner/disable", {})
    r = client.get("/admin/audit?actor=admin&object_type=user")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'data-action="user.disable"' in html
    assert "<span>active</span>: True → False" in html  # what changed
    assert html.count('data-action="session.login"') == 1  # the admin's own login only
    assert "<td>planner</td>" not in html  # rows by other users are filtered out
    r = client.get("/admin/audit?object_type=planet&since=2026-13-01&until=x")
    html = _text(r.get_data(as_text=True))
    assert r.status_code == 400
    assert "未知对象类型" in html and "'2026-13-01'" in html and "'x'" in html
    assert client.get("/admin/audit?edit=999999").status_code == 404


def test_audit_export_holds_every_filtered_entry(app: Flask, web_db: WebDB) -> None:
    client = login(app.test_client(), "admin")
    for name in ("planner", "officer"):
        _post(client, f"/admin/users/{name}/disable", {})
    _sql(web_db, "INSERT INTO audit_log (actor, action, object_type, object_id, before, after)"
         " SELECT 'admin', 'user.note', 'user', 'u' || g, NULL, CAST(:a AS jsonb)"
         " FROM generate_series(1, 120) g", a=json.dumps({"note": "=HYPERLINK(1)"}))
    html = client.get("/admin/audit?actor=admin&object_type=user").get_data(as_text=True)
    # 2 disables + 120 notes + the admin's login; 50 a page on screen
    assert 'id="adm-audit-export"' in html and "共 123 条" in html
    r = client.get("/admin/audit.xlsx?actor=admin&object_type=user")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    ws = openpyxl.load_workbook(io.BytesIO(r.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("时间", "操作人", "操作") and len(rows) == 1 + 123  # all, not a page
    assert {row[2] for row in rows[1:]} == {"user.disable", "user.note", "session.login"}
    notes = [row[6] for row in rows[1:] if row[2] == "user.note"]
    assert notes[0] == "note: – → =HYPERLINK(1)"                       # text, not a formula
    assert client.get("/admin/audit.xlsx?since=x").status_code == 400
    assert login(app.test_client(), "supervisor").get("/admin/audit.xlsx").status_code == 403


def test_import_runs_and_report_table(app: Flask, web_db: WebDB) -> None:
    report = {"rows": 2, "problems": [{"row": 2, "field": "lon", "value": XSS_NAME}]}
    run = _sql(web_db, "INSERT INTO import_run (kind, source_file, actor, report, finished_at)"
               " VALUES ('incidents', '案件.xlsx', 'li', CAST(:r AS jsonb), now()) RETURNING id",
               r=json.dumps(report))[0][0]
    client = login(app.test_client(), "admin")
    html = client.get("/admin/imports").get_data(as_text=True)
    assert f'data-run="{run}"' in html and "案件.xlsx" in html
    html = client.get(f"/admin/imports/{run}").get_data(as_text=True)
    assert "<caption>problems</caption>" in html and "<td>lon</td>" in html
    assert XSS_NAME not in html and "&lt;script&gt;" in html
    assert client.get("/admin/imports/999999").status_code == 404


def test_catalogue_view_and_upload_dry_run(app: Flask, web_db: WebDB) -> None:
    client = login(app.test_client(), "admin")
    html = client.get("/admin/catalogues").get_data(as_text=True)
    assert 'data-code="kindergarten"' in html and "工作日历" in html
    m = _TOKEN.search(html)
    assert m
    days = "day,kind,name,source\n2031-01-01,holiday,元旦,test\n2031-02-30,holiday,坏日子,test\n"
    r = client.post("/admin/catalogues", content_type="multipart/form-data", data={
        "csrf_token": m.group(1) or m.group(2), "cat-kind": "work-calendar", "cat-dry_run": "y",
        "cat-file": (io.BytesIO(days.encode()), "cal.csv")})
    assert r.status_code == 400 and "2031-02-30" in r.get_data(as_text=True)
    good = "day,kind,name,source\n2031-01-01,holiday,元旦,test\n"
    r = client.post("/admin/catalogues", content_type="multipart/form-data", data={
        "csrf_token": m.group(1) or m.group(2), "cat-kind": "work-calendar", "cat-dry_run": "y",
        "cat-file": (io.BytesIO(good.encode()), "cal.csv")})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "试运行" in html and "将新增 1" in html
    assert _sql(web_db, "SELECT count(*) FROM work_calendar WHERE day = '2031-01-01'")[0][0] == 0
    r = client.post("/admin/catalogues", data={"csrf_token": m.group(1) or m.group(2),
                                              "cat-kind": "work-calendar"})
    assert r.status_code == 400 and "请选择文件" in r.get_data(as_text=True)


def test_settings_mask_secrets(web_db: WebDB) -> None:
    app = make_app(web_db.url, tianditu_key="tk-very-secret")
    try:
        html = login(app.test_client(), "admin").get("/admin/settings").get_data(as_text=True)
    finally:
        app.extensions["gridmap.engine"].dispose()
    assert 'data-setting="tianditu_key"' in html and "tk-very-secret" not in html
    assert "test-secret" not in html and "GRIDMAP_SESSION_IDLE_MINUTES" in html
    pw = re.search(r"://[^:/@]*:([^@]+)@", web_db.url)
    if pw:
        assert pw.group(1) not in html


@pytest.mark.parametrize(("username", "home"), [
    ("planner", "/planner"), ("supervisor", "/supervisor"), ("officer", "/officer"),
    ("admin", "/admin")])
def test_each_role_lands_on_its_home(app: Flask, username: str, home: str) -> None:
    client = login(app.test_client(), username)
    assert client.get("/").headers["Location"].endswith(home)


def test_staff_home(app: Flask, web_db: WebDB) -> None:
    _sql(web_db, "INSERT INTO app_user (username, password_hash, role) SELECT 'zhang',"
         " password_hash, 'staff' FROM app_user WHERE username = 'planner'")
    client = login(app.test_client(), "zhang", PASSWORD)
    r = client.get("/")
    if r.status_code == 302:  # the case workspace's worklist is installed
        assert r.headers["Location"].endswith("/cases/todo")
    else:
        html = r.get_data(as_text=True)
        assert "我的岗位" in html and "尚未分配岗位" in html and "没有未读通知" in html
