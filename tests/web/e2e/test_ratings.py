"""The star-rating page in headless Chromium, on the hand-made rating district (tests/ratings/).

What a street or district leader notices: committees coloured by stars (A 4★, unrated ones
white), a click opens the reasons (names from data shown as text, not markup), the
distribution chart and the target table draw, the ranking lists A first with its change, the
printable report opens for a street. No CSP violation.

Screenshots: test-output/screenshots/ratings_map.png, ratings_report.png
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.web import browser_login, screenshot, serve_app
from tests.ratings.web_world import seed
from tests.ratings.world import CODES

pytest_plugins = ["tests.fixtures.web"]
pytestmark = [pytest.mark.browser]

_WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""


@pytest.fixture(scope="module")
def ratings_server(pg_cluster: Any) -> Iterator[str]:
    from tests.conftest import TEMPLATE_DB

    url = pg_cluster.ensure_database(f"gridmap_re{os.getpid()}", template=TEMPLATE_DB)
    seed(url)
    with serve_app(url) as base:
        yield base


def test_star_map_distribution_ranking_and_report(browser_page: Any, ratings_server: str
                                                  ) -> None:
    page = browser_page
    page.add_init_script(_WATCH)
    browser_login(page, ratings_server, "admin")
    page.click("a[data-nav='ratings']")
    page.wait_for_selector("#rt[data-state='ready']", timeout=20_000)
    page.wait_for_selector(".rt-map .leaflet-overlay-pane path", timeout=20_000)
    fills = page.eval_on_selector_all(".rt-map .leaflet-overlay-pane path",
                                      "ps => ps.map(p => p.getAttribute('fill'))")
    assert len(fills) == 3 and "#73d13d" in fills  # A: 4★ green
    rows = page.locator("#rt-rank-table tbody tr")
    assert rows.first.get_attribute("data-code") == CODES["A"]
    assert "★★★★☆" in rows.first.inner_text()
    assert page.locator("#rt-chart canvas").count() >= 1
    dist = page.inner_text("#rt-dist-table")
    assert "全区" in dist and "✗" in dist  # no 5★: the 10 % target is missed
    # B's name holds markup: it shows as text in the ranking and the popup
    page.click(f"#rt-rank-table tbody tr[data-code='{CODES['B']}']")
    popup = page.wait_for_selector(".leaflet-popup-content .rt-popup", timeout=10_000)
    assert "<img src=x>B居委会" in popup.inner_text()
    assert "违法搭建" in popup.inner_text()
    assert page.locator(".leaflet-popup-content img").count() == 0
    screenshot(page, "ratings_map")

    # A is confirmed: the cases behind its values, recomputed from what it froze
    page.click(f"#rt-rank-table tbody tr[data-code='{CODES['A']}']")
    page.wait_for_selector("#rt-audit:not([hidden])")
    assert "台账齐全" in page.inner_text("#rt-detail-table")  # who entered what, and why
    page.click("#rt-audit")
    page.wait_for_selector("#rt-audit-box li")
    audit = page.inner_text("#rt-audit-box")
    assert "一致" in audit and "A-0" in audit
    # C is a draft: a rater enters 规范度 with its evidence
    page.click(f"#rt-rank-table tbody tr[data-code='{CODES['C']}']")
    page.select_option("#rt-enter-criterion", "conduct")
    page.fill("#rt-enter-value", "88")
    page.fill("#rt-enter-evidence", "抽查台账")
    page.click("#rt-enter-form button[type='submit']")
    page.wait_for_selector("#rt-msg:not([hidden])")
    assert page.inner_text("#rt-msg") == "已保存"
    items = page.evaluate("fetch('/api/ratings/table?year=2026&round=acceptance')"
                          ".then(r => r.json()).then(b => b.items)")
    c = next(i for i in items if i["code"] == CODES["C"])
    assert c["criteria"]["conduct"]["entry"]["evidence"] == "抽查台账"
    assert page.evaluate("window.__csp") == []
    assert not page.gm_errors

    page.select_option("#rt-street", "319801001")
    page.wait_for_selector("#rt[data-state='ready']", timeout=20_000)
    href = page.get_attribute("#rt-report", "href")
    assert href and "street=319801001" in href
    page.goto(ratings_server + href)
    assert "甲街道" in page.inner_text("h1")
    page.emulate_media(media="print")
    assert not page.is_visible("#rt-print") and not page.is_visible(".gm-top")
    screenshot(page, "ratings_report")
