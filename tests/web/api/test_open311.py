"""Open311 GeoReport v2 endpoints (web/api/open311.py): services, requests read/create,
key vs session authentication, CSRF only for sessions, GeoReport error format."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.fixtures.web import WebDB, login, make_app

KEY = "k-secret-123"
WEST = (116.405, 39.905)
EAST = (116.430, 39.910)

pytest_plugins = ["tests.fixtures.web"]


def keyed_app(web_db: WebDB) -> Flask:
    return make_app(web_db.url, OPEN311_API_KEYS=f"{KEY}:test-client")


def form(**extra: str) -> dict[str, str]:
    data = {"service_code": "C0190", "lat": str(WEST[1]), "long": str(WEST[0]),
            "description": "路灯不亮", "first_name": "三", "last_name": "张",
            "phone": "13812345678"}
    data.update(extra)
    return data


def test_services_json_and_xml(client: FlaskClient) -> None:
    services = client.get("/open311/v2/services.json").get_json()
    codes = {s["service_code"] for s in services}
    assert "C0190" in codes and "C01" not in codes  # 大类 are groups, not services
    lamp = next(s for s in services if s["service_code"] == "C0190")
    assert lamp["service_name"].startswith("路灯") and lamp["metadata"] is False
    assert lamp["group"] == "公用设施"
    xml = client.get("/open311/v2/services.xml")
    assert xml.mimetype == "application/xml"
    assert "<service_code>C0190</service_code>" in xml.get_data(as_text=True)


def test_create_with_api_key_without_csrf_then_read(web_db: WebDB) -> None:
    app = keyed_app(web_db)
    c = app.test_client()
    r = c.post("/open311/v2/requests.json", data=form(api_key=KEY))
    assert r.status_code == 201, r.get_json()
    rid = r.get_json()[0]["service_request_id"]
    one = c.get(f"/open311/v2/requests/{rid}.json").get_json()
    assert len(one) == 1 and one[0]["service_code"] == "C0190"
    assert one[0]["status"] == "open"
    assert abs(one[0]["lat"] - WEST[1]) < 1e-9 and abs(one[0]["long"] - WEST[0]) < 1e-9
    # personal data never leaves through Open311
    assert "13812345678" not in str(one) and "张" not in str(one)
    listed = c.get("/open311/v2/requests.json").get_json()
    assert [x["service_request_id"] for x in listed] == [rid]
    assert c.get("/open311/v2/requests.json?status=closed").get_json() == []
    assert c.get("/open311/v2/requests.json?service_code=C0101").get_json() == []
    assert len(c.get(f"/open311/v2/requests.json?service_request_id={rid}").get_json()) == 1
    app.extensions["gridmap.engine"].dispose()


def test_create_refused_without_key_or_with_bad_key(web_db: WebDB) -> None:
    app = keyed_app(web_db)
    c = app.test_client()
    r = c.post("/open311/v2/requests.json", data=form())
    assert r.status_code == 401
    assert r.get_json()[0]["code"] == 401 and r.get_json()[0]["description"]
    assert c.post("/open311/v2/requests.json", data=form(api_key="wrong")).status_code == 401
    assert c.get("/open311/v2/requests.json").get_json() == []
    app.extensions["gridmap.engine"].dispose()


def test_session_create_needs_csrf_and_role(web_db: WebDB) -> None:
    app = keyed_app(web_db)
    officer = login(app.test_client(), "officer")
    r = officer.post("/open311/v2/requests.json", data=form())
    assert r.status_code == 400 and "CSRF" in r.get_json()[0]["description"]
    r = officer.post("/open311/v2/requests.json", data=form(),
                     headers={"X-CSRFToken": officer.csrf})  # type: ignore[attr-defined]
    assert r.status_code == 201
    planner = login(app.test_client(), "planner")
    r = planner.post("/open311/v2/requests.json", data=form(),
                     headers={"X-CSRFToken": planner.csrf})  # type: ignore[attr-defined]
    assert r.status_code == 403
    app.extensions["gridmap.engine"].dispose()


def test_bad_input_gives_geo_report_errors(web_db: WebDB) -> None:
    app = keyed_app(web_db)
    c = app.test_client()
    r = c.post("/open311/v2/requests.json", data={"api_key": KEY, "lat": "95", "long": "abc"})
    assert r.status_code == 400
    assert "service_code" in r.get_json()[0]["description"]
    r = c.post("/open311/v2/requests.json", data=form(api_key=KEY, service_code="NOPE"))
    assert r.status_code == 400
    assert c.get("/open311/v2/requests.json?status=maybe").status_code == 400
    assert c.get("/open311/v2/requests.json?start_date=yesterday").status_code == 400
    assert c.get("/open311/v2/requests.json?service_request_id=1,x").status_code == 400
    r = c.get("/open311/v2/requests/999999.json")
    assert r.status_code == 404 and r.get_json()[0]["code"] == 404
    assert c.get("/open311/v2/requests/abc.json").status_code == 404
    app.extensions["gridmap.engine"].dispose()


def test_oversized_body_is_413(web_db: WebDB) -> None:
    app = make_app(web_db.url, OPEN311_API_KEYS=f"{KEY}:t", max_upload_bytes=2000)
    c = app.test_client()
    r = c.post("/open311/v2/requests.json", data=form(api_key=KEY, description="x" * 5000))
    assert r.status_code == 413 and r.get_json()[0]["code"] == 413
    app.extensions["gridmap.engine"].dispose()
