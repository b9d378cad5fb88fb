"""Layer API: GeoJSON by bbox/zoom, limits and bad input, vector tiles, search, GCJ-02 display."""

from __future__ import annotations

import pytest

from tests.fixtures.web import XSS_NAME, login

pytest_plugins = ["tests.fixtures.web"]

BBOX = "116.399,39.899,116.441,39.916"
STREET1 = "116.400,39.900,116.4199,39.915"


@pytest.fixture
def client(shared_app):
    return shared_app.test_client()


@pytest.fixture
def planner(client):
    return login(client, "planner")


def _fc(resp):
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == "application/geo+json"
    return resp.get_json()


def test_layers_need_login(client) -> None:
    assert client.get(f"/api/layers/communities?bbox={BBOX}&zoom=14").status_code == 401


def test_communities_estates_grids(planner) -> None:
    comm = _fc(planner.get(f"/api/layers/communities?bbox={BBOX}&zoom=14"))
    assert sorted(f["properties"]["name"] for f in comm["features"]) == ["丙社区", "乙社区", "甲社区"]
    assert comm["synthetic"] is True and comm["truncated"] is False
    assert all(f["properties"]["synthetic"] for f in comm["features"])
    west = _fc(planner.get("/api/layers/estates?bbox=116.400,39.900,116.409,39.915&zoom=15"))
    assert [f["properties"]["name"] for f in west["features"]] == ["甲小区"]
    grids = _fc(planner.get(f"/api/layers/grids?bbox={BBOX}&zoom=14"))
    assert {f["properties"]["code"] for f in grids["features"]} == {
        "110101001001001", "110101001002001", "110101002001001"}


def test_buildings_by_bbox_only(planner) -> None:
    fc = _fc(planner.get("/api/layers/buildings?bbox=116.400,39.900,116.4099,39.915&zoom=16"))
    assert len(fc["features"]) == 4
    assert {f["properties"]["residents"] for f in fc["features"]} == {100}
    assert fc["features"][0]["geometry"]["type"] == "MultiPolygon"


def test_buildings_refused_when_zoomed_out_or_bbox_too_big(planner) -> None:
    resp = planner.get(f"/api/layers/buildings?bbox={BBOX}&zoom=12")
    assert resp.status_code == 400 and resp.get_json()["code"] == "mapdata.zoom_in"
    assert resp.get_json()["error"].startswith("请放大到至少 15 级")  # zh by default
    resp = planner.get("/api/layers/buildings?bbox=116.0,39.5,116.9,40.2&zoom=16")
    assert resp.status_code == 400 and resp.get_json()["code"] == "mapdata.bbox_too_large"
    with planner.session_transaction() as s:
        s["lang"] = "en"
    resp = planner.get(f"/api/layers/buildings?bbox={BBOX}&zoom=12")
    assert resp.status_code == 400 and "zoom in" in resp.get_json()["error"]
    resp = planner.get("/api/layers/buildings?bbox=116.0,39.5,116.9,40.2&zoom=16")
    assert resp.status_code == 400 and "bbox too large" in resp.get_json()["error"]


@pytest.mark.parametrize("query", [
    "zoom=14", "bbox=1,2,3&zoom=14", "bbox=a,b,c,d&zoom=14", "bbox=116.5,39.9,116.4,39.95&zoom=14",
    f"bbox={BBOX}", f"bbox={BBOX}&zoom=x", f"bbox={BBOX}&zoom=99", f"bbox={BBOX}&zoom=14&display=bd09",
    "bbox=nan,39.9,116.4,39.95&zoom=14",
])
def test_bad_parameters_give_400_with_message(planner, query: str) -> None:
    resp = planner.get(f"/api/layers/communities?{query}")
    assert resp.status_code == 400
    assert resp.get_json()["error"]


def test_unknown_layer_is_404(planner) -> None:
    assert planner.get(f"/api/layers/secrets?bbox={BBOX}&zoom=14").status_code == 404


def test_facilities_by_type_and_escaping_is_left_to_text(planner) -> None:
    fc = _fc(planner.get(f"/api/layers/facilities?bbox={BBOX}&zoom=14&type=kindergarten"))
    names = sorted(f["properties"]["name"] for f in fc["features"])
    assert names == sorted(["甲幼儿园", XSS_NAME])
    assert {f["properties"]["type_code"] for f in fc["features"]} == {"kindergarten"}
    resp = planner.get(f"/api/layers/facilities?bbox={BBOX}&zoom=14&type=nope")
    assert resp.status_code == 400


def test_gcj02_display_shifts_coordinates(planner) -> None:
    plain = _fc(planner.get(f"/api/layers/facilities?bbox={BBOX}&zoom=14&type=primary_school"))
    shifted = _fc(planner.get(
        f"/api/layers/facilities?bbox={BBOX}&zoom=14&type=primary_school&display=gcj02"))
    (lon, lat), (glon, glat) = (plain["features"][0]["geometry"]["coordinates"],
                                shifted["features"][0]["geometry"]["coordinates"])
    assert (lon, lat) == (116.415, 39.9075)
    # GCJ-02 in Beijing: roughly +0.006° lon, +0.0013° lat (hundreds of metres)
    assert 0.004 < glon - lon < 0.008 and 0.0005 < glat - lat < 0.002


def _tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    import math

    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def test_vector_tiles(planner) -> None:
    x, y = _tile_xy(116.405, 39.9075, 15)
    resp = planner.get(f"/api/tiles/buildings/15/{x}/{y}.pbf")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.mapbox-vector-tile"
    assert len(resp.data) > 50 and b"buildings" in resp.data
    empty = planner.get("/api/tiles/buildings/15/0/0.pbf")
    assert empty.status_code == 200 and empty.data == b""
    assert planner.get(f"/api/tiles/buildings/15/{2**15}/{y}.pbf").status_code == 400
    assert planner.get("/api/tiles/buildings/5/0/0.pbf").status_code == 400
    assert planner.get(f"/api/tiles/nope/15/{x}/{y}.pbf").status_code == 404
    assert planner.get(f"/api/tiles/grids/15/{x}/{y}.pbf").status_code == 200


def test_search_and_facility_types(planner) -> None:
    res = planner.get("/api/search?q=甲").get_json()["results"]
    assert {(r["kind"], r["name"]) for r in res} == {("community", "甲社区"), ("estate", "甲小区")}
    assert planner.get("/api/search?q=%25").get_json()["results"] == []
    assert planner.get("/api/search").status_code == 400
    types = planner.get("/api/facility_types").get_json()["types"]
    kg = next(t for t in types if t["code"] == "kindergarten")
    assert kg["facilities"] == 2 and kg["name_zh"]
