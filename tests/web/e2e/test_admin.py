"""``/admin`` end to end in headless Chromium: an admin lands on the admin page, adds an
account (a mistake first: every problem shown in Chinese), disables it and resets its
password; filters the audit log and sees a grid edit's before/after on a small map; reads
an import run's report; uploads a work calendar as a dry run. Each role lands on its home.
No script error, no CSP violation, nothing from a CDN.

Screenshots: test-output/screenshots/admin_*.png
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from gridmap.db import make_engine
from tests.fixtures.web import WebDB, browser_login, screenshot

pytest_plugins = ["tests.fixtures.web"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]
_WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""


def _clean(page: Any) -> None:
    assert page.evaluate("window.__csp") == []
    assert page.gm_errors == [], page.gm_errors
    assert page.gm_blocked == [], page.gm_blocked


def _sql(web_db: WebDB, sql: str, **p: Any) -> Any:
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        result = conn.execute(sa.text(sql), p)
        out = result.scalar() if result.returns_rows else None
    eng.dispose()
    return out


def test_admin_adds_disables_and_resets_an_account(browser_page: Any, live_server: str) -> None:
    page = browser_page
    page.add_init_script(_WATCH_CSP)
    browser_login(page, live_server, "admin")
    assert page.url.rstrip("/").endswith("/admin")
    assert page.locator("#adm-sections a").count() == 7        # … and 派单规则 (#13)
    assert page.locator("a[data-section='rules_admin.page']").count() == 1
    screenshot(page, "admin_home")
    page.click("a[data-section='admin.users']")
    page.fill("#add-username", "wang li")
    page.fill("#add-password", "short")
    page.select_option("#add-role", "supervisor")
    page.fill("#add-scope", "110101001, 12345")
    page.click("#adm-add-form button[type=submit]")
    problems = page.text_content("#adm-problems")
    assert "用户名须为" in problems and "密码至少需要 8 个字符" in problems and "12345" in problems
    assert page.input_value("#add-scope") == "110101001, 12345"  # kept
    page.fill("#add-username", "wangli")
    page.fill("#add-display_name", "王丽")
    page.fill("#add-password", "password-123")
    page.fill("#add-scope", "110101001")
    page.click("#adm-add-form button[type=submit]")
    row = page.locator("tr[data-username=wangli]")
    assert "王丽" in row.text_content() and "监督员" in row.text_content()
    assert "账号已创建" in page.text_content(".gm-flash")
    row.locator("button.adm-disable").click()
    assert "已停用" in page.locator("tr[data-username=wangli] .adm-state").text_content()
    page.locator("tr[data-username=wangli] button.adm-reset").click()
    password = page.text_content("#adm-temp-password code").strip()
    assert len(password) >= 8
    screenshot(page, "admin_users")
    _clean(page)


def _grid_edit(web_db: WebDB) -> None:
    """A grid edit by alice (before: the whole grid, after: its western half)."""
    _sql(web_db, """
        WITH g AS (SELECT gg.version_id, gg.grid_id, gg.geom FROM grid_geometry gg
                   JOIN grid ON grid.id = gg.grid_id WHERE grid.grid_code = '110101001001001')
        INSERT INTO grid_edit_op (version_id, seq, kind, actor, params, before, after)
        SELECT version_id, 1, 'freehand', 'alice', '{}'::jsonb,
          jsonb_build_object('grids', jsonb_build_object(grid_id::text, jsonb_build_object(
            'geom', encode(ST_AsBinary(geom), 'hex'))), 'members', '[]'::jsonb),
          jsonb_build_object('grids', jsonb_build_object(grid_id::text, jsonb_build_object(
            'geom', encode(ST_AsBinary(ST_Multi(ST_MakeEnvelope(116.400, 39.900, 116.405, 39.915,
             4326))), 'hex'))), 'members', '[]'::jsonb)
        FROM g""")
    _sql(web_db, """
        INSERT INTO audit_log (actor, action, object_type, object_id, after)
        SELECT 'alice', 'grid.edit.freehand', 'grid_version', version_id::text, '{"op": 1}'
        FROM grid_edit_op WHERE actor = 'alice'""")
    _sql(web_db, "INSERT INTO audit_log (actor, action, object_type, object_id)"
                 " VALUES ('bob', 'user.add', 'user', 'carol')")


def test_audit_log_filter_and_grid_edit_map(browser_page: Any, live_server: str,
                                            web_db: WebDB) -> None:
    _grid_edit(web_db)
    page = browser_page
    page.add_init_script(_WATCH_CSP)
    browser_login(page, live_server, "admin", next_path="/admin/audit")
    actions = page.locator("#adm-audit-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.action)")
    assert "user.add" in actions and "grid.edit.freehand" in actions
    page.fill("input[name=actor]", "alice")
    page.click("#adm-audit-filter button[type=submit]")
    actions = page.locator("#adm-audit-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.action)")
    assert actions == ["grid.edit.freehand"]
    page.fill("input[name=since]", "2026-13-01")  # a browser date input refuses it: typed URL
    page.goto(f"{live_server}/admin/audit?since=2026-02-30&object_type=planet")
    assert "未知对象类型" in page.text_content("#adm-problems")
    page.go_back()
    page.click("a.adm-show-map")
    page.wait_for_selector("#adm-edit-map[data-ready='1']")
    assert page.locator("#adm-edit-map path.leaflet-interactive").count() == 2
    # over our own basemap (roads, buildings, names), with its OpenStreetMap attribution
    page.wait_for_selector("#adm-edit-map[data-basemap='own'] .leaflet-gmBase-pane canvas")
    assert "OpenStreetMap" in page.text_content("#adm-edit-map .leaflet-control-attribution")
    page.locator("#adm-edit-map-box").scroll_into_view_if_needed()
    screenshot(page, "admin_audit")
    _clean(page)


def test_audit_map_of_a_plan_put_in_force(browser_page: Any, live_server: str,
                                          web_db: WebDB) -> None:
    """Issue #16: activating a redrawn plan is in the audit log with its grids before/after."""
    from datetime import UTC, datetime

    from gridmap import grids

    cid = web_db.ids["community"]["110101001001"]
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        conn.execute(sa.text(
            "UPDATE grid_geometry SET responsible_party = '甲社区居委会' WHERE grid_id IN"
            " (SELECT id FROM grid WHERE community_id = :c)"), {"c": cid})
        draft = grids.create_draft(conn, cid, actor="officer")
        bid = conn.execute(sa.text("SELECT min(id) FROM building WHERE community_id = :c"),
                           {"c": cid}).scalar_one()
        moved = grids.move_units(conn, draft, [("building", bid)], None, actor="officer")
        grids.set_grid_attrs(conn, draft, moved["to_grid_id"], actor="officer",
                             responsible_party="甲社区居委会")
        grids.activate(conn, draft, effective=datetime.now(UTC), actor="officer")
    eng.dispose()
    page = browser_page
    page.add_init_script(_WATCH_CSP)
    browser_login(page, live_server, "admin", next_path="/admin/audit?actor=officer")
    page.locator("tr[data-action='grid.activate'] a.adm-show-plan").click()
    page.wait_for_selector("#adm-edit-map[data-ready='1']")
    assert f"网格方案 {draft} 生效变化" in page.text_content("#adm-edit-map-box h2")
    assert page.locator("#adm-edit-map path.leaflet-interactive").count() >= 3  # 1 before, 2 after
    page.wait_for_selector("#adm-edit-map[data-basemap='own'] .leaflet-gmBase-pane canvas")
    page.locator("#adm-edit-map-box").scroll_into_view_if_needed()
    screenshot(page, "admin_audit_plan")
    _clean(page)


def test_import_run_report_and_catalogue_dry_run(browser_page: Any, live_server: str,
                                                 web_db: WebDB, tmp_path: Path) -> None:
    report = {"rows": 120, "written": {"incident": 118}, "dry_run": False,
              "problems": [{"row": 7, "field": "经度", "value": "abc"},
                           {"row": 9, "field": "时间", "value": "2026-02-30"}]}
    run = _sql(web_db, "INSERT INTO import_run (kind, source_file, actor, report, finished_at)"
                       " VALUES ('incidents', '12345热线.xlsx', 'li', CAST(:r AS jsonb), now())"
                       " RETURNING id", r=json.dumps(report, ensure_ascii=False))
    page = browser_page
    page.add_init_script(_WATCH_CSP)
    browser_login(page, live_server, "admin", next_path="/admin/imports")
    assert "12345热线.xlsx" in page.text_content(f"tr[data-run='{run}']")
    page.click(f"tr[data-run='{run}'] a")
    assert "written › incident" in page.text_content(".adm-report")
    assert "2026-02-30" in page.text_content("body")
    screenshot(page, "admin_import_run")

    page.goto(f"{live_server}/admin/catalogues")
    csv = tmp_path / "假日.csv"
    csv.write_text("day,kind,name,source\n2031-01-01,holiday,元旦,test\n"
                   "2031-10-01,holiday,国庆节,test\n", encoding="utf-8")
    page.select_option("#cat-kind", "work-calendar")
    page.set_input_files("#cat-file", str(csv))
    assert page.is_checked("#cat-dry_run")
    page.click("#adm-upload-form button[type=submit]")
    result = page.text_content("#adm-upload-result")
    assert "试运行" in result and "将新增 2" in result
    assert _sql(web_db, "SELECT count(*) FROM work_calendar WHERE day >= '2031-01-01'") == 0
    screenshot(page, "admin_catalogue_dry_run")
    _clean(page)


@pytest.mark.parametrize(("username", "home"), [
    ("planner", "/planner"), ("supervisor", "/supervisor"), ("officer", "/officer"),
    ("admin", "/admin")])
def test_each_role_lands_on_its_home(browser_page: Any, live_server: str, username: str,
                                     home: str) -> None:
    browser_login(browser_page, live_server, username)
    assert browser_page.url.split("?")[0].split("#")[0].rstrip("/").endswith(home)
    nav = browser_page.locator(".gm-nav a").evaluate_all("a => a.map(x => x.dataset.nav)")
    assert ("admin" in nav) == (username == "admin")


def test_print_base_hides_navigation_and_shows_title_date_attribution(
        browser_page: Any, live_server: str) -> None:
    page = browser_page
    browser_login(page, live_server, "admin", next_path="/admin/users")
    assert page.locator(".gm-print-base").is_hidden()
    page.emulate_media(media="print")
    assert page.locator(".gm-top").is_hidden()
    assert page.locator("#adm-add-form button").first.is_hidden()
    base = page.text_content(".gm-print-base")
    assert page.locator(".gm-print-base").is_visible()
    assert "用户与角色" in base and "打印日期" in base and "OpenStreetMap" in base
    page.pdf(path=str(Path("test-output") / "admin_users_print.pdf"))
