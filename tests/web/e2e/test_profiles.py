"""End to end in headless Chromium: the planner's capacity (2SFCA) layer with its legend
and the community link, and the profile page on screen and in print. Screenshots in
test-output/screenshots/ (planner_fca*.png, profile_*.png)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from gridmap.db import make_engine
from tests.fixtures.web import browser_login, screenshot, serve_app

pytest_plugins = ["tests.fixtures.web"]
pytestmark = pytest.mark.browser

JIA = "110101001001"


@pytest.fixture(scope="module")
def fca_server(coverage_web_db: Any) -> Iterator[str]:
    eng = make_engine(coverage_web_db.url, poolclass=sa.pool.NullPool)
    with eng.begin() as c:
        c.execute(sa.text("UPDATE facility SET capacity = 20 WHERE name = '甲幼儿园'"))
    eng.dispose()
    with serve_app(coverage_web_db.url) as url:
        yield url


def test_planner_capacity_layer_and_profile_page(browser_page: Any, fca_server: str) -> None:
    page = browser_page
    browser_login(page, fca_server, "planner")
    page.goto(f"{fca_server}/planner?level=community")
    page.wait_for_selector(".leaflet-overlay-pane path", timeout=20000)
    page.select_option("#fca-type", "kindergarten")
    page.wait_for_function(
        "() => window.gmPlannerFca && window.gmPlannerFca.layer.getLayers().length >= 3",
        timeout=30000)
    legend = page.locator(".gm-legend", has_text="每千名3-6岁儿童学位")
    assert legend.is_visible() and "参考值 900" in legend.inner_text()
    screenshot(page, "planner_fca")
    href = page.evaluate("""(code) => {
        const l = window.gmPlannerFca.layer.getLayers().find(x => x.feature.properties.code === code);
        l.openPopup();
        const a = document.querySelector('.leaflet-popup-content a.gm-profile-link');
        return [a.getAttribute('href'), document.querySelector('.leaflet-popup-content').textContent];
    }""", JIA)
    assert href[0] == f"/profiles/{JIA}" and "服务人口" in href[1]
    page.select_option("#fca-decay", "gaussian")
    page.wait_for_timeout(1500)
    screenshot(page, "planner_fca_gaussian")
    assert page.gm_errors == [] and page.gm_blocked == []

    page.click(".leaflet-popup-content a.gm-profile-link") if page.locator(
        ".leaflet-popup-content a.gm-profile-link").count() else page.goto(
        f"{fca_server}/profiles/{JIA}")
    page.wait_for_selector("#gm-services table.gm-types")
    assert page.url.endswith(f"/profiles/{JIA}")
    text = page.locator("article.gm-profile").inner_text()
    assert "甲社区 · 社区画像" in text and "未评" in text and "候选点位" in text
    assert page.locator("#profile-print").is_visible()
    screenshot(page, "profile_community")
    page.emulate_media(media="print")
    assert not page.locator(".gm-top").is_visible()
    assert not page.locator("#profile-print").is_visible()
    screenshot(page, "profile_print")
    page.emulate_media(media="screen")
    page.click("#profile-street")
    page.wait_for_selector("article.gm-profile")
    assert "测试街道 · 街道画像" in page.locator("article.gm-profile").inner_text()
    screenshot(page, "profile_street")
    # (a favicon request cut short by the navigation is no failure)
    assert page.gm_errors == [] and page.gm_blocked == []
    assert [f for f in page.gm_failed if "favicon" not in f] == []
