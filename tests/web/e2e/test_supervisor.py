"""Supervisor page end to end in headless Chromium (Debian's chromium via Playwright):
renders its map with data, filters change what is shown, grid click shows numbers and
open cases, data strings are escaped, everything loads offline, planners are refused.

Screenshots: test-output/screenshots/supervisor_*.png
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from gridmap import incidents
from gridmap.db import make_engine
from tests.fixtures.web import XSS_NAME, WebDB, browser_login, screenshot

pytest_plugins = ["tests.fixtures.web"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]

# (lon, lat, category, urgency, description)
CASES = [
    (116.4050, 39.9050, "C0190", "normal", "路灯不亮"),
    (116.4052, 39.9052, "C0190", "urgent", "路灯倒伏"),
    (116.4048, 39.9049, "C0101", "normal", "井盖缺失"),
    (116.4150, 39.9080, "C0101", "urgent", XSS_NAME),
    (116.4300, 39.9100, "C0190", "normal", "第二街道的事件"),  # outside the supervisor's area
]


def seed_incidents(web_db: WebDB) -> None:
    """A few incidents; the XSS one dispatched 20 days ago so it is overdue."""
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    now = datetime.now(UTC)
    with eng.begin() as conn:
        for i, (lon, lat, cat, urg, desc) in enumerate(CASES):
            row = incidents.create(conn, {
                "category": cat, "lon": lon, "lat": lat, "urgency": urg, "description": desc,
                "reporter_name": "李四", "reporter_phone": "13900001111", "source": "patrol",
                "external_id": f"e2e-{i}", "reported_at": now - timedelta(days=21, hours=i),
            }, actor="e2e")
            if desc == XSS_NAME:
                for state in ("filed", "dispatched"):
                    incidents.transition(conn, row["id"], state, actor="e2e",
                                         at=now - timedelta(days=20))
    eng.dispose()


def open_page(page: Any, live_server: str) -> None:
    browser_login(page, live_server, "supervisor", next_path="/supervisor")
    assert page.url.split("#")[0].endswith("/supervisor")
    page.wait_for_selector("body[data-sup-ready='1']", timeout=20_000)


def pick(page: Any, name: str, values: list[str]) -> None:
    """Check exactly ``values`` in the checkbox dropdown ``name`` (清除 first)."""
    dd = page.locator(f"details.sup-dd[data-filter='{name}']")
    if not dd.evaluate("d => d.open"):
        dd.locator("summary").click()
    dd.locator(".sup-dd-none").click()
    for v in values:
        dd.locator(f"input[data-value='{v}']").check()
    dd.locator("summary").click()  # close it again


def total(page: Any) -> int:
    return int(page.get_attribute("#sup-count", "data-total"))


def test_supervisor_page_map_filters_popup_escaping_offline(
    browser_page: Any, live_server: str, web_db: WebDB
) -> None:
    seed_incidents(web_db)
    page = browser_page
    open_page(page, live_server)
    assert page.locator(".leaflet-container").count() == 1
    assert page.locator("path.sup-grid").count() == 2  # the supervisor's two grids
    assert total(page) == 4  # street 1 only
    assert "4" in page.text_content("#sup-count")
    # the heat is drawn above the grid choropleth (not dimmed by it) and lets clicks through
    assert page.locator(".leaflet-supHeat-pane canvas.leaflet-heatmap-layer").count() == 1
    assert page.evaluate("getComputedStyle(document.querySelector('.leaflet-supHeat-pane'))"
                         ".pointerEvents") == "none"
    screenshot(page, "supervisor_page")

    # filters change what is shown
    pick(page, "urgency", ["urgent"])
    page.wait_for_function("() => document.querySelector('#sup-count').dataset.total === '2'")
    pick(page, "urgency", [])
    pick(page, "category", ["C0101"])
    page.wait_for_function("() => document.querySelector('#sup-count').dataset.total === '2'")
    pick(page, "category", [])
    page.select_option("#sup-window", "24h")
    page.wait_for_function("() => document.querySelector('#sup-count').dataset.total === '0'")
    page.select_option("#sup-window", "30d")
    page.wait_for_function("() => document.querySelector('#sup-count').dataset.total === '4'")

    # overdue list: the XSS case, shown as literal text
    page.click("#sup-overdue-open")
    page.wait_for_selector("#sup-overdue-body tr")
    rows = page.locator("#sup-overdue-body tr")
    assert rows.count() == 1
    assert XSS_NAME in rows.first.text_content()
    page.click("#sup-drawer-close")

    # click a grid: its numbers and open cases, data escaped
    box = page.locator(".leaflet-container").bounding_box()
    pt = page.evaluate("() => window.GM_SUPERVISOR_MAP.latLngToContainerPoint([39.9085, 116.4155])")
    page.mouse.click(box["x"] + pt["x"], box["y"] + pt["y"])  # inside 乙社区's grid
    page.wait_for_selector(".sup-popup .sup-cases td", timeout=10_000)
    popup = page.locator(".sup-popup")
    assert "结案率" in popup.text_content() and "综合指标值" in popup.text_content()
    assert XSS_NAME in popup.text_content()
    assert "13900001111" in popup.text_content()  # own area: unmasked for the supervisor
    page.wait_for_function(  # let Leaflet's fade-in finish before the picture
        "() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'")
    screenshot(page, "supervisor_grid_popup")

    # playback steps through days
    page.click("#sup-next")
    page.wait_for_function("() => document.querySelector('#sup-step-label').textContent.length > 0")

    assert page.gm_dialogs == []  # no alert(1)
    assert page.locator("script:text('alert(1)')").count() == 0
    assert page.gm_failed == [], page.gm_failed  # every app asset and API call succeeded
    assert page.gm_errors == [], page.gm_errors
    assert page.gm_blocked == []  # nothing tried to reach the network


def test_planner_is_refused_the_supervisor_page(browser_page: Any, live_server: str) -> None:
    page = browser_page
    browser_login(page, live_server, "planner")
    resp = page.goto(f"{live_server}/supervisor")
    assert resp is not None and resp.status == 403
    assert page.locator(".leaflet-container").count() == 0
    api = page.request.get(f"{live_server}/api/aggregates/heat?bbox=116.39,39.89,116.45,39.92")
    assert api.status == 403
    screenshot(page, "supervisor_refused_planner")


def test_supervisor_confirms_a_near_boundary_location(browser_page: Any, live_server: str,
                                                      web_db: WebDB) -> None:
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        row = incidents.create(conn, {"category": "C0101", "lon": 116.41004, "lat": 39.9065,
                                      "description": "井盖松动（路中）", "source": "patrol",
                                      "reported_at": datetime.now(UTC) - timedelta(hours=2)},
                               actor="e2e")
    assert row["near_boundary"] and row["grid_code"] == "110101001002001"  # 乙社区
    page = browser_page
    open_page(page, live_server)
    page.wait_for_selector("#sup-confirm-body tr")
    before = int(page.text_content("#sup-confirm-total"))
    page.locator("#sup-confirm-body tr", has_text=row["case_no"]).click()
    page.wait_for_selector(".sup-confirm-btn >> nth=1")
    buttons = page.locator(".sup-confirm-btn")
    assert "110101001002001" in buttons.nth(0).text_content()  # current grid first
    assert "当前" in buttons.nth(0).text_content()
    page.wait_for_function(
        "() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'")
    screenshot(page, "supervisor_confirm_location")
    page.locator(".sup-confirm-btn", has_text="110101001001001").click()  # 甲社区's grid
    page.wait_for_selector(".sup-confirmed")
    page.wait_for_function(
        f"() => document.querySelector('#sup-confirm-total').textContent === '{before - 1}'")
    with eng.connect() as conn:
        got = conn.execute(sa.text(
            "SELECT g.grid_code, i.location_confirmed_by FROM incident i JOIN grid g "
            "ON g.id = i.grid_id WHERE i.id = :i"), {"i": row["id"]}).one()
    eng.dispose()
    assert tuple(got) == ("110101001001001", "supervisor")
    assert page.gm_failed == [], page.gm_failed
    assert page.gm_errors == [], page.gm_errors
