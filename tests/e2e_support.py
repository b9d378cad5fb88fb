"""Shared fixtures for web tests: a small hand-made district, accounts, a Flask test
client, a live server (werkzeug in a thread) and a headless Chromium page.

Use from any test module::

    from tests.e2e_support import PASSWORD, browser_login, login, screenshot

    pytest_plugins = ["tests.e2e_support"]   # makes the fixtures below available

- ``web_db``: a fresh committed database (``fresh_db_url``) with :func:`seed_district`
  loaded and one account per role (``planner``, ``supervisor`` scoped to street
  ``110101001``, ``officer``, ``admin``), all with password :data:`PASSWORD`.
- ``shared_web_db`` / ``shared_app``: the same, shared by a test module (read-only tests).
- ``app`` / ``client``: ``create_app`` on that database (TESTING, CSRF on).
  ``login(client, "planner")`` logs in and sets ``client.csrf`` for POSTs
  (send it as header ``X-CSRFToken``).
- ``live_server``: base URL (``http://127.0.0.1:<port>``) of the app served by werkzeug
  in a background thread.
- ``browser_page``: a Playwright page in Debian's Chromium (never a downloaded
  browser) with every request not to 127.0.0.1/localhost aborted; failed requests and
  page errors are collected in ``page.gm_failed`` / ``page.gm_errors``.
  ``browser_login(page, live_server, "planner")`` logs in through the form.
  ``screenshot(page, "name")`` saves ``test-output/screenshots/name.png``.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Connection

from gridmap import users
from gridmap.db import make_engine

REPO = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO / "test-output" / "screenshots"
PASSWORD = "correct-horse-battery"
XSS_NAME = "<script>alert(1)</script>"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]

# Street 1 spans lon 116.400-116.420, street 2 116.420-116.440; lat 39.900-39.915.
DISTRICT_CODE = "110101"
STREETS = (("110101001", "测试街道", 116.400, 116.420), ("110101002", "第二街道", 116.420, 116.440))
COMMUNITIES = (
    ("110101001001", "甲社区", "110101001", 116.400, 116.410),
    ("110101001002", "乙社区", "110101001", 116.410, 116.420),
    ("110101002001", "丙社区", "110101002", 116.420, 116.440),
)
LAT0, LAT1 = 39.900, 39.915


def _box(x0: float, y0: float, x1: float, y1: float) -> str:
    return (f"SRID=4326;MULTIPOLYGON((({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0})))")


def seed_district(conn: Connection) -> dict[str, Any]:
    """Insert a small synthetic district (all rows ``synthetic=true``); return ids.

    3 communities in 2 streets, one estate each, 4 residential buildings per estate
    (100 residents each), one active grid version per community with one grid, a
    street block, and facilities: a kindergarten in 甲社区, a primary school in 乙社区 and a
    kindergarten named ``<script>alert(1)</script>`` in 丙社区.
    """
    ids: dict[str, Any] = {"community": {}, "estate": {}, "grid": {}, "facility": {}}
    x = sa.text
    d = conn.execute(x(
        "INSERT INTO district (code, name, synthetic, geom) VALUES (:c, '测试区', true, :g)"
        " RETURNING id"), {"c": DISTRICT_CODE, "g": _box(116.400, LAT0, 116.440, LAT1)}).scalar()
    ids["district"] = d
    street_ids = {}
    for code, name, x0, x1 in STREETS:
        street_ids[code] = conn.execute(x(
            "INSERT INTO street (code, district_id, name, synthetic, geom)"
            " VALUES (:c, :d, :n, true, :g) RETURNING id"),
            {"c": code, "d": d, "n": name, "g": _box(x0, LAT0, x1, LAT1)}).scalar()
    ids["street"] = street_ids
    bcount = 0
    for code, name, street, x0, x1 in COMMUNITIES:
        cid = conn.execute(x(
            "INSERT INTO community (code, street_id, name, synthetic, geom)"
            " VALUES (:c, :s, :n, true, :g) RETURNING id"),
            {"c": code, "s": street_ids[street], "n": name, "g": _box(x0, LAT0, x1, LAT1)}).scalar()
        ids["community"][code] = cid
        ex0, ex1, ey0, ey1 = x0 + 0.001, x1 - 0.001, LAT0 + 0.002, LAT1 - 0.002
        eid = conn.execute(x(
            "INSERT INTO estate (code, community_id, name, synthetic, geom)"
            " VALUES (:c, :cid, :n, true, :g) RETURNING id"),
            {"c": f"E{code}", "cid": cid, "n": name.replace("社区", "小区"),
             "g": _box(ex0, ey0, ex1, ey1)}).scalar()
        ids["estate"][code] = eid
        for i in range(2):
            for j in range(2):
                bx = ex0 + 0.001 + i * 0.003
                by = ey0 + 0.002 + j * 0.004
                bcount += 1
                conn.execute(x(
                    "INSERT INTO building (code, name, estate_id, community_id, residential,"
                    " levels, households, residents, population_source, synthetic, geom)"
                    " VALUES (:c, :n, :e, :cid, true, 6, 40, 100, 'estimated', true, :g)"),
                    {"c": f"B{bcount}", "n": f"{i * 2 + j + 1}号楼", "e": eid, "cid": cid,
                     "g": _box(bx, by, bx + 0.0008, by + 0.0005)})
        vid = conn.execute(x(
            "INSERT INTO grid_version (community_id, generation, status, valid_from, activated_at)"
            " VALUES (:c, 1, 'active', now() - interval '30 days', now()) RETURNING id"),
            {"c": cid}).scalar()
        gid = conn.execute(x(
            "INSERT INTO grid (community_id, grid_seq, grid_code, name, synthetic)"
            " VALUES (:c, 1, :gc, :n, true) RETURNING id"),
            {"c": cid, "gc": f"{code}001", "n": f"{name}第一网格"}).scalar()
        conn.execute(x(
            "INSERT INTO grid_geometry (version_id, grid_id, geom) VALUES (:v, :g, :geom)"),
            {"v": vid, "g": gid, "geom": _box(x0, LAT0, x1, LAT1)})
        ids["grid"][code] = gid
    conn.execute(x(
        "INSERT INTO street_block (community_id, area_m2, source, geom) VALUES (:c, 1000, 'test', :g)"),
        {"c": ids["community"]["110101001001"], "g": _box(116.401, 39.901, 116.405, 39.904)})
    for key, type_code, name, lon, lat in (
        ("kg_a", "kindergarten", "甲幼儿园", 116.405, 39.9075),
        ("school_b", "primary_school", "乙小学", 116.415, 39.9075),
        ("xss", "kindergarten", XSS_NAME, 116.430, 39.9075),
    ):
        ids["facility"][key] = conn.execute(x(
            "INSERT INTO facility (type_code, name, synthetic, source, geom, location)"
            " VALUES (:t, :n, true, 'test', ST_SetSRID(ST_MakePoint(:x, :y), 4326),"
            " ST_SetSRID(ST_MakePoint(:x, :y), 4326)) RETURNING id"),
            {"t": type_code, "n": name, "x": lon, "y": lat}).scalar()
    return ids


def seed_network(conn: Connection) -> None:
    """OSM-like residential streets over the small district (a 9 × 3 street lattice)."""
    lines = []
    for i in range(9):
        lon = 116.400 + i * 0.005
        lines.append(f"SRID=4326;LINESTRING({lon} {LAT0},{lon} {LAT1})")
    for lat in (LAT0, 39.9075, LAT1):
        lines.append(f"SRID=4326;LINESTRING(116.400 {lat},116.440 {lat})")
    for n, wkt in enumerate(lines, start=1):
        conn.execute(sa.text(
            "INSERT INTO osm_line (id, osm_id, highway, name, geom)"
            " VALUES (:i, :o, 'residential', :n, :g)"),
            {"i": n, "o": f"w{n}", "n": f"测试路{n}", "g": wkt})


def seed_coverage(conn: Connection) -> None:
    """Street lattice + ``gridmap.coverage.refresh`` (network, coverage, service areas)."""
    from gridmap import coverage

    seed_network(conn)
    coverage.refresh(conn)


def seed_accounts(conn: Connection) -> None:
    """One account per role, password :data:`PASSWORD`; supervisor scoped to street 1."""
    users.add(conn, "planner", PASSWORD, "planner", display_name="规划员甲")
    users.add(conn, "supervisor", PASSWORD, "supervisor", streets=["110101001"])
    users.add(conn, "officer", PASSWORD, "officer")
    users.add(conn, "admin", PASSWORD, "admin")


@dataclass
class WebDB:
    url: str
    ids: dict[str, Any] = field(default_factory=dict)


def _seeded(url: str, with_coverage: bool = False) -> WebDB:
    engine = make_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        ids = seed_district(conn)
        seed_accounts(conn)
        if with_coverage:
            seed_coverage(conn)
    engine.dispose()
    return WebDB(url, ids)


@pytest.fixture
def web_db(fresh_db_url: str) -> WebDB:
    """Fresh database with the small district and one account per role."""
    return _seeded(fresh_db_url)


_module_db_counter = itertools.count(1)


@pytest.fixture(scope="module")
def shared_web_db(pg_cluster: Any) -> WebDB:
    """Like ``web_db`` but shared by one test module: for tests that only read."""
    from tests.conftest import TEMPLATE_DB

    name = f"gridmap_w{os.getpid()}_{next(_module_db_counter)}"
    return _seeded(pg_cluster.ensure_database(name, template=TEMPLATE_DB))


@pytest.fixture(scope="module")
def coverage_web_db(pg_cluster: Any) -> WebDB:
    """``shared_web_db`` plus a street network and computed coverage (module scope)."""
    from tests.conftest import TEMPLATE_DB

    name = f"gridmap_c{os.getpid()}_{next(_module_db_counter)}"
    return _seeded(pg_cluster.ensure_database(name, template=TEMPLATE_DB), with_coverage=True)


@pytest.fixture(scope="module")
def shared_app(shared_web_db: WebDB) -> Iterator[Flask]:
    """An app on ``shared_web_db`` (module scope)."""
    application = make_app(shared_web_db.url)
    yield application
    application.extensions["gridmap.engine"].dispose()


def make_app(db_url: str, **config: Any) -> Flask:
    from web import create_app

    return create_app({"database_url": db_url, "TESTING": True, "SECRET_KEY": "test-secret",
                       **config})


@pytest.fixture
def app(web_db: WebDB) -> Iterator[Flask]:
    application = make_app(web_db.url)
    yield application
    application.extensions["gridmap.engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of the client's session (read from a page's meta tag)."""
    html = client.get(path).get_data(as_text=True)
    m = _CSRF.search(html)
    assert m, "no csrf-token meta tag"
    return m.group(1)


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> FlaskClient:
    """Log ``client`` in; afterwards ``client.csrf`` holds the token for POSTs."""
    token = csrf_token(client)
    resp = client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    client.csrf = csrf_token(client, "/login")  # type: ignore[attr-defined]
    return client


@contextlib.contextmanager
def serve_app(db_url: str, **config: Any) -> Iterator[str]:
    """Serve ``create_app`` on ``db_url`` with werkzeug in a thread; yield the base URL."""
    from werkzeug.serving import make_server

    application = make_app(db_url, **config)
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        application.extensions["gridmap.engine"].dispose()


@pytest.fixture
def live_server(web_db: WebDB) -> Iterator[str]:
    """Base URL of the app (on ``web_db``) served by werkzeug in a background thread."""
    with serve_app(web_db.url) as url:
        yield url


@pytest.fixture(scope="module")
def coverage_live_server(coverage_web_db: WebDB) -> Iterator[str]:
    """Live server on ``coverage_web_db`` (module scope; the planner's data)."""
    with serve_app(coverage_web_db.url) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium through Playwright (one per test session)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _local(url: str) -> bool:
    return url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:", "about:"))


@pytest.fixture
def browser_page(browser: Any) -> Iterator[Any]:
    """A fresh page; requests to anything but the local app are aborted (offline)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.gm_failed = []
    page.gm_blocked = []
    page.gm_errors = []
    page.gm_dialogs = []

    def route(r: Any) -> None:
        if _local(r.request.url):
            r.continue_()
        else:
            page.gm_blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    def on_failed(req: Any) -> None:
        # a page script cancelling its own superseded fetch (AbortController) is no failure
        cancelled = req.resource_type in ("fetch", "xhr") and "ABORTED" in (req.failure or "")
        if _local(req.url) and not cancelled:
            page.gm_failed.append(f"{req.failure} {req.url}")

    page.on("requestfailed", on_failed)
    page.on("response", lambda resp: page.gm_failed.append(f"{resp.status} {resp.url}")
            if resp.status >= 400 and _local(resp.url) else None)
    page.on("pageerror", lambda exc: page.gm_errors.append(str(exc)))

    def on_dialog(dialog: Any) -> None:
        page.gm_dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    try:
        yield page
    finally:
        context.close()


def browser_login(page: Any, base_url: str, username: str, password: str = PASSWORD,
                  next_path: str | None = None) -> None:
    """Log in through the login form."""
    url = f"{base_url}/login" + (f"?next={next_path}" if next_path else "")
    page.goto(url)
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', password)
    with page.expect_navigation():
        page.click('button[type="submit"]')


def screenshot(page: Any, name: str) -> Path:
    """Save ``test-output/screenshots/<name>.png`` for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
