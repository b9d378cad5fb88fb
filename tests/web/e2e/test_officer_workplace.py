"""Officer page as a workplace (issue #16) in headless Chromium: the draw toolbar in Chinese,
a click on the plan in force explains itself, lasso selection of several units, feedback
messages (已撤销 after undo, no green next to a red error), the activation confirmation with
its impact summary and the unchanged-draft warning, 待生效/现行 labels with dates for a
future-dated plan, diff/discard/revert, names instead of ids in the impact list.

Screenshots: test-output/screenshots/officer_wp_*.png (before: p3_officer_*_before.png)
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from gridmap.db import make_engine
from tests.fixtures.web import WebDB, browser_login, screenshot

pytest_plugins = ["tests.fixtures.web"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]

JIA = "110101001001"


def open_jia(page: Any, live_server: str, web_db: WebDB) -> int:
    cid = web_db.ids["community"][JIA]
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:  # a plan that validates: its grid has a responsible party
        conn.execute(sa.text(
            "UPDATE grid_geometry SET responsible_party = '甲社区居委会' WHERE grid_id IN"
            " (SELECT id FROM grid WHERE community_id = :c)"), {"c": cid})
    eng.dispose()
    browser_login(page, live_server, "officer", next_path="/officer")
    page.select_option("#off-community", str(cid))
    page.wait_for_selector("#off-versions li[data-phase='current']")
    page.wait_for_selector("path.off-unit-building")
    return int(cid)


def new_draft(page: Any) -> None:
    page.click("#off-new-draft")
    page.wait_for_selector("#off-versions li[data-phase='draft']")
    page.wait_for_function("() => document.body.dataset.offPhase === 'draft'")
    page.wait_for_selector("#off-edit:not([disabled])")


def drag_box(page: Any, sw: tuple[float, float], ne: tuple[float, float]) -> None:
    """Draw a rectangle with Leaflet.draw from ``sw`` to ``ne`` (lat, lon)."""
    box = page.locator(".leaflet-container").bounding_box()
    a = page.evaluate(f"() => window[window.GM_MAP_NAME].latLngToContainerPoint([{sw[0]}, {sw[1]}])")
    b = page.evaluate(f"() => window[window.GM_MAP_NAME].latLngToContainerPoint([{ne[0]}, {ne[1]}])")
    page.click(".leaflet-draw-draw-rectangle")
    page.mouse.move(box["x"] + a["x"], box["y"] + a["y"])
    page.mouse.down()
    page.mouse.move(box["x"] + (a["x"] + b["x"]) / 2, box["y"] + (a["y"] + b["y"]) / 2, steps=4)
    page.mouse.move(box["x"] + b["x"], box["y"] + b["y"], steps=4)
    page.mouse.up()


def test_toolbar_in_chinese_and_click_on_plan_in_force_explains(
        browser_page: Any, live_server: str, web_db: WebDB) -> None:
    page = browser_page
    open_jia(page, live_server, web_db)
    title = page.get_attribute(".leaflet-draw-draw-polygon", "title")
    assert title is not None and "多边形" in title
    assert "矩形" in (page.get_attribute(".leaflet-draw-draw-rectangle", "title") or "")
    # the plan in force: a unit click says why nothing happens
    page.locator("path.off-unit-building").first.click(force=True)
    page.wait_for_function("() => document.getElementById('off-status').dataset.kind === 'note'")
    assert "新建草稿" in page.text_content("#off-status")
    assert "现行" in page.text_content("#off-status")
    # versions listed with status and dates
    li = page.locator("#off-versions li[data-phase='current']")
    assert "现行" in li.text_content() and "生效" in li.text_content()
    screenshot(page, "officer_wp_not_draft")
    assert page.gm_errors == [], page.gm_errors


def test_unchanged_draft_warns_and_activation_confirms_with_impact(
        browser_page: Any, live_server: str, web_db: WebDB) -> None:
    page = browser_page
    cid = open_jia(page, live_server, web_db)
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:  # an unnamed building with its 楼号 in the address register
        bid = conn.execute(sa.text("SELECT min(id) FROM building WHERE community_id = :c"),
                           {"c": cid}).scalar_one()
        conn.execute(sa.text("UPDATE building SET name = NULL WHERE id = :b"), {"b": bid})
        conn.execute(sa.text(
            "INSERT INTO address_entry (kind, text, entry_key, building_no, building_id, geom,"
            " source) SELECT 'door', '甲小区7号楼', 'e2e7', 7, id, ST_PointOnSurface(geom), 'e2e'"
            " FROM building WHERE id = :b"), {"b": bid})
    new_draft(page)
    # unchanged draft: the dialog warns, cancel keeps it a draft
    page.click("#off-activate")
    page.wait_for_selector("#off-confirm[open]")
    assert page.is_visible("#off-confirm-warning")
    assert "完全相同" in page.text_content("#off-confirm-warning")
    assert page.text_content("#off-confirm-ok") == "仍然生效"
    screenshot(page, "officer_wp_unchanged_warning")
    page.click("#off-confirm-cancel")
    assert page.locator("#off-versions li[data-phase='draft']").count() == 1

    # lasso: a rectangle around the two western buildings moves both into a new grid
    page.select_option("#off-target", "new")
    assert page.input_value("#off-draw-mode") == "lasso"
    with eng.connect() as conn:
        b = conn.execute(sa.text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e"
            " FROM (SELECT geom FROM building WHERE community_id = :c ORDER BY ST_XMin(geom), id"
            " LIMIT 2) q) r"), {"c": cid}).one()
    drag_box(page, (b[1] - 0.0001, b[0] - 0.0001), (b[3] + 0.0001, b[2] + 0.0001))
    page.wait_for_function("() => document.getElementById('off-status').textContent.includes('个单元')")
    moved = int(re.search(r"已调整 (\d+) 个单元", page.text_content("#off-status")).group(1))
    assert moved >= 2  # one drawing, several units
    screenshot(page, "officer_wp_lasso")
    assert page.locator("#off-grids tbody tr").count() == 2
    # undo says 已撤销, not 已保存
    page.click("#off-undo")
    page.wait_for_function("() => document.getElementById('off-status').textContent.includes('已撤销')")
    page.click("#off-redo")
    page.wait_for_function("() => document.getElementById('off-status').textContent.includes('已重做')")

    # the impact list names the unnamed building by estate and 楼号
    page.click("#off-impact")
    page.wait_for_selector("#off-impact-table")
    impact = page.text_content("#off-impact-box")
    assert "7号楼" in impact and f"building {bid}" not in impact

    # an activation error: red only, no green next to it
    page.fill("#off-effective", "2001-01-01")
    page.click("#off-activate")
    page.wait_for_selector("#off-confirm[open]")
    assert not page.is_visible("#off-confirm-warning")
    summary = page.text_content("#off-confirm-summary")
    assert "调整户数" in summary and "涉及网格" in summary and "调整单元" in summary
    assert "受影响的未结案件" in summary
    page.click("#off-confirm-ok")
    page.wait_for_selector("#off-error:not([hidden])")
    assert page.text_content("#off-status") == ""

    # a future date: the new plan is 待生效, the old one stays 现行, both with dates
    page.click("#off-undo")  # back to the plan in force (the lasso left a sliver uncovered)
    page.wait_for_function("() => document.getElementById('off-status').textContent.includes('已撤销')")
    future = (datetime.now(UTC) + timedelta(days=20)).date().isoformat()
    page.fill("#off-effective", future)
    page.click("#off-activate")
    page.wait_for_selector("#off-confirm[open]")
    assert future in page.text_content("#off-confirm-note")
    screenshot(page, "officer_wp_confirm")
    page.click("#off-confirm-ok")
    page.wait_for_selector("#off-versions li[data-phase='pending']")
    assert page.is_hidden("#off-error")
    pending = page.locator("#off-versions li[data-phase='pending']").text_content()
    current = page.locator("#off-versions li[data-phase='current']").text_content()
    assert "待生效" in pending and future in pending
    assert "现行" in current and future in current  # valid until the new plan's date
    assert page.locator("#off-versions li[data-phase='historic']").count() == 0
    screenshot(page, "officer_wp_pending")
    eng.dispose()
    assert page.gm_errors == [], page.gm_errors


def test_diff_discard_and_revert(browser_page: Any, live_server: str, web_db: WebDB) -> None:
    page = browser_page
    open_jia(page, live_server, web_db)
    new_draft(page)
    page.select_option("#off-target", "new")
    page.locator("path.off-unit-building").first.click(force=True)
    page.wait_for_function("() => document.getElementById('off-status').textContent.includes('1 个单元')")
    # diff: changed grids in a table and on the map
    page.locator("#off-versions li[data-phase='draft'] .off-diff").click()
    page.wait_for_selector("#off-diff-table tr.off-diff-added")
    assert page.locator("#off-diff-table tr.off-diff-changed").count() == 1
    assert page.locator("path.off-diff-grid").count() == 2
    screenshot(page, "officer_wp_diff")
    # discard: asked first, then gone
    page.locator("#off-versions li[data-phase='draft'] .off-discard").click()
    page.wait_for_selector("#off-confirm[open]")
    page.click("#off-confirm-ok")
    page.wait_for_function("() => !document.querySelector(\"#off-versions li[data-phase='draft']\")")
    page.wait_for_function("() => document.getElementById('off-status').textContent.includes('已丢弃')")
    # activate an empty draft today: the first plan becomes 历史 and can be restored
    new_draft(page)
    page.click("#off-activate")
    page.wait_for_selector("#off-confirm[open]")
    page.click("#off-confirm-ok")
    page.wait_for_selector("#off-versions li[data-phase='historic']")
    page.locator("#off-versions li[data-phase='historic'] .off-revert").click()
    page.wait_for_selector("#off-confirm[open]")
    page.click("#off-confirm-ok")
    page.wait_for_function("() => document.querySelectorAll(\"#off-versions li\").length === 3")
    page.wait_for_function("() => document.getElementById('off-status').textContent.includes('已恢复')")
    assert page.locator("#off-versions li[data-phase='current']").count() == 1
    screenshot(page, "officer_wp_reverted")
    assert page.gm_errors == [], page.gm_errors


def test_print_layout_and_csv_export(browser_page: Any, live_server: str, web_db: WebDB) -> None:
    page = browser_page
    open_jia(page, live_server, web_db)
    with page.expect_download() as dl:
        page.click("button[data-export='off-grids']")
    path = dl.value.path()
    text = open(path, encoding="utf-8-sig").read()
    assert "网格" in text.splitlines()[0] and "110101001001001" in text
    page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
    page.emulate_media(media="print")
    meta = page.text_content(".gm-print-meta")
    assert page.is_visible(".gm-print-meta") and "网格调整" in meta and "甲社区" in meta
    assert "数据来源" in meta
    assert page.is_hidden(".gm-top") and page.is_hidden("#off-new-draft")
    assert page.is_visible(".leaflet-control-scale") and page.is_visible("#off-legend")
    screenshot(page, "officer_wp_print")
