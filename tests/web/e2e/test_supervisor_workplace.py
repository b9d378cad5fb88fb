"""Supervisor page as a workplace (issue #16) in headless Chromium: checkbox dropdown filters
with 全部/清除 and categories under their 大类 (刷新 clears them), the overdue table in a
drawer with every column visible, overdue duration, sorting and XLSX export, the heat switch
and legend, a hotspot count drawn from the same scoped set as the map.

Screenshots: test-output/screenshots/supervisor_wp_*.png (before: p3_supervisor_before.png)
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.web import WebDB, browser_login, screenshot
from tests.web.e2e.test_supervisor import seed_incidents, total

pytest_plugins = ["tests.fixtures.web"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]


def open_page(page: Any, live_server: str) -> None:
    browser_login(page, live_server, "supervisor", next_path="/supervisor")
    page.wait_for_selector("body[data-sup-ready='1']", timeout=20_000)


def wait_total(page: Any, n: int) -> None:
    page.wait_for_function(f"() => document.querySelector('#sup-count').dataset.total === '{n}'")


def test_checkbox_filters_all_clear_groups_and_refresh(browser_page: Any, live_server: str,
                                                       web_db: WebDB) -> None:
    seed_incidents(web_db)
    page = browser_page
    open_page(page, live_server)
    assert total(page) == 4
    assert page.locator("select[multiple]").count() == 0  # no Ctrl-click boxes any more
    cat = page.locator("details.sup-dd[data-filter='category']")
    cat.locator("summary").click()
    # sub-categories grouped under their 大类
    groups = cat.locator(".sup-dd-group")
    assert groups.count() >= 1
    assert cat.locator(".sup-dd-group input[data-value='C0101']").count() == 1
    assert cat.locator(".sup-dd-parent").first.text_content().strip() != ""
    screenshot(page, "supervisor_wp_category_dropdown")
    cat.locator("input[data-value='C0101']").check()
    wait_total(page, 2)
    assert "sup-dd-active" in (cat.get_attribute("class") or "")
    # 全部 = every box = no filter; 清除 = none = no filter
    cat.locator(".sup-dd-all").click()
    wait_total(page, 4)
    assert cat.locator(".sup-dd-value").text_content() == "全部"
    cat.locator(".sup-dd-none").click()
    assert cat.locator("input[data-value]:checked").count() == 0
    # a whole 大类 by its group box
    parent = cat.locator("input.sup-dd-group-box").first
    parent.check()
    kids = cat.locator(f".sup-dd-group:has(input.sup-dd-group-box[data-group='{parent.get_attribute('data-group')}']) input[data-value]")
    assert kids.count() == kids.locator("xpath=self::*[@data-value]").count()
    assert all(kids.nth(i).is_checked() for i in range(kids.count()))
    page.keyboard.press("Escape")
    urg = page.locator("details.sup-dd[data-filter='urgency']")
    urg.locator("summary").click()
    urg.locator("input[data-value='urgent']").check()
    page.keyboard.press("Escape")
    page.wait_for_timeout(400)
    filtered = total(page)
    assert filtered < 4
    # 刷新 clears every filter and reloads
    page.click("#sup-reset")
    wait_total(page, 4)
    assert page.locator("details.sup-dd input[type=checkbox]:checked").count() == 0
    assert page.locator("details.sup-dd.sup-dd-active").count() == 0
    screenshot(page, "supervisor_wp_filters_reset")
    assert page.gm_errors == [], page.gm_errors


def test_overdue_drawer_columns_sorting_export_heat_and_hotspots(
        browser_page: Any, live_server: str, web_db: WebDB) -> None:
    seed_incidents(web_db)
    page = browser_page
    open_page(page, live_server)
    page.wait_for_function("() => document.querySelector('#sup-overdue-total').textContent === '1'")
    # the panel shows the most overdue case with its overdue duration
    brief = page.locator("#sup-overdue-brief li").first.text_content()
    assert "天" in brief
    page.click("#sup-overdue-open")
    page.wait_for_selector("#sup-overdue-body tr")
    drawer = page.locator("#sup-drawer").bounding_box()
    view = page.viewport_size
    heads = page.locator("#sup-overdue-table thead th")
    assert heads.count() == 6
    assert "超期时长" in page.text_content("#sup-overdue-table thead")
    for i in range(heads.count()):  # every column inside the drawer and the window
        b = heads.nth(i).bounding_box()
        assert b["x"] >= drawer["x"] - 1 and b["x"] + b["width"] <= drawer["x"] + drawer["width"] + 1
        assert b["x"] + b["width"] <= view["width"]
    row = page.locator("#sup-overdue-body tr").first
    assert "天" in row.locator("td").nth(4).text_content()
    cells = row.locator("td")
    for i in range(cells.count()):  # nothing cut: the case number is whole
        assert cells.nth(i).evaluate("c => c.scrollWidth <= c.clientWidth + 1")
    # sorting: a click on a header sorts by it and marks it
    page.click("#sup-overdue-table th button[data-sort='case_no']")
    assert page.get_attribute("#sup-overdue-table th button[data-sort='case_no']", "aria-sort") == "ascending"
    page.click("#sup-overdue-table th button[data-sort='case_no']")
    assert page.get_attribute("#sup-overdue-table th button[data-sort='case_no']", "aria-sort") == "descending"
    screenshot(page, "supervisor_wp_overdue_drawer")
    # XLSX export from the server, with the same filters
    href = page.get_attribute("#sup-drawer-xlsx", "href")
    assert href is not None and "overdue=1" in href
    resp = page.request.get(live_server + href)
    assert resp.status == 200
    assert resp.body()[:2] == b"PK"  # an XLSX (zip) file
    page.click("#sup-drawer-close")
    assert page.is_hidden("#sup-drawer")

    # heat switch and legend
    assert page.is_visible("#sup-legend-heat")
    assert page.locator(".leaflet-supHeat-pane canvas").count() == 1
    opacity = page.evaluate("getComputedStyle(document.querySelector('.leaflet-supHeat-pane')).opacity")
    assert float(opacity) < 1  # the indicator colours stay readable under the heat
    page.uncheck("#sup-show-heat")
    page.wait_for_function("() => document.body.dataset.supHeat === 'off'")
    assert page.locator(".leaflet-supHeat-pane canvas").count() == 0
    assert page.is_hidden("#sup-legend-heat")
    screenshot(page, "supervisor_wp_heat_off")
    page.check("#sup-show-heat")
    page.wait_for_function("() => document.body.dataset.supHeat === 'on'")
    assert page.locator(".leaflet-supHeat-pane canvas").count() == 1

    # the hotspot count is the drawn set, computed over the supervisor's grids only
    hc = page.locator("#sup-hotspot-count")
    assert hc.get_attribute("data-count") == hc.get_attribute("data-drawn")
    assert int(hc.get_attribute("data-drawn")) == page.locator("path.sup-hotspot-outline").count()
    api = page.request.get(live_server + "/api/hotspots?window=all").json()
    assert api["n_units"] == 2  # the supervisor's two grids, not the third street's
    assert page.gm_errors == [], page.gm_errors


def test_print_layout(browser_page: Any, live_server: str) -> None:
    page = browser_page
    open_page(page, live_server)
    page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
    page.emulate_media(media="print")
    assert page.is_visible(".gm-print-meta")
    meta = page.text_content(".gm-print-meta")
    assert "事件监督" in meta and "数据来源" in meta and "20" in page.text_content("#sup-print-date")
    assert page.is_hidden(".sup-filters") and page.is_hidden(".gm-top")
    assert page.is_visible(".leaflet-control-scale") and page.is_visible("#sup-legend-rate")
    screenshot(page, "supervisor_wp_print")
    page.emulate_media(media="screen")
    assert page.is_hidden(".gm-print-meta")
