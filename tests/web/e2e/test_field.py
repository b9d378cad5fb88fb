"""Phone page /field end to end in headless Chromium at 390×844 with a fixed geolocation:

a grid worker reports with a photo while offline (kept in IndexedDB), comes back online;
the first delivery's answer is lost on the way back (the server has the case, the phone
does not know), the phone sends again and the server answers with the same case: one case,
one photo set. Then the case goes through the street centre and the unit by API (立案 →
派遣 to the proposed unit → 接单 → 处置 with an after-photo), the grid worker checks on site
from 我的任务 with an after-photo (核查通过 → closed) and the 受理员 records the evaluation.
A second test opens the page offline through its service worker.

Screenshots: test-output/screenshots/field_*.png
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from gridmap.db import make_engine
from tests.fixtures.field_world import E1, field_db, jpeg, staff_client
from tests.fixtures.org_world import PASSWORD
from tests.fixtures.web import browser_login, make_app, post_json, screenshot, serve_app

pytest_plugins = ["tests.fixtures.web"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2, "locale": "zh-CN",
         "geolocation": {"latitude": E1[1], "longitude": E1[0], "accuracy": 15},
         "permissions": ["geolocation"]}


@pytest.fixture
def field_server(fresh_db_url: str, tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """Live server on the field world: (base URL, database URL, data directory)."""
    field_db(fresh_db_url)
    data = tmp_path / "data"
    with serve_app(fresh_db_url, data_dir=str(data)) as url:
        yield url, fresh_db_url, data


def _rows(db_url: str, sql: str) -> list[Any]:
    eng = make_engine(db_url, poolclass=sa.pool.NullPool)
    with eng.connect() as conn:
        rows = list(conn.execute(sa.text(sql)))
    eng.dispose()
    return rows


def _phone(browser: Any, **extra: Any) -> tuple[Any, Any]:
    context = browser.new_context(**PHONE, **extra)
    page = context.new_page()
    page.gm_errors = []
    page.on("pageerror", lambda exc: page.gm_errors.append(str(exc)))
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(
        ("http://127.0.0.1", "blob:", "data:")) else r.abort())
    return context, page


def _api_steps(db_url: str, data: Path, iid: int) -> None:
    """立案 → 派遣 (proposed unit 东苑物业) → 接单 → 处置 with an after-photo, through the API."""
    app = make_app(db_url, data_dir=str(data))
    try:
        acc = staff_client(app, "ow_acceptor")
        assert post_json(acc, f"/api/dispatch/cases/{iid}/act", {"to": "filed"}).status_code == 200
        disp = staff_client(app, "ow_dispatch")
        case = disp.get(f"/api/dispatch/cases/{iid}").get_json()
        r = post_json(disp, f"/api/dispatch/cases/{iid}/act",
                      {"to": "dispatched", "unit_id": case["proposed_unit_id"]})
        assert r.status_code == 200, r.get_json()
        wy = staff_client(app, "ow_wy")
        assert post_json(wy, f"/api/dispatch/cases/{iid}/act", {"to": "handling"}
                         ).status_code == 200
        up = wy.post(f"/api/incidents/{iid}/photos", data={
            "stage": "after", "photos": [(io.BytesIO(jpeg((640, 480))), "done.jpg")]},
            content_type="multipart/form-data", headers={"X-CSRFToken": wy.csrf})  # type: ignore[attr-defined]
        assert up.status_code == 201
        assert post_json(wy, f"/api/dispatch/cases/{iid}/act", {"to": "handled"}
                         ).status_code == 200
    finally:
        app.extensions["gridmap.engine"].dispose()


def _report_offline(page: Any, context: Any, db_url: str) -> None:
    expect(page.locator("#fd-pos")).to_contain_text("15")
    page.wait_for_selector("#fd-category optgroup option[value='E0102']", state="attached")
    page.select_option("#fd-category", "E0102")
    page.fill("#fd-desc", "人行道上堆放建筑垃圾")
    page.set_input_files("#fd-photo", files=[
        {"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": jpeg((2400, 1800))}])
    page.wait_for_selector("#fd-previews img")
    context.set_offline(True)
    expect(page.locator("#fd-net")).to_have_text("离线")
    page.click("#fd-submit")
    expect(page.locator("#fd-status")).to_contain_text("联网后自动发送")
    expect(page.locator("#fd-queue")).to_have_text("1")
    screenshot(page, "field_offline_saved")
    assert _rows(db_url, "SELECT count(*) FROM incident")[0][0] == 0


def test_grid_worker_reports_offline_and_checks_on_site(browser: Any, field_server: Any
                                                        ) -> None:
    base, db_url, data = field_server
    context, page = _phone(browser, service_workers="block")
    try:
        browser_login(page, base, "ow_gw_e", PASSWORD, next_path="/field")
        assert page.url.split("#")[0].endswith("/field")
        screenshot(page, "field_report_form")
        _report_offline(page, context, db_url)

        lost: list[int] = []

        def lose_answer(route: Any) -> None:  # the server gets it, the phone never hears back
            route.fetch()
            lost.append(1)
            route.abort()

        page.route("**/api/field/reports", lose_answer)
        context.set_offline(False)
        expect(page.locator("#fd-net")).to_have_text("在线")
        for _ in range(50):
            if lost:
                break
            page.wait_for_timeout(100)
        assert lost and _rows(db_url, "SELECT count(*) FROM incident")[0][0] == 1
        page.unroute("**/api/field/reports")
        assert page.locator("#fd-queue").inner_text() == "1"  # still waiting on the phone
        page.evaluate("window.dispatchEvent(new Event('online'))")
        page.wait_for_selector("#fd-queue", state="hidden")
        rows = _rows(db_url, "SELECT id, client_id, state, reported_by IS NOT NULL,"
                             " (SELECT count(*) FROM incident_photo p WHERE p.incident_id = i.id)"
                             " FROM incident i")
        assert len(rows) == 1 and rows[0][2] == "reported" and rows[0][3] and rows[0][4] == 1
        iid = int(rows[0][0])
        width = _rows(db_url, "SELECT width FROM incident_photo")[0][0]
        assert width == 1600  # resized on the phone

        page.click("[data-tab=mine]")
        page.wait_for_selector("#fd-mine li h3")
        assert "信息收集" in page.locator("#fd-mine").inner_text()
        screenshot(page, "field_my_reports")

        _api_steps(db_url, data, iid)
        page.click("[data-tab=tasks]")
        card = page.locator(f"#fd-tasks li[data-case='{iid}'][data-task='check']")
        card.wait_for()
        card.locator(".fd-thumbs img").nth(1).wait_for()  # before + the unit's after photo
        card.locator("input[data-after]").set_input_files(files=[
            {"name": "after.jpg", "mimeType": "image/jpeg", "buffer": jpeg((1200, 900))}])
        screenshot(page, "field_task_check")
        card.locator("[data-act=closed]").click()
        card.locator(".fd-status").wait_for()
        state = _rows(db_url, "SELECT state FROM incident")[0][0]  # the only case
        assert state == "closed"
        stages = [r[0] for r in _rows(db_url, "SELECT stage FROM incident_photo ORDER BY id")]
        assert stages == ["before", "after", "after"]
        screenshot(page, "field_task_done")
        assert page.gm_errors == []
    finally:
        context.close()

    app = make_app(db_url, data_dir=str(data))
    try:
        acc = staff_client(app, "ow_acceptor")
        r = post_json(acc, f"/api/dispatch/cases/{iid}/act",
                      {"to": "evaluated", "satisfaction": 5, "solved": True})
        assert r.status_code == 200 and r.get_json()["state"] == "evaluated"
    finally:
        app.extensions["gridmap.engine"].dispose()


def test_the_page_opens_offline_from_its_service_worker(browser: Any, field_server: Any
                                                        ) -> None:
    base, _, _ = field_server
    context, page = _phone(browser)
    try:
        page.unroute("**/*")  # requests of a service worker bypass page routes
        browser_login(page, base, "ow_gw_e", PASSWORD, next_path="/field")
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.reload()
        assert page.evaluate("!!navigator.serviceWorker.controller")
        context.set_offline(True)
        page.reload()
        assert page.locator("h1").inner_text() == "现场上报"
        expect(page.locator("#fd-net")).to_have_text("离线")
        assert page.locator("#fd-map .leaflet-marker-icon, #fd-map.leaflet-container").count()
        screenshot(page, "field_offline_open")
    finally:
        context.close()
