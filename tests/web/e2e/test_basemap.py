"""Our own basemap on the supervisor and officer maps at zoom 17–18 (headless Chromium):
roads, buildings and names drawn from our data, no console error or CSP violation, the
favicon loads, a metric scale bar only, the language switch keeps the map view (hash),
and error pages render in the app's layout.

Screenshots: test-output/screenshots/basemap_*.png (``*_before``: the same view with the
basemap's requests blocked, as the pages looked without it).
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from gridmap.db import make_engine
from tests.fixtures.web import WebDB, browser_login, screenshot, seed_network

pytest_plugins = ["tests.fixtures.web"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]

_WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""
VIEW = "map=17/39.90550/116.40450"


@pytest.fixture
def roads(web_db: WebDB) -> WebDB:
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        seed_network(conn)
    eng.dispose()
    return web_db


def _watch(page: Any) -> list[str]:
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}")
            if m.type == "error" or "Content Security Policy" in m.text else None)
    page.add_init_script(_WATCH)
    return console


def _basemap_drawn(page: Any) -> None:
    page.wait_for_selector(".leaflet-gmBase-pane canvas", state="attached")
    page.wait_for_selector(".gm-base-label-road", state="attached")
    page.wait_for_load_state("networkidle")


def _scale_is_metric(page: Any) -> None:
    lines = page.locator(".leaflet-control-scale-line")
    assert lines.count() == 1
    text = lines.first.text_content()
    assert text.endswith(" m") or text.endswith(" km"), text
    assert "ft" not in page.text_content(".leaflet-control-scale")


def _no_errors(page: Any, console: list[str]) -> None:
    assert console == [], console
    assert page.evaluate("window.__csp") == []
    assert page.gm_errors == [], page.gm_errors
    # a favicon still loading when the test navigates away is cancelled, not failed
    failed = [f for f in page.gm_failed if not (f.startswith("net::ERR_ABORTED")
                                                 and f.endswith("/favicon.svg"))]
    assert failed == [], failed


def test_supervisor_map_has_roads_buildings_and_names(browser_page: Any, live_server: str,
                                                      roads: WebDB) -> None:
    page = browser_page
    console = _watch(page)
    browser_login(page, live_server, "supervisor", next_path="/supervisor")
    # before: the same view without our basemap (its requests blocked)
    page.route("**/api/tiles/base/**", lambda r: r.abort())
    page.goto("about:blank")  # a real load, not a hash change of the same document
    page.goto(f"{live_server}/supervisor#{VIEW}")
    page.wait_for_selector("body[data-sup-ready='1']")
    page.wait_for_timeout(500)
    screenshot(page, "basemap_supervisor_z17_before")
    page.unroute("**/api/tiles/base/**")
    page.gm_failed.clear()
    page.gm_errors.clear()  # the blocked tile fetches
    console.clear()

    page.goto("about:blank")
    page.goto(f"{live_server}/supervisor#{VIEW}")
    page.wait_for_selector("body[data-sup-ready='1']")
    _basemap_drawn(page)
    assert page.evaluate("gm.map.getZoom()") == 17
    names = page.locator(".gm-base-label").all_text_contents()
    assert "甲小区" in names and any(n.startswith("测试路") for n in names), names
    # the canvas tiles are not blank: some pixels are drawn (roads/buildings)
    drawn = page.evaluate("""() => [...document.querySelectorAll('.leaflet-gmBase-pane canvas')]
        .some(c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                     for (let i = 3; i < d.length; i += 4) if (d[i] > 0) return true; return false; })""")
    assert drawn
    _scale_is_metric(page)
    favicon = page.evaluate("""async () => (await fetch(
        document.querySelector('link[rel=icon]').href)).status""")
    assert favicon == 200
    screenshot(page, "basemap_supervisor_z17")
    _no_errors(page, console)

    # the language switch keeps the view (hash) and the query string
    page.evaluate("gm.map.setView([39.9060, 116.4050], 18, {animate: false})")
    page.wait_for_function("location.hash.includes('map=18/')")
    page.click("button[data-lang='en']")
    page.wait_for_selector("button.active[data-lang='en']")
    page.wait_for_selector("body[data-sup-ready='1']")
    assert "#map=18/39.906" in page.url
    assert page.evaluate("gm.map.getZoom()") == 18
    _basemap_drawn(page)
    screenshot(page, "basemap_supervisor_z18_en")
    # requests of the old page cancelled by the navigation are no failure
    page.gm_failed[:] = [f for f in page.gm_failed if not f.startswith("net::ERR_ABORTED")]
    _no_errors(page, console)


def test_officer_map_at_zoom_18(browser_page: Any, live_server: str, roads: WebDB) -> None:
    page = browser_page
    console = _watch(page)
    browser_login(page, live_server, "officer", next_path="/officer")
    page.goto("about:blank")
    page.goto(f"{live_server}/officer#map=18/39.90600/116.40500")
    _basemap_drawn(page)
    assert page.evaluate("gm.map.getZoom()") == 18
    names = page.locator(".gm-base-label").all_text_contents()
    assert "甲小区" in names and any(n.startswith("测试路") for n in names), names
    _scale_is_metric(page)
    screenshot(page, "basemap_officer_z18")
    _no_errors(page, console)


def test_error_page_in_the_layout(browser_page: Any, live_server: str, web_db: WebDB) -> None:
    page = browser_page
    console = _watch(page)
    browser_login(page, live_server, "officer", next_path="/officer")
    resp = page.goto(f"{live_server}/no-such-page")
    assert resp.status == 404
    assert page.text_content("h1") == "页面不存在"
    assert page.locator("header.gm-top nav a").count() >= 1
    screenshot(page, "basemap_error_404")
    page.gm_failed.clear()  # the 404 itself
    assert page.evaluate("window.__csp") == []
    assert [c for c in console if "404" not in c] == []
