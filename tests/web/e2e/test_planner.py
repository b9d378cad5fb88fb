"""End to end in headless Chromium: planner page offline, layers, what-if, escaping,
roles, language. Screenshots in test-output/screenshots/."""

from __future__ import annotations

import pytest

from tests.fixtures.web import XSS_NAME, browser_login, screenshot

pytest_plugins = ["tests.fixtures.web"]
pytestmark = pytest.mark.browser


def _open_planner(page, base: str) -> None:
    browser_login(page, base, "planner")
    assert "/planner" in page.url, page.url
    page.wait_for_selector(".leaflet-overlay-pane path", timeout=20000)
    page.wait_for_function(
        "() => window.gmPlanner && window.gmPlanner.facilities.getLayers().length >= 2", timeout=20000)


def test_planner_page_offline_with_data(browser_page, coverage_live_server) -> None:
    page = browser_page
    _open_planner(page, coverage_live_server)
    page.wait_for_selector("#gaps tbody tr", timeout=20000)
    # the map rendered: Leaflet container, coverage polygons, scale bar, layer control
    assert page.locator(".leaflet-container").count() == 1
    assert page.locator(".leaflet-overlay-pane path").count() >= 3
    assert page.locator(".leaflet-control-scale").count() == 1
    assert page.locator(".leaflet-control-layers").count() == 1
    assert "OpenStreetMap" in page.locator(".leaflet-control-attribution").inner_text()
    assert page.locator("#synthetic-notice").is_visible()
    assert page.locator(".gm-legend").is_visible()
    screenshot(page, "planner")
    # offline: nothing outside the app was requested, and none of our requests failed
    assert page.gm_blocked == []
    assert page.gm_failed == []
    assert page.gm_errors == []
    # every loaded script/stylesheet came from the app itself
    urls = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert urls and all(u.startswith(coverage_live_server) for u in urls)


def test_facility_named_script_is_shown_literally(browser_page, coverage_live_server) -> None:
    page = browser_page
    _open_planner(page, coverage_live_server)
    text = page.evaluate("""(name) => {
        const l = window.gmPlanner.facilities.getLayers().find(x => x.feature.properties.name === name);
        l.openTooltip(); l.openPopup();
        return [document.querySelector('.leaflet-tooltip').textContent,
                document.querySelector('.leaflet-popup-content').textContent];
    }""", XSS_NAME)
    assert XSS_NAME in text[0] and XSS_NAME in text[1]
    assert page.locator(".leaflet-popup-content script").count() == 0
    page.wait_for_timeout(300)
    assert page.gm_dialogs == []
    screenshot(page, "planner-escaped-name")


def test_click_map_what_if_and_gap_zoom(browser_page, coverage_live_server) -> None:
    page = browser_page
    _open_planner(page, coverage_live_server)
    page.select_option("#type", "primary_school")
    page.wait_for_selector("#gaps tbody tr", timeout=20000)
    # zoom to the first gap
    before = page.evaluate("gm.map.getZoom()")
    page.locator("#gaps tbody tr").first.click()
    page.wait_for_timeout(500)
    assert page.evaluate("gm.map.getZoom()") >= before
    # click the map at 丙社区 (no primary school) -> covered residents change
    page.evaluate("gm.map.setView([39.9075, 116.4235], 15)")
    page.wait_for_timeout(300)
    point = page.evaluate("(() => { const p = gm.map.latLngToContainerPoint([39.9075, 116.4235]);"
                          " const r = gm.map.getContainer().getBoundingClientRect();"
                          " return [r.left + p.x, r.top + p.y]; })()")
    page.click("#whatif-mode")
    page.mouse.click(point[0], point[1])
    page.wait_for_selector("#whatif-result:not([hidden])", timeout=20000)
    delta = page.locator("#wi-delta").inner_text()
    assert delta.startswith("+")
    assert int(delta.lstrip("+").replace(",", "")) > 0
    screenshot(page, "planner-whatif")
    assert page.gm_failed == [] and page.gm_errors == []


def test_other_roles_cannot_open_planner(browser_page, coverage_live_server) -> None:
    page = browser_page
    browser_login(page, coverage_live_server, "officer")
    resp = page.goto(f"{coverage_live_server}/planner")
    assert resp.status == 403
    resp = page.goto(f"{coverage_live_server}/api/planner/gaps?level=estate")
    assert resp.status == 403


def test_language_switch_to_english(browser_page, coverage_live_server) -> None:
    page = browser_page
    _open_planner(page, coverage_live_server)
    with page.expect_navigation():
        page.click('button[data-lang="en"]')
    page.wait_for_selector(".leaflet-overlay-pane path", timeout=20000)
    assert "15-minute life circle planning" in page.locator("h1").inner_text()
    assert page.locator("html").get_attribute("lang") == "en"
    screenshot(page, "planner-en")


def test_buildings_as_vector_tiles_and_service_areas(browser_page, coverage_live_server) -> None:
    page = browser_page
    _open_planner(page, coverage_live_server)
    with page.expect_response(lambda r: "/api/tiles/buildings/" in r.url and r.status == 200):
        page.evaluate("gm.map.addLayer(window.gmPlanner.buildings);"
                      " gm.map.setView([39.9075, 116.405], 17)")
    page.wait_for_function(
        "() => document.querySelectorAll('.leaflet-tile path, .leaflet-tile-container path').length > 0"
        " || [...document.querySelectorAll('svg.leaflet-tile')].some(s => s.querySelector('path'))",
        timeout=20000)
    with page.expect_response(lambda r: "/api/planner/service_areas" in r.url and r.status == 200):
        page.select_option("#minutes", "15")
    page.wait_for_timeout(500)
    screenshot(page, "planner-buildings")
    assert page.gm_failed == [] and page.gm_errors == [] and page.gm_blocked == []


def test_candidates_and_search(browser_page, coverage_live_server) -> None:
    page = browser_page
    _open_planner(page, coverage_live_server)
    page.select_option("#type", "primary_school")
    page.click("#candidates-btn")
    page.wait_for_selector("#candidates li", timeout=20000)
    assert "新增覆盖" in page.locator("#candidates li").first.inner_text()
    page.wait_for_selector(".leaflet-marker-icon", timeout=5000)
    page.fill("#search", "丙")
    page.wait_for_selector("#search-results a", timeout=10000)
    page.locator("#search-results a").first.click()
    page.wait_for_timeout(400)
    center = page.evaluate("[gm.map.getCenter().lat, gm.map.getCenter().lng]")
    assert 116.42 < center[1] < 116.44
    screenshot(page, "planner-candidates")
    assert page.gm_failed == [] and page.gm_errors == [] and page.gm_blocked == []
