"""Officer page (issue #16) in headless Chromium: the brush (刷选) paints units by dragging
and moves them in one edit; a future-dated plan is 待生效 and can be withdrawn (撤销生效安排).

Screenshots: test-output/screenshots/officer_brush_*.png
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from gridmap.db import make_engine
from tests.fixtures.web import WebDB, screenshot
from tests.web.e2e.test_officer_workplace import new_draft, open_jia

pytest_plugins = ["tests.fixtures.web"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _point(page: Any, lat: float, lon: float) -> tuple[float, float]:
    box = page.locator(".leaflet-container").bounding_box()
    p = page.evaluate(f"() => window[window.GM_MAP_NAME].latLngToContainerPoint([{lat}, {lon}])")
    return box["x"] + p["x"], box["y"] + p["y"]


def test_brush_paints_units_by_dragging_and_moves_them_at_once(
        browser_page: Any, live_server: str, web_db: WebDB) -> None:
    page = browser_page
    cid = open_jia(page, live_server, web_db)
    assert page.text_content("#off-brush") == "刷选"
    assert "按住鼠标拖过" in (page.get_attribute("#off-brush", "title") or "")
    new_draft(page)
    page.select_option("#off-target", "new")
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.connect() as conn:  # the centres of the two western buildings
        pts = conn.execute(sa.text(
            "SELECT ST_Y(ST_PointOnSurface(geom)), ST_X(ST_PointOnSurface(geom)) FROM building"
            " WHERE community_id = :c ORDER BY ST_XMin(geom), id LIMIT 2"), {"c": cid}).all()
    eng.dispose()
    before = page.evaluate("() => window[window.GM_MAP_NAME].getCenter()")
    page.click("#off-brush")
    assert page.get_attribute("#off-brush", "aria-pressed") == "true"
    assert "刷选" in page.text_content("#off-status")
    a, b = _point(page, *pts[0]), _point(page, *pts[1])
    page.mouse.move(*a)
    page.mouse.down()
    page.mouse.move((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, steps=6)
    page.mouse.move(*b, steps=6)
    assert int(page.get_attribute("#off-brush", "data-painted") or 0) >= 2
    screenshot(page, "officer_brush_painting")
    page.mouse.up()
    page.wait_for_function("() => document.getElementById('off-status').textContent.includes('个单元')")
    moved = int(re.search(r"已调整 (\d+) 个单元", page.text_content("#off-status")).group(1))
    assert moved >= 2  # one stroke, several units, one edit
    after = page.evaluate("() => window[window.GM_MAP_NAME].getCenter()")
    assert abs(after["lat"] - before["lat"]) < 1e-9  # the drag painted, it did not pan
    screenshot(page, "officer_brush_moved")
    page.keyboard.press("Escape")
    assert page.get_attribute("#off-brush", "aria-pressed") == "false"
    page.click("#off-undo")  # one undo takes back the whole stroke
    page.wait_for_function("() => document.getElementById('off-status').textContent.includes('已撤销')")
    assert page.locator("#off-grids tbody tr").count() == 1
    assert page.gm_errors == [], page.gm_errors


def test_future_plan_is_pending_and_can_be_withdrawn(
        browser_page: Any, live_server: str, web_db: WebDB) -> None:
    page = browser_page
    open_jia(page, live_server, web_db)
    new_draft(page)
    future = (datetime.now(UTC) + timedelta(days=20)).date().isoformat()
    page.fill("#off-effective", future)
    page.click("#off-activate")
    page.wait_for_selector("#off-confirm[open]")
    page.click("#off-confirm-ok")
    page.wait_for_selector("#off-versions li[data-phase='pending'] .off-unschedule")
    assert "待生效" in page.locator("#off-versions li[data-phase='pending']").text_content()
    page.locator("#off-versions li[data-phase='pending'] .off-unschedule").click()
    page.wait_for_selector("#off-confirm[open]")
    assert "现行方案继续有效" in page.text_content("#off-confirm-note")
    page.click("#off-confirm-ok")
    page.wait_for_function("() => document.getElementById('off-status').textContent.includes('退回为草稿')")
    assert page.locator("#off-versions li[data-phase='pending']").count() == 0
    assert page.locator("#off-versions li[data-phase='draft']").count() == 1
    current = page.locator("#off-versions li[data-phase='current']").text_content()
    assert future not in current  # the plan in force has no end date again
    screenshot(page, "officer_brush_withdrawn")
    assert page.gm_errors == [], page.gm_errors
