"""The supervisor page's 新兴热点 layer in headless Chromium.

What a supervisor notices: the legend lists every class with its Chinese explanation and how
many grids fall in it, the planted surge shows as 连续热点 grids on the map, a click tells
the grid's class and why, the Gi* hotspot panel and the emerging-hot-spot panel state their
PAI and hit rate, no CSP violation.

Screenshots: test-output/screenshots/supervisor_ehsa.png, supervisor_ehsa_popup.png,
supervisor_ehsa_en.png
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.analysis.world import WEB_HOT, web_lattice
from tests.fixtures.web import WebDB, browser_login, screenshot, serve_app

pytest_plugins = ["tests.fixtures.web"]
pytestmark = [pytest.mark.browser]

_WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""


@pytest.fixture(scope="module")
def ehsa_server(shared_web_db: WebDB) -> Iterator[str]:
    web_lattice(shared_web_db.url, shared_web_db.ids)
    with serve_app(shared_web_db.url) as url:
        yield url


def test_emerging_hot_spots_on_the_supervisor_page(ehsa_server: str, browser_page: Any) -> None:
    page = browser_page
    page.add_init_script(_WATCH)
    browser_login(page, ehsa_server, "supervisor", next_path="/supervisor")
    page.wait_for_selector("#sup-ehsa[data-ready='1']", timeout=30_000)
    item = page.locator("#sup-ehsa-legend li[data-class='consecutive_hot']")
    assert "连续热点" in item.inner_text()
    assert int(item.locator(".sup-ehsa-n").inner_text()) >= len(WEB_HOT)
    assert "最近连续至少两期为显著热点" in item.inner_text()
    assert page.locator("#sup-ehsa-legend li").count() == 16  # every class but no pattern
    assert "104 个周" in page.inner_text("#sup-ehsa-status")
    # PAI and hit rate next to both hotspot maps
    gi = page.locator("#sup-pai")
    assert "PAI" in gi.inner_text() and float(gi.get_attribute("data-pai") or 0) > 1.5
    assert float(page.get_attribute("#sup-ehsa-pai", "data-pai") or 0) > 1.5
    # the layer: off by default, on with the checkbox
    assert page.locator("path.sup-ehsa-consecutive_hot").count() == 0
    page.check("#sup-show-ehsa")
    hot = page.locator("path.sup-ehsa-consecutive_hot")
    assert hot.count() >= len(WEB_HOT)
    screenshot(page, "supervisor_ehsa")
    hot.first.click(force=True)
    popup = page.locator(".sup-ehsa-popup")
    popup.wait_for(timeout=5_000)
    assert "连续热点" in popup.inner_text() and "110101001001" in popup.inner_text()
    screenshot(page, "supervisor_ehsa_popup")
    # monthly steps: 24 months, the legend redrawn
    page.select_option("#sup-ehsa-step", "month")
    page.wait_for_selector("#sup-ehsa[data-ready='1']", timeout=30_000)
    assert "24 个月" in page.inner_text("#sup-ehsa-status")
    assert page.evaluate("window.__csp") == []
    # English: the same legend in English
    with page.expect_navigation():
        page.click("button:has-text('English')")
    page.wait_for_selector("#sup-ehsa[data-ready='1']", timeout=30_000)
    item = page.locator("#sup-ehsa-legend li[data-class='consecutive_hot']")
    assert "Consecutive hot spot" in item.inner_text()
    assert "An unbroken run of at least two hot steps" in item.inner_text()
    assert "PAI" in page.inner_text("#sup-pai") and "caught" in page.inner_text("#sup-pai")
    screenshot(page, "supervisor_ehsa_en")
    assert page.gm_errors == []
