"""End to end in headless Chromium: the planner page as a workplace (#16): the explicit
what-if mode, the recoloured choropleth with the changed units listed, the tier legend,
no mixing of stale answers, numbered candidates, the gap list (coverage %, sorting,
XLSX), page state in the URL, the print stylesheet. Screenshots (before/after) in
test-output/screenshots/."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from tests.fixtures.web import browser_login, screenshot

pytest_plugins = ["tests.fixtures.web"]
pytestmark = pytest.mark.browser

BING = (39.9075, 116.4235)  # in 丙社区/丙小区, which has no primary school


def _open(page, base: str, query: str = "") -> None:
    browser_login(page, base, "planner")
    if query:
        page.goto(f"{base}/planner{query}")
    page.wait_for_selector(".leaflet-overlay-pane path", timeout=20000)
    page.wait_for_function("() => window.gmPlanner && window.gmPlanner.coverageLayer.getLayers().length >= 3",
                           timeout=20000)


def _screen_point(page, latlng: tuple[float, float]) -> list[float]:
    return page.evaluate("""(ll) => { const p = gm.map.latLngToContainerPoint(ll);
        const r = gm.map.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }""",
                         list(latlng))


def _whatif_posts(page) -> list[str]:
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if "/api/planner/whatif" in r.url else None)
    return posts


def test_clicks_outside_the_mode_never_place_and_esc_leaves(browser_page, coverage_live_server) -> None:
    page = browser_page
    _open(page, coverage_live_server)
    posts = _whatif_posts(page)
    page.evaluate("gm.map.setView([39.9075, 116.4235], 15)")
    page.wait_for_timeout(400)
    x, y = _screen_point(page, BING)
    page.mouse.click(x, y)  # clicking the estate only shows it
    page.wait_for_selector(".leaflet-popup-content", timeout=5000)
    assert "丙小区" in page.locator(".leaflet-popup-content").inner_text()
    page.wait_for_timeout(300)
    assert posts == [] and page.evaluate("window.gmPlanner.added.length") == 0
    assert page.locator("#whatif-result").is_hidden()
    # the mode: button, banner, crosshair
    page.click("#whatif-mode")
    assert page.locator("#whatif-banner").is_visible()
    assert page.locator("#whatif-banner").inner_text() == "点击地图放置拟建设施，Esc 退出"
    assert page.locator("#whatif-mode").get_attribute("aria-pressed") == "true"
    cursor = page.evaluate("getComputedStyle(gm.map.getContainer()).cursor")
    assert cursor == "crosshair"
    assert "mode=whatif" in page.url
    screenshot(page, "planner-mode-on")
    page.keyboard.press("Escape")
    assert page.locator("#whatif-banner").is_hidden()
    assert page.locator("#whatif-mode").get_attribute("aria-pressed") == "false"
    assert page.evaluate("getComputedStyle(gm.map.getContainer()).cursor") != "crosshair"
    page.mouse.click(x, y)
    page.wait_for_timeout(400)
    assert posts == [] and page.evaluate("window.gmPlanner.added.length") == 0
    # the button leaves the mode too
    page.click("#whatif-mode")
    page.click("#whatif-mode")
    assert page.locator("#whatif-banner").is_hidden()
    assert page.gm_errors == [] and page.gm_failed == []


def test_whatif_recolours_the_choropleth_and_lists_the_gaining_units(
        browser_page, coverage_live_server) -> None:
    page = browser_page
    _open(page, coverage_live_server)
    page.select_option("#type", "primary_school")
    page.evaluate("gm.map.setView([39.9075, 116.42], 15)")
    page.wait_for_timeout(800)
    fill_before = page.evaluate("""() => window.gmPlanner.coverageLayer.getLayers()
        .filter(l => l.feature.properties.name === '丙小区').map(l => l.options.fillColor)[0]""")
    screenshot(page, "planner-whatif-before")
    page.click("#whatif-mode")
    x, y = _screen_point(page, BING)
    page.mouse.click(x, y)
    page.wait_for_selector("#whatif-units tbody tr", timeout=20000)
    rows = page.locator("#whatif-units tbody tr")
    assert rows.count() >= 1
    first = rows.first.inner_text()
    assert "丙小区" in first and "→" in first and "+" in first
    hl = page.evaluate("""() => window.gmPlanner.coverageLayer.getLayers()
        .filter(l => l.options.weight > 3).map(l => [l.feature.properties.name, l.options.fillColor])""")
    assert [h[0] for h in hl] == ["丙小区"]
    assert hl[0][1] != fill_before  # recoloured with the share after the change
    # the new site's service area is drawn (walking polygon), and the legend says so
    assert page.evaluate("""() => window.gmPlanner.whatif.getLayers()
        .some(l => l.getLayers && l.getLayers().length > 0)""")
    assert "拟建设施服务范围" in page.locator(".gm-legend").inner_text()
    assert page.locator("#wi-delta").inner_text().startswith("+")
    screenshot(page, "planner-whatif-after")
    # switching the level lists communities
    page.select_option("#level", "community")
    page.wait_for_function("() => [...document.querySelectorAll('#whatif-units tbody tr')]"
                           ".some(r => r.textContent.includes('丙社区'))", timeout=20000)
    assert page.gm_errors == [] and page.gm_failed == []


def test_legend_says_tier_and_radius_and_the_time_selector_drives_the_layer(
        browser_page, coverage_live_server) -> None:
    page = browser_page
    _open(page, coverage_live_server)
    legend = page.locator(".gm-legend").inner_text()
    assert "幼儿园 · 5分钟生活圈 · 步行300米" in legend, legend
    assert "(5min" not in legend and "(5min" not in page.locator("#type").inner_text()
    assert "步行300米" in page.locator("#tier-note").inner_text()
    assert not page.evaluate("gm.map.hasLayer(window.gmPlanner.serviceAreas)")
    with page.expect_response(lambda r: "/api/planner/service_areas" in r.url and "minutes=10" in r.url):
        page.select_option("#minutes", "10")
    assert page.evaluate("gm.map.hasLayer(window.gmPlanner.serviceAreas)")
    assert "10 分钟" in page.locator(".gm-legend").inner_text()
    page.select_option("#minutes", "")
    assert not page.evaluate("gm.map.hasLayer(window.gmPlanner.serviceAreas)")
    page.select_option("#type", "primary_school")
    assert "小学 · " in page.locator(".gm-legend").inner_text()
    screenshot(page, "planner-legend-tier")


def test_type_then_level_quickly_never_mixes_answers(browser_page, coverage_live_server) -> None:
    page = browser_page
    _open(page, coverage_live_server)
    page.wait_for_selector("#gaps tbody tr", timeout=20000)
    held = []

    def hold(route):  # the first answer after the type change is held back
        if not held and "type=primary_school" in route.request.url and "level=estate" in route.request.url:
            held.append(route)
        else:
            route.continue_()

    page.route("**/api/planner/gaps?*", hold)
    page.select_option("#type", "primary_school")
    page.select_option("#level", "community")
    page.wait_for_function("() => document.querySelectorAll('#gaps tbody tr').length > 0", timeout=20000)
    assert held, "the estate answer was requested"
    try:  # now let the stale estate answer arrive late
        held[0].fulfill(response=held[0].fetch())
    except Exception:  # noqa: BLE001 (the page already cancelled it)
        pass
    page.wait_for_timeout(800)
    levels = page.evaluate("[...document.querySelectorAll('#gaps tbody tr')].map(r => r.dataset.level + '/' + r.dataset.type)")
    assert levels and set(levels) == {"community/primary_school"}, levels
    api = page.evaluate("gm.api('/api/planner/gaps?level=community&type=primary_school&limit=200')")
    assert len(levels) == len(api["gaps"])
    screenshot(page, "planner-race-latest-only")


def test_a_held_whatif_answer_never_lands_after_a_level_change(browser_page, coverage_live_server) -> None:
    page = browser_page
    _open(page, coverage_live_server, "?type=primary_school")
    held = []

    def hold(route):  # the first what-if (level estate) is held back
        if not held and '"level":"estate"' in (route.request.post_data or ""):
            held.append(route)
        else:
            route.continue_()

    page.route("**/api/planner/whatif", hold)
    page.evaluate("window.gmPlanner.addWhatIf('primary_school', 116.4235, 39.9075)")
    page.wait_for_function("() => true")
    page.select_option("#level", "community")
    page.wait_for_selector("#whatif-units tbody tr", timeout=20000)
    assert held
    try:
        held[0].fulfill(response=held[0].fetch())
    except Exception:  # noqa: BLE001 (the page already cancelled it)
        pass
    page.wait_for_timeout(800)
    names = page.locator("#whatif-units tbody td:first-child").all_inner_texts()
    assert names == ["丙社区"], names
    assert page.evaluate("window.gmPlanner.change.level") == "community"


def test_candidates_numbered_with_address_and_try_as_whatif(browser_page, coverage_live_server) -> None:
    page = browser_page
    _open(page, coverage_live_server)
    page.select_option("#type", "primary_school")
    screenshot(page, "planner-candidates-before")
    page.click("#candidates-btn")
    page.wait_for_selector("#candidates li.gm-candidate", timeout=20000)
    items = page.locator("#candidates li.gm-candidate")
    n = items.count()
    assert n >= 1
    icons = page.locator(".gm-cand-icon").all_inner_texts()
    assert icons == [str(i) for i in range(1, n + 1)]
    for i in range(n):
        text = items.nth(i).inner_text()
        assert re.search(r"近 测试路\d", text), text
        assert "服务" in text and "新增覆盖" in text and "作为拟建试算" in text
    screenshot(page, "planner-candidates-after")
    page.locator("#candidates li.gm-candidate .gm-cand-try").first.click()
    page.wait_for_selector("#whatif-result:not([hidden])", timeout=20000)
    assert page.evaluate("window.gmPlanner.added.length") == 1
    assert page.locator("#wi-delta").inner_text().startswith("+")
    assert page.gm_errors == [] and page.gm_failed == []


def test_gap_list_share_sorting_and_xlsx_export(browser_page, coverage_live_server) -> None:
    page = browser_page
    _open(page, coverage_live_server)
    page.select_option("#type", "primary_school")
    page.wait_for_function("() => [...document.querySelectorAll('#gaps tbody tr')].length > 1"
                           " && [...document.querySelectorAll('#gaps tbody tr')].every(r => r.dataset.type === 'primary_school')",
                           timeout=20000)
    shares = page.locator("#gaps tbody tr td:nth-child(2)").all_inner_texts()
    assert all(s.endswith("%") for s in shares), shares
    page.click('#gaps th[data-sort="unit_name"] button')
    names = page.locator("#gaps tbody tr td:first-child").all_inner_texts()
    page.click('#gaps th[data-sort="unit_name"] button')
    assert page.locator("#gaps tbody tr td:first-child").all_inner_texts() == names[::-1]
    page.click('#gaps th[data-sort="share"] button')
    vals = [float(s.rstrip("%")) for s in page.locator("#gaps tbody tr td:nth-child(2)").all_inner_texts()]
    assert vals == sorted(vals)
    assert page.locator('#gaps th[data-sort="share"]').get_attribute("aria-sort") == "ascending"
    with page.expect_download() as dl:
        page.click("#gaps-export")
    ws = load_workbook(io.BytesIO(open(dl.value.path(), "rb").read())).active
    assert ws["A1"].value == "单元" and ws.max_row == len(vals) + 1
    screenshot(page, "planner-gaps-sorted")


def test_reload_and_language_switch_keep_the_page_state(browser_page, coverage_live_server) -> None:
    page = browser_page
    _open(page, coverage_live_server)
    page.select_option("#type", "primary_school")
    page.select_option("#level", "community")
    page.select_option("#minutes", "10")
    page.evaluate("gm.map.setView([39.9075, 116.42], 16)")
    page.wait_for_timeout(400)
    page.click("#whatif-mode")
    x, y = _screen_point(page, BING)
    page.mouse.click(x, y)
    page.wait_for_selector("#whatif-units tbody tr", timeout=20000)
    url = page.url
    assert "type=primary_school" in url and "level=community" in url and "wi=" in url and "#map=16/" in url
    page.reload()
    page.wait_for_selector("#whatif-units tbody tr", timeout=20000)
    assert page.input_value("#type") == "primary_school"
    assert page.input_value("#level") == "community"
    assert page.input_value("#minutes") == "10"
    assert page.evaluate("gm.map.getZoom()") == 16
    assert page.evaluate("window.gmPlanner.added.length") == 1
    assert page.locator("#whatif-banner").is_visible()  # still in the mode
    assert "丙社区" in page.locator("#whatif-units").inner_text()
    with page.expect_navigation():
        page.click('button[data-lang="en"]')
    page.wait_for_selector("#whatif-units tbody tr", timeout=20000)
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.input_value("#type") == "primary_school" and page.input_value("#level") == "community"
    assert page.evaluate("gm.map.getZoom()") == 16
    assert "Click the map to place" in page.locator("#whatif-banner").inner_text()
    screenshot(page, "planner-state-after-language-switch")
    assert page.gm_errors == []


def test_print_stylesheet_has_title_legend_scale_date_attribution(browser_page, coverage_live_server) -> None:
    page = browser_page
    _open(page, coverage_live_server)
    page.emulate_media(media="print")
    page.evaluate("gm.map.invalidateSize()")
    page.wait_for_timeout(300)
    box = page.locator("#mapbox").bounding_box()
    assert box["y"] < page.locator("#planner-side").bounding_box()["y"]  # the map comes first
    assert page.locator(".gm-top").is_hidden()
    header = page.locator("#print-header")
    assert header.is_visible()
    text = header.inner_text()
    assert "15分钟生活圈规划" in text and "幼儿园 · 5分钟生活圈 · 步行300米" in text
    assert re.search(r"\d{4}", text)
    for sel in (".gm-legend", ".leaflet-control-scale", ".leaflet-control-attribution"):
        assert page.locator(sel).is_visible(), sel
    assert page.locator(".leaflet-control-layers").is_hidden()
    screenshot(page, "planner-print")
    page.pdf(path="test-output/screenshots/planner-print.pdf", landscape=True)
