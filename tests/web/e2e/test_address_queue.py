"""The 地址待确认 queue on the supervisor page in headless Chromium: queued cases listed with
their candidates as numbered markers, a candidate picked, a case placed by hand, hostile
addresses shown as text.

Screenshots: test-output/screenshots/supervisor_address_queue*.png
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from gridmap.db import make_engine
from tests.fixtures.address_web import QUEUED, seed_register_and_queue
from tests.fixtures.web import XSS_NAME, WebDB, browser_login, screenshot

pytest_plugins = ["tests.fixtures.web"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _incidents(web_db: WebDB) -> list[tuple[Any, ...]]:
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT address, geocode_status, round(ST_X(geom)::numeric, 4) FROM incident "
            "ORDER BY id")).all()
    eng.dispose()
    return [tuple(r) for r in rows]


def test_supervisor_picks_a_candidate_and_places_by_hand(
    browser_page: Any, live_server: str, web_db: WebDB
) -> None:
    seed_register_and_queue(web_db)
    page = browser_page
    # a district-wide account: the street-1 supervisor sees only the cases whose candidates
    # lie in street 1 (tests/web/api/test_geocode.py)
    browser_login(page, live_server, "admin", next_path="/supervisor")
    page.wait_for_selector("#addrq-body tr.addrq-row", timeout=20_000)
    rows = page.locator("#addrq-body tr.addrq-row")
    assert rows.count() == 3
    assert [rows.nth(i).locator("td").first.text_content() for i in range(3)] == QUEUED
    assert page.text_content("#addrq-total") == "3"

    # the tie between two 小区: both shown on the map as numbered markers
    rows.first.click()
    page.wait_for_selector(".addrq-marker")
    assert page.locator(".addrq-marker").count() >= 2
    assert page.locator(".addrq-marker").first.text_content() == "1"
    labels = page.locator("#addrq-detail button.addrq-choose").all_text_contents()
    assert any("甲小区1号楼" in b for b in labels) and any("乙小区1号楼" in b for b in labels)
    page.locator("#addrq-detail").scroll_into_view_if_needed()
    screenshot(page, "supervisor_address_queue")

    # pick candidate 2 and add the address to the register
    page.check("#addrq-register")
    page.locator("#addrq-detail button.addrq-choose").nth(1).click()
    page.wait_for_selector(".addrq-placed")
    assert "已定位" in page.text_content(".addrq-placed")
    page.wait_for_function("() => document.querySelectorAll('#addrq-body tr.addrq-row').length === 2")

    # the hostile address is text, placed by hand with the draggable marker
    row = page.locator("#addrq-body tr.addrq-row").nth(1)
    assert row.locator("td").first.text_content() == XSS_NAME + "附近"
    row.click()
    page.click("#addrq-detail button.addrq-hand")
    page.wait_for_selector(".addrq-hand-marker")
    screenshot(page, "supervisor_address_queue_by_hand")
    page.click("#addrq-detail button.addrq-place-here")
    page.wait_for_selector(".addrq-placed")
    page.wait_for_function("() => document.querySelectorAll('#addrq-body tr.addrq-row').length === 1")

    placed = _incidents(web_db)
    assert [(a, s) for a, s, _ in placed] == [("丁小区1号楼", "confirmed"),
                                             (XSS_NAME + "附近", "manual")]
    assert page.gm_dialogs == []  # no alert(1)
    assert page.gm_failed == [], page.gm_failed
    assert page.gm_errors == [], page.gm_errors
    assert page.gm_blocked == []
