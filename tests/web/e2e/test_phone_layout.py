"""Every page on a phone (390×844) and a tablet in portrait (768×1024): the map is on
screen and fills it, the side panel is a drawer (closed at first, opened by its button,
closed by Esc), the header collapses to a menu. Admin pages fit the width (no sideways
scrolling of the page). No script error, nothing from a CDN.

Screenshots: test-output/screenshots/phone_<page>_<width>[_drawer].png
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.web import _local, browser_login, screenshot

pytest_plugins = ["tests.fixtures.web"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]

VIEWPORTS = ((390, 844), (768, 1024))
MAP_PAGES = (  # (role, path, panel, map container)
    ("planner", "/planner", ".gm-side", ".gm-mapbox"),
    ("supervisor", "/supervisor", ".sup-panel", ".sup-map"),
    ("officer", "/officer", ".off-panel", ".off-map"),
)
ADMIN_PAGES = ("/admin", "/admin/users", "/admin/audit", "/admin/imports", "/admin/catalogues",
               "/admin/settings", "/admin/org")


@pytest.fixture
def sized_page(browser: Any, request: Any) -> Iterator[Any]:
    width, height = request.param
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                  is_mobile=width < 500, has_touch=True)
    page = context.new_page()
    page.gm_errors = []
    page.gm_blocked = []

    def route(r: Any) -> None:
        if _local(r.request.url):
            r.continue_()
        else:
            page.gm_blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda exc: page.gm_errors.append(str(exc)))
    page.gm_size = (width, height)
    try:
        yield page
    finally:
        context.close()


def _box(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} not rendered"
    return box


def _inside(box: dict[str, float], w: int, h: int) -> bool:
    return (box["x"] >= -1 and box["y"] >= -1 and box["x"] + box["width"] <= w + 1
            and box["y"] + box["height"] <= h + 1)


@pytest.mark.parametrize("sized_page", VIEWPORTS, indirect=True, ids=["390", "768"])
@pytest.mark.parametrize(("role", "path", "panel", "mapbox"), MAP_PAGES,
                         ids=[p[0] for p in MAP_PAGES])
def test_map_page_fills_the_screen_with_a_drawer(sized_page: Any, live_server: str, role: str,
                                                 path: str, panel: str, mapbox: str) -> None:
    page = sized_page
    w, h = page.gm_size
    browser_login(page, live_server, role, next_path=path)
    page.wait_for_selector(f"{mapbox} .leaflet-container")
    box = _box(page, f"{mapbox} .leaflet-container")
    assert _inside(box, w, h), box
    assert box["width"] >= w - 2 and box["height"] >= h * 0.85, box  # the map fills the screen
    # the header is one row: brand and menu button; the nav is in the menu
    assert page.locator(".gm-top .gm-nav").is_hidden()
    assert page.locator("#gm-menu-btn").is_visible()
    # the panel is a closed drawer, its button over the map
    assert not page.locator(panel).first.is_visible()
    toggle = page.locator(f"button.gm-drawer-toggle[aria-controls='{page.locator(panel).first.get_attribute('id')}']")
    assert _inside(_box(page, f"button.gm-drawer-toggle[aria-controls='{page.locator(panel).first.get_attribute('id')}']"), w, h)
    name = path.strip("/")
    screenshot(page, f"phone_{name}_{w}")
    toggle.click()
    page.wait_for_function(f"() => document.querySelector('{panel}').getBoundingClientRect().left >= -1")
    drawer = _box(page, panel)
    assert _inside(drawer, w, h) and drawer["width"] >= min(w * 0.8, 300), drawer
    assert toggle.get_attribute("aria-expanded") == "true"
    screenshot(page, f"phone_{name}_{w}_drawer")
    page.keyboard.press("Escape")
    page.wait_for_function(f"() => getComputedStyle(document.querySelector('{panel}')).visibility === 'hidden'")
    page.click("#gm-menu-btn")
    assert page.locator(".gm-top .gm-nav").is_visible()
    assert page.locator(".gm-top .gm-right button[data-lang=en]").is_visible()
    page.keyboard.press("Escape")
    assert page.locator(".gm-top .gm-nav").is_hidden()
    assert page.gm_errors == [], page.gm_errors
    assert page.gm_blocked == [], page.gm_blocked


@pytest.mark.parametrize("sized_page", VIEWPORTS, indirect=True, ids=["390", "768"])
def test_admin_pages_fit_the_width(sized_page: Any, live_server: str) -> None:
    page = sized_page
    w, _h = page.gm_size
    browser_login(page, live_server, "admin")
    for path in ADMIN_PAGES:
        page.goto(f"{live_server}{path}")
        assert page.locator("h1").first.is_visible(), path
        overflow = page.evaluate("() => document.documentElement.scrollWidth")
        assert overflow <= w + 1, (path, overflow)
        h1 = _box(page, "h1")
        assert _inside(h1, w, 10_000), (path, h1)
        if path in ("/admin", "/admin/users"):
            screenshot(page, f"phone_{path.strip('/').replace('/', '_')}_{w}")
    assert page.gm_errors == [], page.gm_errors
