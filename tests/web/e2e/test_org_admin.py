"""``/admin/org`` end to end in headless Chromium: an admin sees the unit tree of the
hand-made street, adds a unit with a mistake (the problem is shown in Chinese, nothing
saved), corrects it, and fills the uncovered grid; no script error, no CSP violation,
nothing from a CDN.

Screenshots: test-output/screenshots/org_admin_*.png
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from gridmap.db import make_engine
from tests.fixtures.org_world import GRID, STAFF, build_geography, build_org_world, write_org_xlsx
from tests.fixtures.web import WebDB, browser_login, screenshot

pytest_plugins = ["tests.fixtures.web"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]
_WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""


def test_admin_adds_a_unit_and_covers_the_last_grid(browser_page: Any, live_server: str,
                                                    web_db: WebDB) -> None:
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        build_org_world(conn)
    page = browser_page
    page.add_init_script(_WATCH_CSP)
    browser_login(page, live_server, "admin", next_path="/admin/org")
    assert page.url.endswith("/admin/org")
    assert "和平街道综治中心" in page.text_content("#org-unit-table")
    assert GRID["W2"] in page.text_content("#org-gaps")
    page.fill("#unit-code", "LH")
    page.fill("#unit-name", "和平绿化市容所")
    page.select_option("#unit-kind", "greening")
    page.select_option("#unit-parent", "JD")
    page.fill("#unit-areas", "319902999")
    page.click("#org-unit-form button[type=submit]")
    page.wait_for_selector("#org-problems")
    assert "319902999" in page.text_content("#org-problems")
    assert page.input_value("#unit-name") == "和平绿化市容所"
    screenshot(page, "org_admin_problem")
    page.fill("#unit-areas", "319902001")
    page.click("#org-unit-form button[type=submit]")
    page.wait_for_selector("tr[data-code=LH]")
    assert "单位已保存" in page.text_content(".gm-flash")
    page.fill("#asg-username", "ow_gw_w")
    page.fill("#asg-grid_code", GRID["W2"])
    page.fill("#asg-duty", "周末 09:00-17:00")
    page.click("#org-assignment-form button[type=submit]")
    page.wait_for_selector(".gm-flash")
    assert "周末 09:00-17:00" in page.text_content("#org-assignment-table")
    assert page.query_selector("#org-gaps") is None or GRID["W2"] not in page.text_content(
        "#org-gaps")
    page.locator("#org-units").scroll_into_view_if_needed()
    screenshot(page, "org_admin_page")
    with eng.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM org_unit WHERE code = 'LH'")).scalar()
    eng.dispose()
    assert n == 1
    assert page.evaluate("window.__csp") == []
    assert page.gm_errors == [], page.gm_errors
    assert page.gm_blocked == [], page.gm_blocked


def test_admin_imports_the_workbook(browser_page: Any, live_server: str, web_db: WebDB,
                                    tmp_path: Path) -> None:
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        build_geography(conn)
    eng.dispose()
    page = browser_page
    page.add_init_script(_WATCH_CSP)
    browser_login(page, live_server, "admin", next_path="/admin/org")
    page.set_input_files("#imp-file", str(write_org_xlsx(tmp_path / "org.xlsx")))
    page.check("#imp-dry_run")
    page.click("#org-import-form button[type=submit]")
    page.wait_for_selector("#org-report")
    assert "试运行" in page.text_content("#org-report")
    assert page.query_selector("tr[data-code=CG]") is None
    page.set_input_files("#imp-file", str(tmp_path / "org.xlsx"))
    page.click("#org-import-form button[type=submit]")
    page.wait_for_selector("#org-passwords")
    assert page.locator("#org-passwords tbody tr").count() == len(STAFF) + 1
    assert page.query_selector("tr[data-code=CG]") is not None
    screenshot(page, "org_admin_import")
    assert page.evaluate("window.__csp") == []
    assert page.gm_errors == [], page.gm_errors
