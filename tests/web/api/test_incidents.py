"""API tests for web/incidents_api.py: locate, incidents, transitions, aggregates,
overdue, hotspots; bad input (400), unknown ids (404), roles (401/403), CSRF, 413.

Uses the small district of tests/e2e_support.py: street 1 (甲, 乙 communities, lon
116.400-116.420) supervised by ``supervisor``; street 2 (丙, lon 116.420-116.440).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from gridmap.accounts import users
from gridmap.db import make_engine
from tests.fixtures.web import PASSWORD, WebDB, login, make_app

WEST = (116.405, 39.905)  # 甲社区, street 1
EAST = (116.430, 39.910)  # 丙社区, street 2
BBOX = "116.39,39.89,116.45,39.92"

pytest_plugins = ["tests.fixtures.web"]


def new_client(app: Flask, username: str) -> FlaskClient:
    return login(app.test_client(), username)


def post_json(client: FlaskClient, url: str, body: Any, *, token: bool = True) -> Any:
    headers = {"X-CSRFToken": client.csrf} if token else {}  # type: ignore[attr-defined]
    return client.post(url, json=body, headers=headers)


def create(client: FlaskClient, lonlat: tuple[float, float], **extra: Any) -> dict:
    body = {"category": CATEGORY, "lon": lonlat[0], "lat": lonlat[1],
            "description": "路灯不亮", "reporter_name": "张三", "reporter_phone": "13812345678",
            "source": "patrol", **extra}
    r = post_json(client, "/api/incidents", body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def add_supervisor_b(web_db: WebDB) -> None:
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        users.add(conn, "sup_b", PASSWORD, "supervisor", streets=["110101002"])
    eng.dispose()


CATEGORY = "C0190"  # 路灯（路灯不亮）in data/geo/event_categories.csv


# ---------------------------------------------------------------------------------------
# parameter parsing (pure)
# ---------------------------------------------------------------------------------------


def test_parse_bbox_reports_each_kind_of_mistake() -> None:
    from web.incidents_api import parse_bbox

    for raw in ("1,2,3", "a,b,c,d", "116.4,39.9,116.3,40", "200,0,201,1", "100,30,105,35", "nan,1,2,3"):
        problems: list = []
        assert parse_bbox(raw, problems) is None, raw
        assert len(problems) == 1 and problems[0].field == "bbox"
    problems = []
    assert parse_bbox("116.3,39.8,116.5,40", problems) == (116.3, 39.8, 116.5, 40.0)
    assert problems == []


def test_parse_window_named_custom_and_bad() -> None:
    from web.incidents_api import parse_window

    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    problems: list = []
    assert parse_window({"window": "7d"}, problems, now=now) == (now - timedelta(days=7), now)
    start, end = parse_window({"start": "2026-04-01", "end": "2026-04-02T00:00:00Z"}, problems, now=now)
    assert start == datetime(2026, 4, 1, tzinfo=UTC) and end == datetime(2026, 4, 2, tzinfo=UTC)
    assert problems == []
    for args in ({"window": "1y"}, {"window": "custom"}, {"start": "yesterday"},
                 {"start": "2026-04-02", "end": "2026-04-01"}, {"start": "2020-01-01"}):
        problems = []
        parse_window(args, problems, now=now)
        assert problems, args


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


def test_heat_switches_to_cells_above_threshold(app: Flask) -> None:
    officer = new_client(app, "officer")
    for i in range(4):
        create(officer, (WEST[0] + i * 0.004, WEST[1]), external_id=f"h-{i}")
    app.config["HEAT_POINT_THRESHOLD"] = 3
    r = officer.get(f"/api/aggregates/heat?bbox={BBOX}&zoom=15&window=all")
    body = r.get_json()
    assert r.status_code == 200 and body["mode"] == "h3" and body["total"] == 4
    assert sum(cell["count"] for cell in body["cells"]) == 4
    assert all(0 < cell["intensity"] <= 1 for cell in body["cells"])
    assert all(len(cell["boundary"]) == 6 for cell in body["cells"])
    app.config["HEAT_POINT_THRESHOLD"] = 100
    body = officer.get(f"/api/aggregates/heat?bbox={BBOX}&zoom=15&window=all").get_json()
    assert body["mode"] == "points" and len(body["points"]) == 4
    assert officer.get(f"/api/aggregates/heat?bbox={BBOX}&zoom=99").status_code == 400
    assert officer.get("/api/aggregates/heat?zoom=12").status_code == 400


def test_grid_indicators_overdue_hotspots(app: Flask, web_db: WebDB) -> None:
    officer = new_client(app, "officer")
    create(officer, WEST)
    fc = officer.get(f"/api/aggregates/grids?bbox={BBOX}&window=30d").get_json()
    assert fc["type"] == "FeatureCollection"
    assert {f["properties"]["grid_id"] for f in fc["features"]} == set(web_db.ids["grid"].values())
    for key in ("closure_rate", "ontime_rate", "overdue_open"):
        assert key in fc["features"][0]["properties"]
    od = officer.get("/api/incidents/overdue").get_json()
    assert od["type"] == "FeatureCollection" and od["total"] == 0
    hs = officer.get("/api/hotspots?window=all")
    assert hs.status_code == 200 and "items" in hs.get_json()
    assert officer.get("/api/hotspots?level=county").status_code == 400
    sup = new_client(app, "supervisor")
    fs = sup.get(f"/api/aggregates/grids?bbox={BBOX}").get_json()
    assert {f["properties"]["grid_id"] for f in fs["features"]} == {
        web_db.ids["grid"]["110101001001"], web_db.ids["grid"]["110101001002"]}


def test_heat_intensity_means_the_same_density_at_every_zoom() -> None:
    import h3

    from web.incidents_api import density_intensity

    # the same density (count per km²) in a coarse and a fine cell gets the same colour
    coarse, fine = h3.latlng_to_cell(39.9, 116.4, 8), h3.latlng_to_cell(39.9, 116.4, 9)
    a8, a9 = h3.cell_area(coarse, "km^2"), h3.cell_area(fine, "km^2")
    assert abs(density_intensity(round(700 * a8), a8) - density_intensity(round(700 * a9), a9)) < 0.02
    # while count / max-count would not: more incidents per cell, denser colour
    assert density_intensity(10, 1.0) < density_intensity(100, 1.0) < density_intensity(10_000, 1.0)
    assert density_intensity(10**9, 1.0) == 1.0


def test_aggregates_are_cached_briefly_per_scope(app: Flask) -> None:
    app.config["AGGREGATE_CACHE_SECONDS"] = 60
    officer = new_client(app, "officer")
    url = f"/api/aggregates/heat?bbox={BBOX}&zoom=15&window=all"
    first = officer.get(url)
    assert first.get_json()["total"] == 0 and "max-age=60" in first.headers["Cache-Control"]
    create(officer, WEST)
    assert officer.get(url).get_json()["total"] == 0  # same view within 60 s: reused
    assert officer.get(url + "&category=C0190").get_json()["total"] == 1
    sup = new_client(app, "supervisor")  # another scope never sees the officer's entry
    assert sup.get(url + "&category=C0190").get_json()["total"] == 1
    app.config["AGGREGATE_CACHE_SECONDS"] = 0
    assert officer.get(url).get_json()["total"] == 1


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
