"""Hostile input answers 400 with a clear zh/en message and leaves the database unchanged
(issue #12, findings 6, 8, 10, 11, 12 and the info items): NUL bytes, lone surrogates,
lists where text is expected, oversize text, deep JSON, date overflow, NaN in polygons, a
new case in a later state, concurrent replays of one external id, Open311 api_key and
paging, impact counts for planners, ``GET …/units`` writing, swapped lon/lat on locate.

Uses the small district of tests/fixtures/web.py.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from gridmap.db import make_engine
from tests.fixtures.web import (
    BBOX,
    CATEGORY,
    WEST,
    WebDB,
    create,
    csrf_token,
    make_app,
    new_client,
    post_json,
)

pytest_plugins = ["tests.fixtures.web"]

JIA = "110101001001"
KEY = "k-hostile"


def count(web_db: WebDB, sql: str = "SELECT count(*) FROM incident", **params: Any) -> int:
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.connect() as conn:
        n = int(conn.execute(sa.text(sql), params).scalar_one())
    eng.dispose()
    return n


def codes(resp: Any) -> set[str]:
    """Every problem code of a JSON error (and its own code)."""
    body = resp.get_json()
    return {body.get("code")} | {p["code"] for p in body.get("problems", [])}


def incident(**extra: Any) -> dict[str, Any]:
    return {"category": CATEGORY, "lon": WEST[0], "lat": WEST[1], "description": "路灯不亮",
            **extra}


@pytest.fixture
def admin(app: Flask) -> FlaskClient:
    """Admin on a fresh database (tests that write)."""
    return new_client(app, "admin")


@pytest.fixture(scope="module")
def reader(shared_app: Flask) -> FlaskClient:
    """Admin on the module's shared database (tests whose requests must write nothing)."""
    return new_client(shared_app, "admin")


# --------------------------------------------------------------------------- NUL, surrogates


@pytest.mark.parametrize("url", [
    "/open311/v2/requests.json?service_code=%00",
    "/api/search?q=%00",
    "/api/search?q=a%00b",
    f"/api/layers/facilities?bbox={BBOX}&zoom=14&type=%00",
    f"/api/incidents?bbox={BBOX}&category=%00",
    "/api/locate?lon=116.4&lat=39.9&at=%00",
])
def test_nul_in_a_query_string_is_400_in_both_languages(reader: FlaskClient, url: str) -> None:
    r = reader.get(url)
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    text = r.get_data(as_text=True)
    assert "Traceback" not in text and "internal" not in text
    if url.startswith("/api/"):
        body = r.get_json()
        assert "input.nul_character" in codes(r)
        problem = next(p for p in body["problems"] if p["code"] == "input.nul_character")
        assert "空字符" in problem["reason"] and "NUL" in problem["reason_en"]
    else:  # Open311: GeoReport error list
        assert r.get_json()[0]["code"] == 400 and "空字符" in r.get_json()[0]["description"]


def test_nul_in_the_login_username_is_400_not_500(shared_app: Flask) -> None:
    c = shared_app.test_client()
    r = c.post("/login", data={"username": "a\x00b", "password": "x",
                               "csrf_token": csrf_token(c)})
    assert r.status_code == 400
    assert "空字符" in r.get_data(as_text=True)


@pytest.mark.parametrize("body, code", [
    (incident(description="a\x00b"), "input.nul_character"),
    (incident(description="\ud800"), "input.invalid_unicode"),
    (incident(reporter_name="\udfff张"), "input.invalid_unicode"),
    (incident(**{"x\x00": 1}), "input.bad_key"),
    (incident(category=["E0201"]), "input.not_text"),
    (incident(description={"a": 1}), "input.not_text"),
    (incident(reported_at=["2025-01-01"]), "input.not_text"),
    (incident(lon=[116.4]), "input.not_text"),
    (incident(source=True), "input.not_text"),
    (incident(external_id="x" * 1_000_000), "input.too_long"),
    (incident(description="长" * 4001), "input.too_long"),
    (incident(address="路" * 501), "input.too_long"),
])
def test_unusable_text_in_an_incident_is_400_and_nothing_is_written(
        reader: FlaskClient, shared_web_db: WebDB, body: dict[str, Any], code: str) -> None:
    r = post_json(reader, "/api/incidents", body)
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    assert code in codes(r)
    assert count(shared_web_db) == 0


def test_text_at_its_limit_is_accepted(admin: FlaskClient) -> None:
    create(admin, WEST, description="长" * 4000, external_id="e" * 128)


def test_deeply_nested_json_is_400(reader: FlaskClient, shared_web_db: WebDB) -> None:
    for raw in ("[" * 50_000, "[" * 100 + "]" * 100, '{"a":' * 40 + "1" + "}" * 40):
        r = reader.post("/api/incidents", data=raw, content_type="application/json",
                        headers={"X-CSRFToken": reader.csrf})  # type: ignore[attr-defined]
        assert r.status_code == 400, raw[:20]
        assert "input.json_too_deep" in codes(r)
    assert count(shared_web_db) == 0


def test_nan_and_infinity_in_a_drawn_polygon_are_400(admin: FlaskClient,
                                                     web_db: WebDB) -> None:
    cid = web_db.ids["community"][JIA]
    v = post_json(admin, f"/api/grids/communities/{cid}/drafts", {}).get_json()["version"]
    url = f"/api/grids/versions/{v['id']}/geometry"
    ring = "[[116.401,39.901],[116.402,39.901],[116.402,{x}],[116.401,39.901]]"
    for x, code in (("NaN", "input.json_not_finite"), ("Infinity", "input.json_not_finite"),
                    ("1e400", "input.not_finite")):
        raw = ('{"grid_id": null, "lock_version": ' + str(v["lock_version"])
               + ', "geometry": {"type": "Polygon", "coordinates": ['
               + ring.replace("{x}", x) + "]}}")
        r = admin.post(url, data=raw, content_type="application/json",
                       headers={"X-CSRFToken": admin.csrf})  # type: ignore[attr-defined]
        assert r.status_code == 400 and code in codes(r), (x, r.get_json())
    n = count(web_db, "SELECT count(*) FROM grid_geometry WHERE version_id = :v", v=v["id"])
    assert n == 1  # the draft's copy of the one grid, nothing added


# --------------------------------------------------------------------------- dates, windows


@pytest.mark.parametrize("url", [
    f"/api/incidents?bbox={BBOX}&window=30d&end=0001-01-01",
    "/api/incidents/overdue?window=30d&end=0001-01-01",
    "/api/incidents/to-confirm?window=7d&end=0001-01-01T00:00:00Z",
    f"/api/aggregates/grids?bbox={BBOX}&window=30d&end=0001-01-01",
    f"/api/aggregates/heat?bbox={BBOX}&window=24h&end=0001-01-01",
    "/api/hotspots?window=30d&end=0001-01-01",
    "/api/hotspots?start=9999-12-31T23:59:59-12:00",
    "/open311/v2/requests.json?start_date=0001-01-01",
    "/api/grids/at?lon=116.405&lat=39.905&at=0001-01-01",
])
def test_date_overflow_is_400(reader: FlaskClient, url: str) -> None:
    r = reader.get(url)
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    assert "1900-01-01" in r.get_data(as_text=True)


def test_date_overflow_on_the_supervisor_grid_api_is_400(shared_app: Flask,
                                                         shared_web_db: WebDB) -> None:
    sup = new_client(shared_app, "supervisor")
    gid = shared_web_db.ids["grid"][JIA]
    r = sup.get(f"/supervisor/api/grids/{gid}?window=30d&end=0001-01-01")
    assert r.status_code == 400
    assert sup.get(f"/supervisor/api/grids/{gid}?window=30d").status_code == 200


def test_window_all_on_grid_aggregates_works(admin: FlaskClient) -> None:
    create(admin, WEST)
    r = admin.get(f"/api/aggregates/grids?bbox={BBOX}&window=all")
    assert r.status_code == 200, r.get_json()
    feats = r.get_json()["features"]
    assert sum(f["properties"].get("total") or 0 for f in feats) == 1 or feats


# --------------------------------------------------------------------------- intake state


@pytest.mark.parametrize("extra", [{"state": "closed"}, {"status": "evaluated"},
                                   {"state": "filed"}, {"status": ["closed"]}])
def test_a_case_cannot_be_created_in_a_later_state(reader: FlaskClient, shared_web_db: WebDB,
                                                   extra: dict[str, Any]) -> None:
    r = post_json(reader, "/api/incidents", incident(**extra))
    assert r.status_code == 400
    body = r.get_json()
    assert "input.state_not_allowed" in codes(r) or "input.not_text" in codes(r)
    if "input.state_not_allowed" in codes(r):
        p = next(p for p in body["problems"] if p["code"] == "input.state_not_allowed")
        assert "信息收集" in p["reason"] and "reported" in p["reason_en"]
    assert count(shared_web_db) == 0


def test_a_case_may_say_it_starts_at_reported(admin: FlaskClient) -> None:
    for extra in ({"state": "reported"}, {"status": "open"}):
        row = create(admin, WEST, **extra)
        assert row["properties"]["state"] == "reported"


def test_open311_requests_start_at_reported(web_db: WebDB) -> None:
    keyed = make_app(web_db.url, OPEN311_API_KEYS=f"{KEY}:t")
    c = keyed.test_client()
    form = {"api_key": KEY, "service_code": CATEGORY, "lat": str(WEST[1]),
            "long": str(WEST[0]), "description": "x"}
    r = c.post("/open311/v2/requests.json", data={**form, "status": "closed"})
    assert r.status_code == 400 and "信息收集" in r.get_json()[0]["description"]
    assert count(web_db) == 0
    r = c.post("/open311/v2/requests.json", data=form)
    assert r.status_code == 201
    assert count(web_db, "SELECT count(*) FROM incident WHERE state = 'reported'") == 1
    keyed.extensions["gridmap.engine"].dispose()


# --------------------------------------------------------------------------- Open311


def test_open311_fields_are_text_with_limits_and_api_key_must_be_text(
        shared_web_db: WebDB) -> None:
    keyed = make_app(shared_web_db.url, OPEN311_API_KEYS=f"{KEY}:t")
    c = keyed.test_client()
    base = {"api_key": KEY, "service_code": CATEGORY, "lat": WEST[1], "long": WEST[0]}
    for bad in ({"api_key": ["x"]}, {"api_key": 5}, {"api_key": {"k": KEY}}):
        r = c.post("/open311/v2/requests.json", json={**base, **bad})
        assert r.status_code == 400, bad
        assert "api_key" in r.get_json()[0]["description"]
    bads: list[dict[str, Any]] = [
        {"first_name": ["x"]}, {"phone": {"a": 1}}, {"description": "x" * 4001},
        {"external_id": "e" * 129}, {"address_string": "a\x00"}, {"service_code": "\ud800"}]
    for bad in bads:
        r = c.post("/open311/v2/requests.json", json={**base, **bad})
        assert r.status_code == 400, (bad, r.get_json())
    assert count(shared_web_db) == 0
    keyed.extensions["gridmap.engine"].dispose()


def test_open311_list_is_paged_and_capped(admin: FlaskClient) -> None:
    for i in range(3):
        create(admin, WEST, external_id=f"page-{i}")
    assert len(admin.get("/open311/v2/requests.json?page_size=2").get_json()) == 2
    assert len(admin.get("/open311/v2/requests.json?page_size=2&page=2").get_json()) == 1
    assert len(admin.get("/open311/v2/requests.json").get_json()) == 3
    r = admin.get("/open311/v2/requests.json?page_size=201")
    assert r.status_code == 400 and "200" in r.get_json()[0]["description"]


# --------------------------------------------------------------------------- replays


def test_concurrent_creates_with_one_external_id_return_the_same_case(
        app: Flask, web_db: WebDB) -> None:
    clients = [new_client(app, "officer") for _ in range(20)]
    results: list[Any] = [None] * len(clients)
    barrier = threading.Barrier(len(clients))

    def send(i: int) -> None:
        barrier.wait()
        r = post_json(clients[i], "/api/incidents", incident(external_id="replay-1"))
        results[i] = (r.status_code, (r.get_json() or {}).get("id"))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    statuses = sorted({s for s, _ in results})
    assert set(statuses) <= {200, 201}, results
    assert len({i for _, i in results}) == 1  # every answer is the one case
    assert count(web_db) == 1


# --------------------------------------------------------------------------- info items


def test_impact_counts_open_incidents_for_editors_only(app: Flask, web_db: WebDB) -> None:
    officer, planner = new_client(app, "officer"), new_client(app, "planner")
    create(officer, WEST)
    cid = web_db.ids["community"][JIA]
    v = post_json(officer, f"/api/grids/communities/{cid}/drafts", {}).get_json()["version"]
    units = officer.get(f"/api/grids/versions/{v['id']}/units").get_json()["features"]
    bid = next(f["properties"]["unit_id"] for f in units
               if f["properties"]["unit_type"] == "building")
    r = post_json(officer, f"/api/grids/versions/{v['id']}/moves",
                  {"units": [["building", bid]], "to_grid": None,
                   "lock_version": v["lock_version"]})
    assert r.status_code == 200, r.get_json()
    url = f"/api/grids/versions/{v['id']}/impact"
    seen = officer.get(url).get_json()["grids"]
    hidden = planner.get(url).get_json()["grids"]
    assert any("open_incidents" in (g["after"] or {}) for g in seen)
    assert hidden and all("open_incidents" not in (g[s] or {}) for g in hidden
                          for s in ("before", "after"))
    assert all("households" in (g["after"] or g["before"]) for g in hidden)


def test_get_units_never_writes(admin: FlaskClient, web_db: WebDB) -> None:
    cid = web_db.ids["community"][JIA]
    cells = "SELECT count(*) FROM grid_cell WHERE community_id = :c"
    before = count(web_db, cells, c=cid)
    vid = count(web_db, "SELECT min(id) FROM grid_version WHERE community_id = :c", c=cid)
    r = admin.get(f"/api/grids/versions/{vid}/units")
    assert r.status_code == 200
    assert len(r.get_json()["features"]) >= 4  # computed for the answer...
    after = count(web_db, cells, c=cid)
    assert before == after == 0  # ...and not stored by a GET


@pytest.mark.parametrize("url", ["/api/locate?lon=39.905&lat=116.405",
                                 "/api/locate?lon=39.905&lat=80.1",
                                 "/api/grids/at?lon=39.905&lat=116.405"])
def test_swapped_lon_lat_gets_the_swap_hint(reader: FlaskClient, url: str) -> None:
    r = reader.get(url)
    assert r.status_code == 400
    assert "incidents.swapped_coordinates" in codes(r)
    p = next(p for p in r.get_json()["problems"]
             if p["code"] == "incidents.swapped_coordinates")
    assert "颠倒" in p["reason"] and "swapped" in p["reason_en"]
