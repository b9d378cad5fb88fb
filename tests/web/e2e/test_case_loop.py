"""The whole case loop of issue #14 through the pages, in headless Chromium, one person per
browser context:

grid worker on a phone (390×844) reports with a photo while offline → back online, the
report arrives once → 受理员 files it from the case list and the case page → 派遣员
dispatches to the proposed unit on the case page → the unit's handler (东苑物业) accepts and
handles with an after-photo from 我的待办 → the grid worker checks on site from the phone
(核查通过 with an after-photo, tapped without a network: it waits on the phone and is
sent once when the network returns) → closed → the 受理员 records the evaluation. The 三张清单
page shows the case in 问题清单 until it is closed and in 解决清单 afterwards (asserted at
each step); the supervisor's overdue table opens the case page.

Screenshots: test-output/screenshots/loop_*.png
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from gridmap.db import make_engine
from tests.fixtures.field_world import field_db, jpeg
from tests.fixtures.org_world import PASSWORD
from tests.fixtures.web import browser_login, screenshot, serve_app
from tests.web.e2e.test_field import _phone, _report_offline, _rows

pytest_plugins = ["tests.fixtures.web"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def loop_server(fresh_db_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Live server on the field world: (base URL, database URL)."""
    field_db(fresh_db_url)
    with serve_app(fresh_db_url, data_dir=str(tmp_path / "data")) as url:
        yield url, fresh_db_url


class Desk:
    """One staff member at a desk: a logged-in desktop browser context."""

    def __init__(self, browser: Any, base: str, username: str, path: str) -> None:
        self.base = base
        self.context = browser.new_context(viewport={"width": 1400, "height": 900},
                                           locale="zh-CN")
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(
            ("http://127.0.0.1", "blob:", "data:")) else r.abort())
        browser_login(self.page, base, username, PASSWORD, next_path=path)

    def open(self, path: str) -> Any:
        self.page.goto(self.base + path)
        return self.page

    def act(self, iid: int, to: str, *, photo: bytes | None = None, shot: str = "") -> None:
        """Take step ``to`` on the case page by its button and the form it opens."""
        page = self.open(f"/cases/{iid}") if not self.page.url.endswith(f"/cases/{iid}") \
            else self.page
        expect(page.locator("#cs-act-form")).to_be_hidden()
        page.locator(f"#cs-actions button[data-to={to}]").click()
        expect(page.locator("#cs-act-form")).to_be_visible()
        if photo is not None:
            page.locator("#cs-act-form input[name=photo]").set_input_files(files=[
                {"name": "after.jpg", "mimeType": "image/jpeg", "buffer": photo}])
        if shot:
            screenshot(page, shot)
        page.click("#cs-act-ok")
        expect(page.locator("#cs-ok")).to_be_visible()
        expect(page.locator("#cs-error")).to_be_hidden()
        expect(page.locator("#cs-act-form")).to_be_hidden()   # done: the form closes


def _state(db_url: str, iid: int) -> str:
    eng = make_engine(db_url, poolclass=sa.pool.NullPool)
    with eng.connect() as conn:
        state = conn.execute(sa.text("SELECT state FROM incident WHERE id = :id"),
                             {"id": iid}).scalar_one()
    eng.dispose()
    return str(state)


def _lists(desk: Desk, community: int, case_no: str, where: str, shot: str) -> None:
    """三张清单 shows ``case_no`` in 问题清单 (``open``) or 解决清单 (``solved``) only."""
    page = desk.open(f"/cases/lists?community={community}")
    inside, outside = ("#cs-open", "#cs-solved-body") if where == "open" else (
        "#cs-solved-body", "#cs-open")
    expect(page.locator(inside)).to_contain_text(case_no)
    expect(page.locator(outside)).not_to_contain_text(case_no)
    screenshot(page, shot)


def _report(browser: Any, base: str, db_url: str) -> tuple[Any, Any, int]:
    """The grid worker's offline report, sent once when the phone is back online."""
    phone, page = _phone(browser, service_workers="block")
    browser_login(page, base, "ow_gw_e", PASSWORD, next_path="/field")
    _report_offline(page, phone, db_url)
    screenshot(page, "loop_1_offline_report")
    phone.set_offline(False)
    page.wait_for_selector("#fd-queue", state="hidden")
    page.evaluate("window.dispatchEvent(new Event('online'))")   # a second flush: no repeat
    page.wait_for_timeout(300)
    rows = _rows(db_url, "SELECT id, state FROM incident")
    assert len(rows) == 1 and rows[0][1] == "reported"
    return phone, page, int(rows[0][0])


def _overdue_opens_the_case(browser: Any, base: str, db_url: str, iid: int, case_no: str
                            ) -> None:
    """The supervisor's overdue table links to the case page."""
    eng = make_engine(db_url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        conn.execute(sa.text("UPDATE incident SET due_at = now() - interval '2 days'"
                             " WHERE id = :id"), {"id": iid})
    eng.dispose()
    sup = Desk(browser, base, "fw_admin", "/supervisor")
    try:
        page = sup.page
        expect(page.locator("#sup-overdue-total")).to_have_text("1")
        page.click("#sup-overdue-open")
        link = page.locator("#sup-overdue-body a.sup-case-link")
        expect(link).to_have_text(case_no)
        screenshot(page, "loop_5_supervisor_overdue")
        link.click()
        page.wait_for_url(f"**/cases/{iid}")
        expect(page.locator("#cs-title")).to_contain_text(case_no)
        assert sup.errors == []
    finally:
        sup.context.close()


def test_the_case_loop_through_the_pages(browser: Any, loop_server: tuple[str, str]) -> None:
    base, db_url = loop_server
    phone, fpage, iid = _report(browser, base, db_url)
    acc = Desk(browser, base, "ow_acceptor", "/cases")
    disp = wy = None
    try:
        page = acc.page
        row = page.locator(f"#cs-body tr[data-id='{iid}']")
        row.wait_for()
        case_no = row.locator("td").first.inner_text().strip()
        assert case_no and "信息收集" in row.inner_text()
        screenshot(page, "loop_2_case_list")
        community = int(acc.open("/cases/lists").locator("#cs-community").input_value())
        _lists(acc, community, case_no, "open", "loop_lists_reported")
        acc.open("/cases")
        page.locator(f"#cs-body tr[data-id='{iid}']").click()
        page.wait_for_url(f"**/cases/{iid}")
        acc.act(iid, "filed", shot="loop_2_file")
        assert _state(db_url, iid) == "filed"
        _lists(acc, community, case_no, "open", "loop_lists_filed")

        disp = Desk(browser, base, "ow_dispatch", f"/cases/{iid}")
        dpage = disp.page
        dpage.locator("#cs-actions button[data-to=dispatched]").click()
        chosen = dpage.locator("#cs-act-form select[name=unit_id] option:checked")
        expect(chosen).to_contain_text("东苑物业")
        screenshot(dpage, "loop_3_dispatch")
        dpage.click("#cs-act-ok")
        expect(dpage.locator("#cs-ok")).to_be_visible()
        expect(dpage.locator("#cs-fields")).to_contain_text("东苑物业")
        assert _state(db_url, iid) == "dispatched"
        _lists(acc, community, case_no, "open", "loop_lists_dispatched")

        wy = Desk(browser, base, "ow_wy", "/cases/todo")
        wpage = wy.page
        expect(wpage.locator("#gm-todo-count")).to_have_text("1")
        wpage.locator("#cs-body tr").filter(has_text=case_no).click()
        wpage.wait_for_url(f"**/cases/{iid}")
        wy.act(iid, "handling")
        wy.act(iid, "handled", photo=jpeg((1200, 900)), shot="loop_4_handled_form")
        wpage.locator("#cs-photos-after img").first.wait_for()
        screenshot(wpage, "loop_4_handled")
        assert _state(db_url, iid) == "handled"
        _lists(acc, community, case_no, "open", "loop_lists_handled")

        _overdue_opens_the_case(browser, base, db_url, iid, case_no)

        fpage.click("[data-tab=tasks]")
        card = fpage.locator(f"#fd-tasks li[data-case='{iid}'][data-task='check']")
        card.wait_for()
        card.locator(".fd-thumbs img").nth(1).wait_for()  # before + the unit's after photo
        card.locator("input[data-after]").set_input_files(files=[
            {"name": "check.jpg", "mimeType": "image/jpeg", "buffer": jpeg((1000, 750))}])
        phone.set_offline(True)          # in the basement: the step waits on the phone
        card.locator("[data-act=closed]").click()
        expect(card.locator(".fd-status")).to_contain_text("联网后自动发送")
        screenshot(fpage, "loop_6_checked_offline")
        assert _state(db_url, iid) == "handled"
        phone.set_offline(False)         # back up: sent once
        for _ in range(100):
            if _state(db_url, iid) == "closed":
                break
            fpage.wait_for_timeout(100)
        fpage.evaluate("window.dispatchEvent(new Event('online'))")   # a second flush: no repeat
        fpage.wait_for_timeout(500)
        assert fpage.evaluate("window.gmQueue.tasks().then((q) => q.length)") == 0
        fpage.click("[data-tab=tasks]")
        screenshot(fpage, "loop_6_checked_on_phone")
        assert _state(db_url, iid) == "closed"
        _lists(acc, community, case_no, "solved", "loop_lists_closed")

        acc.act(iid, "evaluated", shot="loop_7_evaluate")
        expect(page.locator("#cs-fields")).to_contain_text("5")
        assert _state(db_url, iid) == "evaluated"
        screenshot(page, "loop_7_evaluated")
        _lists(acc, community, case_no, "solved", "loop_lists_evaluated")
        expect(page.locator("#cs-solved-body")).to_contain_text("5")
        stages = [r[0] for r in _rows(db_url, "SELECT stage FROM incident_photo ORDER BY id")]
        assert stages == ["before", "after", "after"]
        assert acc.errors == [] and fpage.gm_errors == []
    finally:
        for desk in (acc, disp, wy):
            if desk is not None:
                desk.context.close()
        phone.close()
