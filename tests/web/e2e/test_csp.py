"""Issue #12 (5): the strict Content-Security-Policy in headless Chromium.

Every page (login, home, planner, supervisor, officer, an error page) loads with no CSP
violation (console and ``securitypolicyviolation`` events), its inline scripts run (they
carry the nonce: the map renders, the page scripts start), and a script injected without
the nonce, or an ``onerror=`` attribute, does not run.

Screenshots: test-output/screenshots/csp_*.png
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.web import WebDB, browser_login, make_app, screenshot
from web.errors import is_api_path

pytest_plugins = ["tests.fixtures.web"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]

_WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""

# path, a selector that only appears once the page's scripts ran, whether it has a map
PAGES = [
    ("/planner", ".leaflet-overlay-pane path", True),
    ("/supervisor", "body[data-sup-ready='1']", True),
    ("/officer", "#off-versions li", True),
    ("/no-such-page", "h1", False),
]


def _watch(page: Any) -> list[str]:
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.add_init_script(_WATCH)
    return console


def _violations(page: Any, console: list[str]) -> list[str]:
    return console + list(page.evaluate("window.__csp || []"))


def test_login_page_has_no_csp_violation(browser_page: Any, live_server: str) -> None:
    page = browser_page
    console = _watch(page)
    resp = page.goto(f"{live_server}/login")
    assert "'unsafe-inline'" not in resp.headers["content-security-policy"].split(
        "script-src")[1].split(";")[0]
    assert page.evaluate("typeof window.GM_I18N") == "object"  # the nonced inline script ran
    screenshot(page, "csp_login")
    assert _violations(page, console) == []


def test_every_page_renders_under_the_csp(browser_page: Any, live_server: str) -> None:
    page = browser_page
    console = _watch(page)
    browser_login(page, live_server, "admin")
    for path, ready, has_map in PAGES:
        page.goto(f"{live_server}{path}")
        page.wait_for_selector(ready, timeout=20_000)
        if has_map:
            assert page.locator(".leaflet-container").count() == 1
            assert page.evaluate("typeof window.gm === 'object' && !!window.gm.map")
        name = path.strip("/").replace("-", "_") or "home"
        screenshot(page, f"csp_{name}")
        assert _violations(page, console) == [], path
    assert page.gm_errors == []


def _page_paths(url: str) -> list[str]:
    """Every page of the app: GET routes without arguments, outside the JSON APIs."""
    app = make_app(url)
    try:
        paths = sorted({r.rule for r in app.url_map.iter_rules()
                        if "GET" in (r.methods or ()) and not r.arguments
                        and not is_api_path(r.rule) and r.endpoint != "static"
                        and "." not in r.rule.rsplit("/", 1)[-1]})  # no files (sw.js, icons)
    finally:
        app.extensions["gridmap.engine"].dispose()
    return paths


def test_every_registered_page_has_no_csp_violation(browser_page: Any, live_server: str,
                                                     web_db: WebDB) -> None:
    """Pages added later (by any blueprint) are covered too: found from the URL map."""
    page = browser_page
    console = _watch(page)
    browser_login(page, live_server, "admin")
    paths = _page_paths(web_db.url)
    assert {"/login", "/planner", "/supervisor", "/officer"} <= set(paths)
    for path in paths:
        page.goto(f"{live_server}{path}")
        page.wait_for_load_state("networkidle")
        assert _violations(page, console) == [], path


def test_injected_scripts_do_not_run(browser_page: Any, live_server: str) -> None:
    page = browser_page
    _watch(page)
    browser_login(page, live_server, "admin")
    page.goto(f"{live_server}/supervisor")
    page.wait_for_selector("body[data-sup-ready='1']", timeout=20_000)
    page.evaluate("""() => {
        const s = document.createElement('script');
        s.textContent = 'window.__pwned = 1';
        document.body.appendChild(s);
        const d = document.createElement('div');
        d.innerHTML = '<img src="data:," onerror="window.__pwned2 = 1">';
        document.body.appendChild(d);
    }""")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("window.__pwned2") is None
    blocked = page.evaluate("window.__csp")
    assert any(v.startswith("script-src") for v in blocked), blocked
