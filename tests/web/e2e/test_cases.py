"""The case workspace end to end in headless Chromium on the hand-made street
(:mod:`tests.fixtures.case_web`): the list searches by address and follows it on the map,
the 城管 handler accepts a case by button from 我的待办 (a stale click gives a Chinese
message), the header counts, 三张清单 shows the case in the right list; no script error, no
CSP violation, nothing from a CDN.

Screenshots: test-output/screenshots/cases_*.png
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.case_web import CaseWorld, build_case_world
from tests.fixtures.org_world import PASSWORD
from tests.fixtures.web import browser_login, screenshot, serve_app

pytest_plugins = ["tests.fixtures.web"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]
_WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""


@pytest.fixture
def site(fresh_db_url: str) -> Iterator[tuple[str, CaseWorld]]:
    w = build_case_world(fresh_db_url)
    with serve_app(fresh_db_url) as url:
        yield url, w


def _clean(page: Any) -> None:
    assert page.evaluate("window.__csp") == []
    assert page.gm_errors == [] and page.gm_blocked == []


def test_list_search_map_and_export(browser_page: Any, site: tuple[str, CaseWorld]) -> None:
    url, w = site
    page = browser_page
    page.add_init_script(_WATCH_CSP)
    browser_login(page, url, "sup_all", PASSWORD, next_path="/cases")
    page.wait_for_selector("#cs-body tr[data-id]")
    page.wait_for_selector("#cs-total:text-is('共 3 件')")
    page.fill("input[name=q]", "和平路")
    page.click("#cs-apply")
    page.wait_for_selector("#cs-total:text-is('共 2 件')")
    assert "q=" in page.url
    page.wait_for_selector(".marker-cluster, path.leaflet-interactive")
    screenshot(page, "cases_list")
    with page.expect_download() as dl:
        page.click("#cs-export")
    assert dl.value.suggested_filename == "cases.xlsx"
    page.click(f"#cs-body tr[data-id='{w.cases['leak']}']")
    page.wait_for_selector("#cs-fields dd")
    assert "楼道漏水严重" in page.text_content("#cs-fields")
    assert "13900001111" in page.text_content("#cs-fields")     # the area's supervisor
    _clean(page)


def test_handler_accepts_from_the_worklist(browser_page: Any, site: tuple[str, CaseWorld],
                                           browser: Any) -> None:
    url, w = site
    page = browser_page
    page.add_init_script(_WATCH_CSP)
    browser_login(page, url, "ow_cg", PASSWORD, next_path="/cases/todo")
    page.wait_for_selector("#cs-body tr")
    assert page.text_content("#gm-todo-count") == "1"
    assert "和平路88号" in page.text_content("#cs-body")
    screenshot(page, "cases_todo")
    page.click("#cs-body tr")
    page.wait_for_selector("#cs-actions button[data-to=handling]")
    assert "13900001111" not in page.text_content("#cs-fields")
    # someone else changes the case meanwhile: the click is stale
    other = browser.new_context()
    op = other.new_page()
    browser_login(op, url, "ow_cg", PASSWORD)
    token = op.eval_on_selector("meta[name=csrf-token]", "e => e.content")
    r = op.request.post(f"{url}/api/cases/{w.cases['wall']}/comments",
                        data={"body": "x"}, headers={"X-CSRFToken": token})
    assert r.ok
    r = op.request.post(f"{url}/api/cases/{w.cases['wall']}/act",
                        data={"to": "returned", "note": "不归我们"}, headers={"X-CSRFToken": token})
    assert r.ok
    other.close()
    page.click("#cs-actions button[data-to=handling]")
    page.click("#cs-act-ok")
    page.wait_for_selector("#cs-error:not([hidden])")
    assert "已被他人" in page.text_content("#cs-error")
    page.wait_for_selector("#cs-actions .cs-note")              # reloaded: nothing to do now
    assert "回退" in page.text_content("#cs-timeline")
    screenshot(page, "cases_stale")
    _clean(page)


def test_dispatch_by_button_and_three_lists(browser_page: Any, site: tuple[str, CaseWorld]
                                            ) -> None:
    url, w = site
    page = browser_page
    page.add_init_script(_WATCH_CSP)
    browser_login(page, url, "ow_lead", PASSWORD, next_path=f"/cases/{w.cases['leak']}")
    page.wait_for_selector("#cs-actions button[data-to=filed]")
    page.click("#cs-actions button[data-to=filed]")
    page.click("#cs-act-ok")
    page.wait_for_selector("#cs-actions button[data-to=dispatched]")
    page.click("#cs-actions button[data-to=dispatched]")
    selected = page.eval_on_selector("select[name=unit_id]",
                                     "s => s.options[s.selectedIndex].textContent")
    assert "规则推荐" in selected
    screenshot(page, "cases_dispatch")
    page.click("#cs-act-ok")
    page.wait_for_selector("#cs-ok:text-is('已办理：派遣')")
    page.wait_for_selector("#cs-title:has-text('派遣')")
    assert "立案 → 派遣" in page.text_content("#cs-timeline")
    page.fill("#cs-comment-form textarea", "<b>请尽快</b>")
    page.click("#cs-comment-form button")
    page.wait_for_selector("#cs-comments li")
    assert "<b>请尽快</b>" in page.text_content("#cs-comments")
    screenshot(page, "cases_case")
    page.goto(f"{url}/cases/lists?community={w.communities['E']}")
    page.wait_for_selector("#cs-open tr")
    assert "和平路12号" in page.text_content("#cs-open")
    page.fill("#cs-service-form input[name=name]", "助老食堂")
    page.click("#cs-service-form button")
    page.wait_for_selector("#cs-own td:text-is('助老食堂')")
    screenshot(page, "cases_lists")
    _clean(page)


def test_supervisor_overdue_row_opens_the_case(browser_page: Any, site: tuple[str, CaseWorld]
                                               ) -> None:
    url, w = site
    page = browser_page
    page.add_init_script(_WATCH_CSP)
    browser_login(page, url, "sup_all", PASSWORD, next_path="/supervisor")
    page.wait_for_selector("#sup-overdue-body a.sup-case-link", state="attached")
    screenshot(page, "cases_supervisor_link")
    href = page.get_attribute("#sup-overdue-body a.sup-case-link", "href")
    assert href == f"/cases/{w.cases['wall']}"
    page.goto(url + href)   # the overdue table may sit in a closed drawer
    page.wait_for_url(f"**/cases/{w.cases['wall']}**")
    page.wait_for_selector("#cs-fields dd")
    assert "和平路88号" in page.text_content("#cs-fields")
    _clean(page)


def test_the_workspace_on_a_phone(browser: Any, site: tuple[str, CaseWorld]) -> None:
    """390×844: the case list is a drawer over a full-size map (open at first, the map one
    tap away); the case page shows its steps first and the map below; 三张清单 fits."""
    url, w = site
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        browser_login(page, url, "sup_all", PASSWORD, next_path="/cases")
        page.wait_for_selector("#cs-body tr[data-id]")
        panel = page.locator(".cs-panel.gm-drawer")
        assert "gm-drawer-open" in (panel.get_attribute("class") or "")
        assert page.locator("#cs-body tr[data-id]").first.is_visible()
        screenshot(page, "cases_phone_list")
        page.locator(".gm-drawer-close").click()
        page.wait_for_function("!document.querySelector('.cs-panel').classList.contains('gm-drawer-open')")
        box = page.locator(".cs-map .folium-map").bounding_box()
        assert box is not None and box["width"] >= 380 and box["height"] > 500
        screenshot(page, "cases_phone_map")
        page.goto(f"{url}/cases/{w.cases['leak']}")
        page.wait_for_selector("#cs-fields dd")
        actions = page.locator("#cs-actions").bounding_box()
        assert actions is not None and actions["y"] < 844 and actions["width"] <= 390
        assert page.evaluate("document.documentElement.scrollWidth") <= 392
        screenshot(page, "cases_phone_case")
        page.goto(f"{url}/cases/lists")
        page.wait_for_selector("#cs-open tr")
        assert page.evaluate("document.documentElement.scrollWidth") <= 392
        screenshot(page, "cases_phone_lists")
        assert errors == []
    finally:
        context.close()
