"""API tests for web/api/incidents.py: locate, incidents, transitions, locations to confirm;
bad input (400), unknown ids (404), roles and area (401/403), CSRF, 413.

Uses the small district of tests/fixtures/web.py: street 1 (甲, 乙 communities, lon
116.400-116.420) supervised by ``supervisor``; street 2 (丙, lon 116.420-116.440).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from gridmap.db import make_engine
from tests.fixtures.web import (
    BBOX,
    CATEGORY,
    EAST,
    WEST,
    WebDB,
    add_supervisor_b,
    create,
    login,
    make_app,
    new_client,
    post_json,
)

pytest_plugins = ["tests.fixtures.web"]


# ---------------------------------------------------------------------------------------
# endpoints
# ---------------------------------------------------------------------------------------


def test_locate_returns_street_community_grid(client: FlaskClient, web_db: WebDB) -> None:
    r = client.get(f"/api/locate?lon={EAST[0]}&lat={EAST[1]}")
    assert r.status_code == 200
    body = r.get_json()
    assert body["street_code"] == "110101002"
    assert body["community_code"] == "110101002001"
    assert body["grid_id"] == web_db.ids["grid"]["110101002001"]
    assert body["located_by"] == "grid"


def test_locate_bad_parameters_are_400_with_every_problem(client: FlaskClient) -> None:
    r = client.get("/api/locate?lon=abc&lat=95")
    assert r.status_code == 400
    body = r.get_json()
    assert {p["field"] for p in body["problems"]} == {"lon", "lat"}
    assert "Traceback" not in r.get_data(as_text=True)
    assert client.get("/api/locate?lon=116.4&lat=39.9&at=tomorrow").status_code == 400


def test_incident_endpoints_need_login_and_role(app: Flask, client: FlaskClient) -> None:
    assert client.get(f"/api/incidents?bbox={BBOX}").status_code == 401
    planner = new_client(app, "planner")
    for url in (f"/api/incidents?bbox={BBOX}", f"/api/aggregates/heat?bbox={BBOX}",
                "/api/incidents/overdue", "/api/hotspots", f"/api/aggregates/grids?bbox={BBOX}",
                "/api/incidents/1"):
        r = planner.get(url)
        assert r.status_code == 403, url
        assert "error" in r.get_json()
    r = post_json(planner, "/api/incidents", {"category": CATEGORY, "lon": WEST[0], "lat": WEST[1]})
    assert r.status_code == 403


def test_create_list_and_masking_by_area(app: Flask, web_db: WebDB) -> None:
    add_supervisor_b(web_db)
    officer = new_client(app, "officer")
    west = create(officer, WEST)
    create(officer, EAST, description="<script>alert(1)</script>")
    assert west["properties"]["grid_id"] == web_db.ids["grid"]["110101001001"]
    # officer: sees both, personal data masked
    fc = officer.get(f"/api/incidents?bbox={BBOX}&window=all").get_json()
    assert fc["type"] == "FeatureCollection" and fc["total"] == 2
    assert {f["properties"]["reporter_phone"] for f in fc["features"]} == {"138****5678"}
    assert all("13812345678" not in str(f) for f in fc["features"])
    # supervisor of street 1: only the west incident, unmasked
    sup = new_client(app, "supervisor")
    fa = sup.get(f"/api/incidents?bbox={BBOX}&window=all").get_json()
    assert fa["total"] == 1
    assert fa["features"][0]["properties"]["reporter_phone"] == "13812345678"
    assert fa["features"][0]["properties"]["reporter_name"] == "张三"
    assert sup.get(f"/api/incidents/{west['id']}").status_code == 200
    # the other street's supervisor cannot open it
    sup_b = new_client(app, "sup_b")
    assert sup_b.get(f"/api/incidents/{west['id']}").status_code == 403
    # admin: all, masked
    admin = new_client(app, "admin")
    fad = admin.get(f"/api/incidents?bbox={BBOX}&window=all").get_json()
    assert fad["total"] == 2
    assert {f["properties"]["reporter_phone"] for f in fad["features"]} == {"138****5678"}


def test_list_pagination_and_filters(app: Flask) -> None:
    officer = new_client(app, "officer")
    for i in range(5):
        create(officer, WEST, urgency="urgent" if i < 2 else "normal", external_id=f"ext-{i}")
    p1 = officer.get(f"/api/incidents?bbox={BBOX}&window=all&page_size=2").get_json()
    p3 = officer.get(f"/api/incidents?bbox={BBOX}&window=all&page_size=2&page=3").get_json()
    assert p1["total"] == 5 and len(p1["features"]) == 2 and len(p3["features"]) == 1
    urgent = officer.get(f"/api/incidents?bbox={BBOX}&window=all&urgency=urgent").get_json()
    assert urgent["total"] == 2
    east_only = officer.get("/api/incidents?bbox=116.42,39.89,116.45,39.92&window=all").get_json()
    assert east_only["total"] == 0
    old = officer.get(f"/api/incidents?bbox={BBOX}&start=2001-01-01&end=2001-02-01").get_json()
    assert old["total"] == 0


def test_list_bad_input(app: Flask) -> None:
    officer = new_client(app, "officer")
    r = officer.get("/api/incidents")
    assert r.status_code == 400 and r.get_json()["problems"][0]["field"] == "bbox"
    r = officer.get(
        f"/api/incidents?bbox={BBOX}&page_size=100000&category=NOPE&status=done&window=1y")
    assert r.status_code == 400
    assert {p["field"] for p in r.get_json()["problems"]} == {
        "page_size", "category", "status", "window"}
    assert officer.get("/api/incidents?bbox=100,20,110,30").status_code == 400  # a province


def test_create_bad_body_and_csrf(app: Flask) -> None:
    officer = new_client(app, "officer")
    body = {"category": CATEGORY, "lon": WEST[0], "lat": WEST[1]}
    r = post_json(officer, "/api/incidents", body, token=False)
    assert r.status_code == 400 and "CSRF" in r.get_json()["error"]
    assert officer.get(f"/api/incidents?bbox={BBOX}&window=all").get_json()["total"] == 0
    assert post_json(officer, "/api/incidents", ["not", "an", "object"]).status_code == 400
    r = post_json(officer, "/api/incidents", {"category": "NOPE", "lon": "x"})
    assert r.status_code == 400
    reasons = {p["reason"] for p in r.get_json()["problems"]}
    assert {"缺少坐标或坐标不是数字", "未知的事件类别 'NOPE'"} <= reasons  # zh by default
    assert r.get_json()["error"].startswith("事件信息有误：")
    officer.post("/lang", data={"lang": "en", "next": "/",
                                "csrf_token": officer.csrf})  # type: ignore[attr-defined]
    r = post_json(officer, "/api/incidents", {"category": "NOPE", "lon": "x"})
    assert "missing or non-numeric coordinates" in {p["reason"] for p in r.get_json()["problems"]}


def test_oversized_body_is_413(web_db: WebDB) -> None:
    small = make_app(web_db.url, max_upload_bytes=1000)
    c = login(small.test_client(), "officer")
    r = c.post("/api/incidents", data="x" * 5000, content_type="application/json",
               headers={"X-CSRFToken": c.csrf})  # type: ignore[attr-defined]
    assert r.status_code == 413 and "error" in r.get_json()
    small.extensions["gridmap.engine"].dispose()


def test_transitions_legal_illegal_unknown(app: Flask) -> None:
    officer = new_client(app, "officer")
    iid = create(officer, WEST)["id"]
    r = post_json(officer, f"/api/incidents/{iid}/transitions", {"to": "filed", "note": "核实"})
    assert r.status_code == 200 and r.get_json()["properties"]["state"] == "filed"
    r = post_json(officer, f"/api/incidents/{iid}/transitions", {"to": "closed"})
    assert r.status_code == 409
    r = post_json(officer, f"/api/incidents/{iid}/transitions", {"to": "flying"})
    assert r.status_code == 400
    r = post_json(officer, f"/api/incidents/{iid}/transitions", {"to": "filed"}, token=False)
    assert r.status_code == 400
    assert post_json(officer, "/api/incidents/999999/transitions", {"to": "filed"}).status_code == 404
    assert officer.get("/api/incidents/999999").status_code == 404
    hist = officer.get(f"/api/incidents/{iid}").get_json()["properties"]["history"]
    assert hist[-1]["to_state"] == "filed"


def test_locate_survives_a_dropped_database_connection(client: FlaskClient, web_db: WebDB) -> None:
    url = f"/api/locate?lon={EAST[0]}&lat={EAST[1]}"
    assert client.get(url).status_code == 200
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.connect() as conn:  # e.g. a database restart: pooled connections die
        conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    eng.dispose()
    r = client.get(url)
    assert r.status_code == 200 and r.get_json()["street_code"] == "110101002"


def test_supervisor_confirms_near_boundary_locations(app: Flask, web_db: WebDB) -> None:
    officer = new_client(app, "officer")
    near = create(officer, (116.41005, 39.905))    # 乙社区, ~4 m from 甲社区's grid
    edge = create(officer, (116.41996, 39.906))    # 乙社区, ~3 m from 丙社区 (street 2)
    inner = create(officer, (116.415, 39.908))
    assert near["properties"]["near_boundary"] and not inner["properties"]["near_boundary"]
    sup = new_client(app, "supervisor")
    listed = sup.get("/api/incidents/to-confirm").get_json()
    ids = {f["id"] for f in listed["features"]}
    assert {near["id"], edge["id"]} <= ids and inner["id"] not in ids
    cands = sup.get(f"/api/incidents/{near['id']}/location").get_json()["candidates"]
    jia, yi = web_db.ids["grid"]["110101001001"], web_db.ids["grid"]["110101001002"]
    assert [c["grid_id"] for c in cands[:2]] == [yi, jia] and cands[0]["current"]
    # only supervisors (and admins) confirm; CSRF required
    url = f"/api/incidents/{near['id']}/location"
    assert post_json(officer, url, {"grid_id": jia}).status_code == 403
    assert new_client(app, "planner").get(url).status_code == 403
    assert post_json(sup, url, {"grid_id": jia}, token=False).status_code == 400
    assert post_json(sup, url, {"grid_id": "甲"}).status_code == 400
    r = post_json(sup, url, {"grid_id": jia, "note": "道路西侧"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["moved"] and body["properties"]["grid_id"] == jia
    assert body["properties"]["location_confirmed_by"] == "supervisor"
    assert near["id"] not in {f["id"] for f in sup.get(
        "/api/incidents/to-confirm").get_json()["features"]}
    # a grid of another supervisor's area: refused, nothing changes
    other = web_db.ids["grid"]["110101002001"]
    url2 = f"/api/incidents/{edge['id']}/location"
    assert other in {c["grid_id"] for c in sup.get(url2).get_json()["candidates"]}
    r = post_json(sup, url2, {"grid_id": other})
    assert r.status_code == 403
    after = sup.get(f"/api/incidents/{edge['id']}").get_json()["properties"]
    assert after["grid_id"] == yi and after["location_confirmed_at"] is None
    # confirming as it is
    assert post_json(sup, url2, {}).get_json()["moved"] is False


def test_due_times_follow_the_configured_working_day(web_db: WebDB) -> None:
    """A (made-up) district whose working day is 00:00-01:00 every day: a case of 1 working
    day falls due inside that hour of a later day, which the default working day (08:30-17:30,
    weekends off) never gives."""
    from gridmap.reference.workcal import LOCAL_TZ

    app = make_app(web_db.url, work_periods="00:00-01:00", weekend_days="")
    try:
        officer = new_client(app, "officer")
        iid = create(officer, WEST)["id"]  # C0190: 1 working day
        for to in ("filed", "dispatched"):
            r = post_json(officer, f"/api/incidents/{iid}/transitions", {"to": to})
            assert r.status_code == 200, r.get_json()
        p = r.get_json()["properties"]
        dispatched = datetime.fromisoformat(p["dispatched_at"])
        due = datetime.fromisoformat(p["due_at"]).astimezone(LOCAL_TZ)
        assert due > dispatched and (due.hour, due.minute) <= (1, 0) and due.hour in (0, 1)
        assert due - dispatched <= timedelta(hours=25)
    finally:
        app.extensions["gridmap.engine"].dispose()
    from gridmap.errors import ConfigError

    with pytest.raises(ConfigError, match="GRIDMAP_WORK_PERIODS"):
        make_app(web_db.url, work_periods="nine to five")
