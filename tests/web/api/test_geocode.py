"""Address API (web/api/geocode.py) and address-only intake through /api/incidents and Open311."""

from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskClient

from gridmap.db import make_engine
from tests.fixtures.address_web import QUEUED, seed_register_and_queue
from tests.fixtures.web import CATEGORY, WebDB, login, make_app, post_json

pytest_plugins = ["tests.fixtures.web"]


def _client(web_db: WebDB, user: str = "supervisor") -> FlaskClient:
    return login(make_app(web_db.url).test_client(), user)


def test_geocode_one_address(web_db: WebDB) -> None:
    seed_register_and_queue(web_db)
    c = _client(web_db, "officer")
    body = c.get("/api/geocode?address=北京市长安街一号3楼").get_json()
    assert (body["level"], body["status"], body["score"]) == ("building", "auto", 1.0)
    assert body["level_label"] == "门牌/楼栋" and body["candidates"][0]["label"] == "长安街1号"
    bad = c.get("/api/geocode")
    assert bad.status_code == 400 and bad.get_json()["problems"][0]["field"] == "address"


def test_queue_lists_candidates_and_is_for_supervisors(web_db: WebDB) -> None:
    seed_register_and_queue(web_db)
    assert _client(web_db, "planner").get("/api/address-queue").status_code == 403
    body = _client(web_db, "admin").get("/api/address-queue").get_json()
    assert [i["address"] for i in body["items"]] == QUEUED
    assert body["total"] == body["shown"] == len(QUEUED)
    # the supervisor of street 1 sees the cases whose candidates lie in street 1 only
    scoped = _client(web_db).get("/api/address-queue").get_json()
    assert 0 < scoped["total"] < len(QUEUED) and scoped["shown"] == scoped["total"]
    assert {i["address"] for i in scoped["items"]} < set(QUEUED)
    tie = body["items"][0]
    assert {c["label"] for c in tie["candidates"]} >= {"甲小区1号楼", "乙小区1号楼"}
    assert all(c["reason_text"] and c["level_label"] for c in tie["candidates"])
    assert "reporter_phone" not in tie


def test_place_candidate_adds_incident_and_register_entry(web_db: WebDB) -> None:
    seed_register_and_queue(web_db)
    c = _client(web_db)
    qid = c.get("/api/address-queue").get_json()["items"][0]["id"]
    r = post_json(c, f"/api/address-queue/{qid}/place", {"candidate": 1, "add_to_register": True})
    assert r.status_code == 201, r.get_json()
    out = r.get_json()
    assert out["geocode_status"] == "confirmed" and out["entry_id"]
    again = post_json(c, f"/api/address-queue/{qid}/place", {"candidate": 0})
    assert again.status_code == 409
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.connect() as conn:
        inc = conn.execute(sa.text("SELECT address, geocode_status, source FROM incident "
                                   "WHERE id = :i"), {"i": out["incident_id"]}).one()
        entry = conn.execute(sa.text("SELECT text, source, created_by FROM address_entry "
                                     "WHERE id = :i"), {"i": out["entry_id"]}).one()
    eng.dispose()
    assert tuple(inc) == ("丁小区1号楼", "confirmed", "hotline_12345")
    assert tuple(entry) == ("丁小区1号楼", "confirmed", "supervisor")
    # the register now knows the address: the same address is placed automatically
    body = c.get("/api/geocode?address=丁小区1号楼").get_json()
    assert (body["status"], body["level"]) == ("auto", "building")


def test_place_by_hand_and_dismiss(web_db: WebDB) -> None:
    seed_register_and_queue(web_db)
    c = _client(web_db, "admin")
    items = c.get("/api/address-queue").get_json()["items"]
    bad = post_json(c, f"/api/address-queue/{items[1]['id']}/place", {"add_to_register": True})
    assert bad.status_code == 400
    r = post_json(c, f"/api/address-queue/{items[1]['id']}/place",
                  {"lon": 116.4101, "lat": 39.9061})
    assert r.status_code == 201 and r.get_json()["geocode_status"] == "manual"
    d = post_json(c, f"/api/address-queue/{items[2]['id']}/dismiss", {"note": "重复来电"})
    assert d.status_code == 200
    assert c.get("/api/address-queue").get_json()["total"] == 1
    assert post_json(c, "/api/address-queue/999999/dismiss", {}).status_code == 404


def test_address_only_intake_api_and_open311(web_db: WebDB) -> None:
    seed_register_and_queue(web_db)
    c = _client(web_db)
    placed = post_json(c, "/api/incidents", {"category": CATEGORY, "address": "长安街3号"})
    assert placed.status_code == 201, placed.get_json()
    assert placed.get_json()["geometry"]["coordinates"] == [116.4056, 39.906]
    queued = post_json(c, "/api/incidents", {"category": CATEGORY, "address": "丙苑附近"})
    assert queued.status_code == 202 and queued.get_json()["candidates"][0]["label"] == "丙苑"
    o = c.post("/open311/v2/requests.json", data={
        "service_code": CATEGORY, "address_string": "长安街1号", "csrf_token": c.csrf})  # type: ignore[attr-defined]
    assert o.status_code == 201, o.get_json()
    o2 = c.post("/open311/v2/requests.json", data={
        "service_code": CATEGORY, "address_string": "不存在的地方", "csrf_token": c.csrf})  # type: ignore[attr-defined]
    assert o2.status_code == 202 and o2.get_json()[0]["token"].startswith("address-")
    none = c.post("/open311/v2/requests.json", data={
        "service_code": CATEGORY, "csrf_token": c.csrf})  # type: ignore[attr-defined]
    assert none.status_code == 400


def test_far_from_address_is_listed_for_the_area(web_db: WebDB) -> None:
    seed_register_and_queue(web_db)
    c = _client(web_db)
    r = post_json(c, "/api/incidents", {"category": CATEGORY, "address": "长安街1号",
                                        "lon": 116.418, "lat": 39.914})
    assert r.status_code == 201
    props = r.get_json()["properties"]
    assert props["address_far"] and props["address_distance_m"] > 1000
    near = post_json(c, "/api/incidents", {"category": CATEGORY, "address": "长安街1号",
                                           "lon": 116.4051, "lat": 39.9061})
    assert not near.get_json()["properties"]["address_far"]
    far = c.get("/api/address-queue/far").get_json()
    assert [i["address"] for i in far["items"]] == ["长安街1号"]
    assert far["items"][0]["id"] == r.get_json()["id"]


def test_amap_display_shifts_candidates_and_converts_the_placed_point(web_db: WebDB) -> None:
    from gridmap import crs

    seed_register_and_queue(web_db)
    c = _client(web_db)
    plain = c.get("/api/address-queue").get_json()["items"][0]["candidates"][0]
    shifted = c.get("/api/address-queue?display=gcj02").get_json()["items"][0]["candidates"][0]
    gx, gy = crs.wgs84_to_gcj02(plain["lon"], plain["lat"])
    assert (shifted["lon"], shifted["lat"]) == (float(gx), float(gy)) != (plain["lon"], plain["lat"])
    qid = c.get("/api/address-queue").get_json()["items"][1]["id"]
    x, y = crs.wgs84_to_gcj02(116.4101, 39.9061)  # picked on a GCJ-02 basemap
    r = post_json(c, f"/api/address-queue/{qid}/place",
                  {"lon": float(x), "lat": float(y), "display": "gcj02"})
    assert r.status_code == 201
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.connect() as conn:
        lon, lat = conn.execute(sa.text("SELECT ST_X(geom), ST_Y(geom) FROM incident WHERE id = :i"),
                                {"i": r.get_json()["incident_id"]}).one()
    eng.dispose()
    assert abs(lon - 116.4101) < 1e-5 and abs(lat - 39.9061) < 1e-5  # stored in WGS84
