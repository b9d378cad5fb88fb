"""Officer page end to end in headless Chromium (Debian's chromium via Playwright): an
officer opens 甲社区, creates a draft, moves a building into a new grid by clicking it on
the map (saved at once through the API), validates and previews the impact.

Screenshots: test-output/screenshots/officer_*.png
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from gridmap.db import make_engine
from tests.fixtures.web import WebDB, browser_login, screenshot

pytest_plugins = ["tests.fixtures.web"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]

JIA = "110101001001"


def test_officer_moves_a_building_and_saves(browser_page: Any, live_server: str,
                                            web_db: WebDB) -> None:
    page = browser_page
    cid = web_db.ids["community"][JIA]
    browser_login(page, live_server, "officer", next_path="/officer")
    assert page.url.endswith("/officer")
    page.select_option("#off-community", str(cid))
    page.wait_for_selector("#off-versions li")
    page.click("#off-new-draft")
    page.wait_for_selector("#off-edit:not([disabled])")
    page.wait_for_selector("path.off-unit-building")
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.connect() as conn:
        vid, bid = conn.execute(sa.text(
            "SELECT v.id, (SELECT min(id) FROM building WHERE community_id = :c)"
            " FROM grid_version v WHERE v.community_id = :c AND v.status = 'draft'"),
            {"c": cid}).one()
    page.select_option("#off-target", "new")
    page.click(f"path.off-unit-building-{bid}")
    page.wait_for_function("() => document.getElementById('off-status').textContent.length > 0")
    page.wait_for_selector("#off-grids tbody tr:nth-child(2)")
    with eng.connect() as conn:
        grid = conn.execute(sa.text(
            "SELECT m.grid_id, g.provisional FROM grid_member m JOIN grid g ON g.id = m.grid_id"
            " WHERE m.version_id = :v AND m.unit_type = 'building' AND m.unit_id = :b"),
            {"v": vid, "b": bid}).one()
        n_grids = conn.execute(sa.text(
            "SELECT count(*) FROM grid_geometry WHERE version_id = :v"), {"v": vid}).scalar()
    eng.dispose()
    assert grid[1] is True  # moved into the new (provisional) grid, saved in the draft
    assert n_grids == 2
    page.click("#off-validate")
    page.wait_for_selector("#off-problems li")
    page.click("#off-impact")
    page.wait_for_selector("#off-impact-table")
    assert "1" in page.text_content("#off-impact-box")
    screenshot(page, "officer_move_building")
    assert page.gm_errors == [], page.gm_errors


def test_planner_cannot_open_the_officer_page(browser_page: Any, live_server: str) -> None:
    browser_login(browser_page, live_server, "planner", next_path="/officer")
    assert "403" in browser_page.content() or not browser_page.url.endswith("/officer")
