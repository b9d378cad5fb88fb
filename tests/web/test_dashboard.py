"""/dashboard and /api/dashboard/*: who sees it, the payload, drill-down, scope, OpenAPI, CLI."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from gridmap import dashboard
from gridmap.accounts import users
from gridmap.db import make_engine
from tests.dashboard.web_cases import add_cases
from tests.fixtures.web import PASSWORD, WebDB, login, make_app

pytest_plugins = ["tests.fixtures.web"]


@pytest.fixture(scope="module")
def dash_app(shared_web_db: WebDB) -> Iterator[Flask]:
    eng = make_engine(shared_web_db.url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        add_cases(conn)
        users.add(conn, "leader1", PASSWORD, "staff")
        users.add(conn, "handler1", PASSWORD, "staff")
        unit = conn.execute(sa.text(
            "INSERT INTO org_unit (code, name, kind, line, level) VALUES ('U-DASH', '第二街道中心',"
            " 'street', 'kuai', 'street') RETURNING id")).scalar_one()
        conn.execute(sa.text("INSERT INTO org_unit_area (unit_id, area_level, area_code)"
                             " VALUES (:u, 'street', '110101002')"), {"u": unit})
        for name, post in (("leader1", "leader"), ("handler1", "handler")):
            conn.execute(sa.text(
                "INSERT INTO staff_post (user_id, unit_id, post) SELECT id, :u, :p FROM app_user"
                " WHERE username = :n"), {"u": unit, "p": post, "n": name})
    eng.dispose()
    dashboard.clear_cache()
    app = make_app(shared_web_db.url, dashboard_cache_seconds=0)
    yield app
    app.extensions["gridmap.engine"].dispose()


def _get(app: Flask, user: str, url: str) -> Any:
    c = app.test_client()
    login(c, user)
    return c.get(url)


def test_admin_sees_the_whole_district_and_drills_down(dash_app: Flask) -> None:
    r = _get(dash_app, "admin", "/api/dashboard/summary")
    assert r.status_code == 200
    d = r.get_json()
    assert d["area"]["level"] == "district" and d["area"]["child_level"] == "street"
    assert d["kpis"]["open"] == 4 and d["kpis"]["overdue"] == 2
    assert {c["code"]: c["open"] for c in d["children"]} == {"110101001": 3, "110101002": 1}
    street = _get(dash_app, "admin", "/api/dashboard/summary?area=110101001").get_json()
    assert street["kpis"]["open"] == 3 and street["area"]["child_level"] == "community"
    assert [t["level"] for t in street["area"]["trail"]] == ["district", "street"]
    assert {u["case_no"] for u in d["urgent"]} == {"DASH-000", "DASH-003", "DASH-006",
                                                 "DASH-008"}


def test_page_and_nav_link(dash_app: Flask) -> None:
    html = _get(dash_app, "admin", "/dashboard").get_data(as_text=True)
    assert 'data-nav="dashboard"' in html and "echarts.common.min.js" in html
    assert 'id="kpi-open"' in html
    home = _get(dash_app, "planner", "/planner").get_data(as_text=True)
    assert 'data-nav="dashboard"' not in home


def test_who_may_see_it(dash_app: Flask) -> None:
    assert _get(dash_app, "planner", "/dashboard").status_code == 403
    assert _get(dash_app, "handler1", "/api/dashboard/summary").status_code == 403
    leader = _get(dash_app, "leader1", "/api/dashboard/summary")
    assert leader.status_code == 200  # 领导 of the street-2 centre: street 2 only
    assert (leader.get_json()["area"]["code"], leader.get_json()["kpis"]["open"]) == (
        "110101002", 1)
    assert dash_app.test_client().get("/api/dashboard/summary").status_code == 401


def test_supervisor_is_scoped_to_their_street(dash_app: Flask) -> None:
    d = _get(dash_app, "supervisor", "/api/dashboard/summary").get_json()
    assert (d["area"]["level"], d["area"]["code"]) == ("street", "110101001")
    assert d["kpis"]["open"] == 3
    r = _get(dash_app, "supervisor", "/api/dashboard/summary?area=110101002001")
    assert r.status_code == 403 and r.get_json()["code"] == "dashboard.area_outside"
    r = _get(dash_app, "admin", "/api/dashboard/summary?area=999")
    assert r.status_code == 404 and r.get_json()["code"] == "dashboard.unknown_area"


def test_areas_and_heat(dash_app: Flask) -> None:
    shapes = _get(dash_app, "admin", "/api/dashboard/areas?area=110101001").get_json()
    assert sorted(f["properties"]["code"] for f in shapes["features"]) == [
        "110101001001", "110101001002"]
    h = _get(dash_app, "admin", "/api/dashboard/heat?area=110101001&bbox=116.39,39.89,116.45,39.92"
             "&zoom=15").get_json()
    assert h["total"] == 6
    assert _get(dash_app, "admin", "/api/dashboard/heat?bbox=1,2&zoom=99").status_code == 400


def test_openapi_documents_the_endpoints(dash_app: Flask) -> None:
    spec = dash_app.test_client().get("/api/openapi.json").get_json()
    for path in ("/api/dashboard/summary", "/api/dashboard/areas", "/api/dashboard/heat"):
        assert path in spec["paths"]
    names = {p["name"] for p in spec["paths"]["/api/dashboard/heat"]["get"]["parameters"]}
    assert {"area", "bbox", "zoom"} <= names


def test_areas_shift_to_gcj02_for_an_amap_basemap(dash_app: Flask) -> None:
    wgs = _get(dash_app, "admin", "/api/dashboard/areas").get_json()
    gcj = _get(dash_app, "admin", "/api/dashboard/areas?display=gcj02").get_json()
    def first_lon(geom: dict) -> float:
        c: Any = geom["coordinates"]
        while isinstance(c[0], list):
            c = c[0]
        return float(c[0])
    shift = first_lon(gcj["features"][0]["geometry"]) - first_lon(wgs["features"][0]["geometry"])
    assert 0.003 < abs(shift) < 0.01  # the GCJ-02 offset near Beijing, ~500 m


def test_echarts_is_vendored_pinned_with_its_licence() -> None:
    import json

    from web import assets

    pkg = json.loads((assets.ROOT / "package.json").read_text(encoding="utf-8"))
    assert pkg["dependencies"]["echarts"] == "6.1.0"  # exact pin, no range
    manifest = json.loads((assets.VENDOR / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["packages"]["echarts"] == "6.1.0"
    for name in ("echarts.min.js", "echarts.common.min.js", "LICENSE", "NOTICE"):
        assert f"echarts/{name}" in manifest["files"]
    assert "Apache License" in (assets.VENDOR / "echarts" / "LICENSE").read_text(encoding="utf-8")


def test_page_in_english(dash_app: Flask) -> None:
    c = dash_app.test_client()
    login(c, "admin")
    c.post("/lang", data={"lang": "en", "csrf_token": c.csrf})  # type: ignore[attr-defined]
    html = c.get("/dashboard").get_data(as_text=True)
    assert "District dashboard" in html and "Closure rate" in html and "一屏观天下" not in html
