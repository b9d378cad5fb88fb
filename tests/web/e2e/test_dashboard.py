"""The district dashboard (一屏观天下) in headless Chromium at 1920×1080 and 1366×768.

What a leader notices: the KPI tiles show the API's numbers, charts and the map draw,
clicking a street on the map narrows everything to it and the breadcrumb leads back, an
urgent case links to its page, nothing overflows a laptop screen, no CSP violation.

Screenshots: test-output/screenshots/dashboard_1920.png, dashboard_street.png,
dashboard_1366.png
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from gridmap.db import make_engine
from tests.dashboard.web_cases import add_cases
from tests.fixtures.web import WebDB, browser_login, screenshot, serve_app

pytest_plugins = ["tests.fixtures.web"]
pytestmark = [pytest.mark.browser]

_WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""
KPIS = ("open", "overdue", "close_rate", "on_time_rate", "grid_rate", "satisfaction_rate")


@pytest.fixture(scope="module")
def dash_server(shared_web_db: WebDB) -> Iterator[str]:
    eng = make_engine(shared_web_db.url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        add_cases(conn)
    eng.dispose()
    with serve_app(shared_web_db.url, dashboard_cache_seconds=0) as url:
        yield url


def _ready(page: Any, area: str = "") -> dict[str, Any]:
    page.wait_for_selector(f"#dash[data-state='ready'][data-area='{area}']", timeout=20_000)
    page.wait_for_selector(".dash-map .leaflet-overlay-pane path", timeout=20_000)
    api: dict[str, Any] = page.evaluate(
        "a => fetch('/api/dashboard/summary' + (a ? '?area=' + a : '')).then(r => r.json())", area)
    return api


def _shown(page: Any) -> dict[str, str]:
    return {k: page.inner_text(f"#kpi-{k}") for k in KPIS}


def _expected(k: dict[str, Any]) -> dict[str, str]:
    def rate(v: float | None) -> str:
        return "–" if v is None else f"{v:.1f}%"
    return {"open": f"{k['open']:,}", "overdue": f"{k['overdue']:,}",
            **{r: rate(k[r]) for r in KPIS[2:]}}


def test_dashboard_large_screen_drill_down_and_laptop(browser_page: Any, dash_server: str
                                                      ) -> None:
    page = browser_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.add_init_script(_WATCH)
    browser_login(page, dash_server, "admin")
    page.click("a[data-nav='dashboard']")
    api = _ready(page)
    assert _shown(page) == _expected(api["kpis"])
    assert api["kpis"]["open"] == 4
    assert page.locator("#chart-trend canvas").count() >= 1
    assert page.locator("#chart-children canvas").count() >= 1
    assert page.locator("#dash-urgent li a").count() == len(api["urgent"]) == 4
    href = page.get_attribute("#dash-urgent li a", "href")
    assert href == f"/cases/{api['urgent'][0]['id']}"
    screenshot(page, "dashboard_1920")

    # click street 1 on the map: everything narrows to it
    page.locator(".dash-map .leaflet-overlay-pane path").first.dispatch_event("click")
    street = _ready(page, "110101001")
    assert street["kpis"]["open"] == 3 < api["kpis"]["open"]
    assert _shown(page) == _expected(street["kpis"])
    assert "110101001" in page.url
    assert page.inner_text("#dash-area-name").endswith("测试街道")
    assert page.locator("#dash-urgent li").count() == 2
    page.wait_for_selector(".dash-map .leaflet-overlay-pane path >> nth=1")
    screenshot(page, "dashboard_street")

    # breadcrumb back to the district
    page.click("#dash-crumbs button[data-area='']")
    back = _ready(page)
    assert _shown(page) == _expected(back["kpis"])

    # a 1366×768 laptop: one screen, nothing cut off sideways
    page.set_viewport_size({"width": 1366, "height": 768})
    page.reload()
    _ready(page)
    page.wait_for_timeout(300)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    for sel in (".dash-kpis", ".dash-urgent", ".dash-rank", ".dash-trend"):
        box = page.locator(sel).bounding_box()
        assert box["y"] + box["height"] <= 768 + 1, sel
    assert _shown(page) == _expected(back["kpis"])
    screenshot(page, "dashboard_1366")

    assert page.evaluate("window.__csp") == []
    assert page.gm_errors == []
    assert page.gm_failed == []
