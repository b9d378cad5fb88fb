"""``/admin/rules`` in headless Chromium: an admin edits the routing rules in the table, a bad
unit code is refused with the problem shown in Chinese and the values kept, a good table is
saved as the active version, and the re-run preview says how many proposals would change.

Screenshots: test-output/screenshots/rules_admin*.png
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from gridmap.db import make_engine
from tests.fixtures.org_world import build_org_world
from tests.fixtures.web import WebDB, browser_login, screenshot

pytest_plugins = ["tests.fixtures.web"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_admin_edits_rules_in_the_table(browser_page: Any, live_server: str,
                                        web_db: WebDB) -> None:
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        build_org_world(conn)
    eng.dispose()
    page = browser_page
    browser_login(page, live_server, "admin", next_path="/admin/rules")
    page.fill("input[name='r0-category']", "E0101")
    page.fill("input[name='r0-area_code']", "999999999")          # no such street
    page.select_option("select[name='r0-unit']", "CG")
    page.fill("input[name='r1-category']", "E01")
    page.fill("input[name='r1-keywords']", "漏水|房屋")
    page.select_option("select[name='r1-unit']", "FG")
    page.click("#rules-save")
    page.wait_for_selector("#adm-problems")
    assert "999999999" in page.text_content("#adm-problems")
    assert page.input_value("input[name='r1-keywords']") == "漏水|房屋"   # values kept
    screenshot(page, "rules_admin_problem")
    page.fill("input[name='r0-area_code']", "319902001")
    page.click("#rules-save")
    page.wait_for_selector(".gm-flash")
    assert "已保存为新版本" in page.text_content(".gm-flash")
    assert page.locator("#rules-set-table .adm-badge").count() == 1   # the active version
    page.click("#rules-rerun-preview")
    page.wait_for_selector("#rules-rerun-result")
    screenshot(page, "rules_admin")
    assert page.gm_errors == [], page.gm_errors
