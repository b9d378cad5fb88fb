"""Planner API: coverage choropleth, gaps, what-if, candidates, service areas, roles."""

from __future__ import annotations

import pytest

from tests.fixtures.web import login, make_app

pytest_plugins = ["tests.fixtures.web"]

BBOX = "116.399,39.899,116.441,39.916"


@pytest.fixture(scope="module")
def cov_app(coverage_web_db):
    application = make_app(coverage_web_db.url)
    yield application
    application.extensions["gridmap.engine"].dispose()


@pytest.fixture
def planner(cov_app):
    return login(cov_app.test_client(), "planner")


def test_page_renders_for_planner_only(cov_app, planner) -> None:
    from web.assets import cdn_urls

    html = planner.get("/planner").get_data(as_text=True)
    assert "15分钟生活圈规划" in html and "合成" in html
    assert cdn_urls(html) == []
    assert "<script>alert(1)</script>" not in html
    for role in ("supervisor", "officer"):
        c = login(cov_app.test_client(), role)
        assert c.get("/planner").status_code == 403
        assert c.get("/api/planner/gaps?level=estate").status_code == 403
    admin = login(cov_app.test_client(), "admin")
    assert admin.get("/planner").status_code == 200


def test_coverage_choropleth(planner) -> None:
    resp = planner.get(f"/api/planner/coverage?level=estate&type=kindergarten&bbox={BBOX}&zoom=14")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    fc = resp.get_json()
    by_name = {f["properties"]["name"]: f["properties"] for f in fc["features"]}
    assert set(by_name) == {"甲小区", "乙小区", "丙小区"}
    for p in by_name.values():
        assert p["residents"] == 400 and 0 <= p["share"] <= 1
    assert fc["synthetic"] is True


def test_gaps_have_bbox_for_zoom(planner) -> None:
    resp = planner.get("/api/planner/gaps?level=community")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    gaps = resp.get_json()["gaps"]
    assert gaps, "the small district lacks many required types"
    assert all(len(g["bbox"]) == 4 for g in gaps)
    assert gaps == sorted(gaps, key=lambda g: -g["residents_affected"])
    one = planner.get("/api/planner/gaps?level=community&type=primary_school").get_json()["gaps"]
    assert {g["type_code"] for g in one} <= {"primary_school"}


def test_whatif_adds_covered_residents(planner) -> None:
    body = {"add": [{"type": "primary_school", "lon": 116.435, "lat": 39.9075}]}
    resp = planner.post("/api/planner/whatif", json=body, headers={"X-CSRFToken": planner.csrf})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    t = resp.get_json()["types"][0]
    assert t["type_code"] == "primary_school"
    assert t["after"]["residents"] >= t["before"]["residents"]
    assert t["delta"]["residents"] == t["after"]["residents"] - t["before"]["residents"]


@pytest.mark.parametrize("body", [
    [], {"add": "x"}, {"add": [{"type": "primary_school", "lon": "a", "lat": 1}]},
    {"add": [{"type": "nope", "lon": 116.4, "lat": 39.9}]}, {"remove": ["1"]},
    {"add": [], "remove": []}, {"remove": [99999]}, {"crs": "bd09", "add": []},
])
def test_whatif_bad_input_is_400(planner, body) -> None:
    resp = planner.post("/api/planner/whatif", json=body, headers={"X-CSRFToken": planner.csrf})
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert resp.get_json()["error"]


def test_whatif_needs_csrf(planner) -> None:
    body = {"add": [{"type": "primary_school", "lon": 116.435, "lat": 39.9075}]}
    assert planner.post("/api/planner/whatif", json=body).status_code == 400


def test_whatif_oversized_body_is_413(coverage_web_db) -> None:
    small = make_app(coverage_web_db.url, max_upload_bytes=2000)
    c = login(small.test_client(), "planner")
    resp = c.post("/api/planner/whatif", data=b"[" + b"1," * 3000 + b"1]",
                  headers={"X-CSRFToken": c.csrf, "Content-Type": "application/json"})
    assert resp.status_code == 413
    small.extensions["gridmap.engine"].dispose()


def test_candidates_and_service_areas(planner) -> None:
    resp = planner.get("/api/planner/candidates?type=primary_school&k=2")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    cands = resp.get_json()["candidates"]
    assert 1 <= len(cands) <= 2 and all("lon" in c and "lat" in c for c in cands)
    assert planner.get("/api/planner/candidates?type=primary_school&k=0").status_code == 400
    assert planner.get("/api/planner/candidates").status_code == 400
    sa = planner.get(f"/api/planner/service_areas?type=kindergarten&minutes=5&bbox={BBOX}")
    assert sa.status_code == 200, sa.get_data(as_text=True)
    assert sa.get_json()["features"]
    assert planner.get(
        f"/api/planner/service_areas?type=nope&minutes=5&bbox={BBOX}").status_code == 400


@pytest.mark.parametrize("query", ["level=street", "level=estate&type=nope&bbox=" + BBOX,
                                   "level=estate&type=kindergarten", "level=estate"])
def test_coverage_bad_parameters(planner, query: str) -> None:
    assert planner.get(f"/api/planner/coverage?{query}").status_code == 400


def test_without_computed_coverage_the_api_says_what_to_run(shared_app) -> None:
    c = login(shared_app.test_client(), "planner")
    resp = c.get("/api/planner/gaps?level=estate")
    assert resp.status_code == 404
    assert "gridmap coverage refresh" in resp.get_json()["error"]
    assert c.get("/planner").status_code == 200


def test_amap_basemap_uses_gcj02_display_and_converts_clicks_back(coverage_web_db) -> None:
    import numpy as np

    from gridmap.crs import wgs84_to_gcj02

    amap = make_app(coverage_web_db.url, basemap="amap")
    c = login(amap.test_client(), "planner")
    html = c.get("/planner").get_data(as_text=True)
    assert 'window.GM_DISPLAY = "gcj02"' in html and "autonavi" in html
    lon, lat = wgs84_to_gcj02(np.array([116.4235]), np.array([39.9075]))
    wgs = {"add": [{"type": "primary_school", "lon": 116.4235, "lat": 39.9075}]}
    gcj = {"add": [{"type": "primary_school", "lon": float(lon[0]), "lat": float(lat[0])}],
           "crs": "gcj02"}
    h = {"X-CSRFToken": c.csrf}
    a = c.post("/api/planner/whatif", json=wgs, headers=h).get_json()
    b = c.post("/api/planner/whatif", json=gcj, headers=h).get_json()
    assert a["types"][0]["after"] == b["types"][0]["after"]
    assert abs(b["added"][0]["lon"] - 116.4235) < 1e-6
    amap.extensions["gridmap.engine"].dispose()


def test_whatif_lists_changed_estates_and_draws_the_new_service_area(planner) -> None:
    body = {"add": [{"type": "primary_school", "lon": 116.4235, "lat": 39.9075}],
            "level": "estate", "type": "primary_school"}
    resp = planner.post("/api/planner/whatif", json=body, headers={"X-CSRFToken": planner.csrf})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    res = resp.get_json()
    assert res["focus"] == "primary_school" and res["level"] == "estate"
    gained = {u["unit_name"]: u for u in res["units"]}
    assert "丙小区" in gained
    u = gained["丙小区"]
    assert u["residents_gained"] > 0 and u["share_after"] > u["share_before"]
    assert len(u["bbox"]) == 4 and u["bbox"][0] < 116.4235 < u["bbox"][2]
    [area] = res["service_areas"]["features"]
    assert area["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert area["properties"]["radius_m"] > 0
    body["level"] = "community"
    res = planner.post("/api/planner/whatif", json=body,
                       headers={"X-CSRFToken": planner.csrf}).get_json()
    assert [x["unit_name"] for x in res["units"]] == ["丙社区"]


@pytest.mark.parametrize("extra", [{"level": "street"}, {"type": "kindergarten"},
                                   {"type": 5}, {"level": None}])
def test_whatif_detail_bad_level_or_focus_is_400(planner, extra) -> None:
    body = {"add": [{"type": "primary_school", "lon": 116.4235, "lat": 39.9075}], **extra}
    resp = planner.post("/api/planner/whatif", json=body, headers={"X-CSRFToken": planner.csrf})
    assert resp.status_code == 400, resp.get_data(as_text=True)


def test_candidates_have_address_and_estates_served(planner) -> None:
    cands = planner.get("/api/planner/candidates?type=primary_school&k=3").get_json()["candidates"]
    assert [c["rank"] for c in cands] == list(range(1, len(cands) + 1))
    for c in cands:
        assert c["road"].startswith("测试路") and c["road_m"] < 100
        assert c["serves"] and sum(s["residents"] for s in c["serves"]) == c["residents_added"]
        assert "building_ids" not in c


def test_gaps_have_share_and_export_as_xlsx(planner) -> None:
    import io

    from openpyxl import load_workbook

    gaps = planner.get("/api/planner/gaps?level=estate&type=primary_school").get_json()["gaps"]
    assert gaps and all(0 <= g["share"] < 1 for g in gaps)
    resp = planner.get("/api/planner/gaps.xlsx?level=estate&type=primary_school")
    assert resp.status_code == 200
    assert "gaps-estate-primary_school.xlsx" in resp.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(resp.data)).active
    assert ws["A1"].value == "单元"
    assert [r[0] for r in ws.iter_rows(min_row=2, values_only=True)] == [g["unit_name"] for g in gaps]
    assert planner.get("/api/planner/gaps.xlsx?level=street").status_code == 400
    assert planner.get("/api/planner/gaps.xlsx?level=estate&type=nope").status_code == 400
