"""Stored XSS through names (issue #12, findings 1 and 2), end to end in headless Chromium:
a grid named ``<img src=x onerror=…>`` hovered on the supervisor page, and a building with
such a name hovered on the officer page. The tooltip shows the name literally, holds no
element made from it, and no script runs.

Screenshots: test-output/screenshots/xss_supervisor_grid_tooltip.png,
xss_officer_unit_tooltip.png
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
PAYLOAD = '<img src=x onerror="window.__gmXss=1;alert(1)">'


def _rename(web_db: WebDB, sql: str, **params: Any) -> None:
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        conn.execute(sa.text(sql), {"n": PAYLOAD, **params})
    eng.dispose()


def _assert_literal(page: Any) -> None:
    tip = page.locator(".leaflet-tooltip").first
    assert PAYLOAD in tip.text_content()  # the name shows as typed
    assert tip.locator("img").count() == 0  # no element was made from it
    assert page.evaluate("() => window.__gmXss === undefined")
    assert page.gm_dialogs == []
    assert not [f for f in page.gm_failed if f.endswith("/x")]  # the <img> never loaded


def test_grid_name_in_the_supervisor_tooltip_is_text(browser_page: Any, live_server: str,
                                                     web_db: WebDB) -> None:
    _rename(web_db, "UPDATE grid SET name = :n WHERE id = :g", g=web_db.ids["grid"][JIA])
    page = browser_page
    browser_login(page, live_server, "supervisor", next_path="/supervisor")
    page.wait_for_selector("body[data-sup-ready='1']", timeout=20_000)
    page.wait_for_selector("path.sup-grid")
    box = page.locator(".leaflet-container").bounding_box()
    pt = page.evaluate(
        "() => window.GM_SUPERVISOR_MAP.latLngToContainerPoint([39.9075, 116.4050])")
    page.mouse.move(box["x"] + pt["x"], box["y"] + pt["y"])
    page.mouse.move(box["x"] + pt["x"] + 3, box["y"] + pt["y"] + 3)
    page.wait_for_selector(".leaflet-tooltip", timeout=10_000)
    _assert_literal(page)
    screenshot(page, "xss_supervisor_grid_tooltip")
    assert page.gm_errors == [], page.gm_errors


def test_building_name_in_the_officer_tooltip_is_text(browser_page: Any, live_server: str,
                                                      web_db: WebDB) -> None:
    cid = web_db.ids["community"][JIA]
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.connect() as conn:
        bid = conn.execute(sa.text("SELECT min(id) FROM building WHERE community_id = :c"),
                           {"c": cid}).scalar_one()
    eng.dispose()
    _rename(web_db, "UPDATE building SET name = :n WHERE id = :b", b=bid)
    page = browser_page
    browser_login(page, live_server, "officer", next_path="/officer")
    page.select_option("#off-community", str(cid))
    page.wait_for_selector("#off-versions li")
    page.click("#off-new-draft")
    page.wait_for_selector(f"path.off-unit-building-{bid}")
    page.hover(f"path.off-unit-building-{bid}")
    page.wait_for_selector(".leaflet-tooltip", timeout=10_000)
    _assert_literal(page)
    screenshot(page, "xss_officer_unit_tooltip")
    assert page.gm_errors == [], page.gm_errors
