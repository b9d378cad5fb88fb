"""API tests for web/api/grids.py: roles (401/403), CSRF, the draft → move → validate →
impact → activate flow, optimistic-locking conflicts (409) and bad input (400).

Uses the small district of tests/fixtures/web.py (甲社区 has one grid, 4 buildings).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.fixtures.web import WebDB, login

pytest_plugins = ["tests.fixtures.web"]

JIA = "110101001001"


def post(client: FlaskClient, url: str, body: Any, *, token: bool = True) -> Any:
    headers = {"X-CSRFToken": client.csrf} if token else {}  # type: ignore[attr-defined]
    return client.post(url, json=body, headers=headers)


def _draft(client: FlaskClient, cid: int) -> dict[str, Any]:
    r = post(client, f"/api/grids/communities/{cid}/drafts", {"note": "test"})
    assert r.status_code == 201, r.get_json()
    v: dict[str, Any] = r.get_json()["version"]
    return v


def test_reads_need_login_and_changes_need_officer(app: Flask, web_db: WebDB) -> None:
    cid = web_db.ids["community"][JIA]
    anon = app.test_client()
    assert anon.get(f"/api/grids/communities/{cid}/versions").status_code == 401
    planner = login(app.test_client(), "planner")
    r = planner.get(f"/api/grids/communities/{cid}/versions")
    assert r.status_code == 200 and r.get_json()["active"] is not None
    r = post(planner, f"/api/grids/communities/{cid}/drafts", {})
    assert r.status_code == 403
    officer = login(app.test_client(), "officer")
    r = post(officer, f"/api/grids/communities/{cid}/drafts", {}, token=False)
    assert r.status_code == 400 and "CSRF" in r.get_json()["error"]
    assert post(officer, f"/api/grids/communities/{cid}/drafts", {}).status_code == 201


def test_officer_moves_a_building_validates_previews_and_activates(app: Flask, web_db: WebDB
                                                                   ) -> None:
    cid = web_db.ids["community"][JIA]
    officer = login(app.test_client(), "officer")
    v = _draft(officer, cid)
    vid, lock = v["id"], v["lock_version"]
    units = officer.get(f"/api/grids/versions/{vid}/units").get_json()["features"]
    buildings = [f for f in units if f["properties"]["unit_type"] == "building"]
    assert len(buildings) == 4
    bid = buildings[0]["properties"]["unit_id"]
    # move one building into a new grid
    r = post(officer, f"/api/grids/versions/{vid}/moves",
             {"units": [["building", bid]], "to_grid": None, "lock_version": lock})
    assert r.status_code == 200, r.get_json()
    out = r.get_json()
    new_grid, lock = out["to_grid_id"], out["lock_version"]
    r = officer.get(f"/api/grids/versions/{vid}")
    feats = r.get_json()["grids"]["features"]
    assert len(feats) == 2
    # validation: no responsible party (errors), households below range (warnings)
    res = officer.get(f"/api/grids/versions/{vid}/validate").get_json()
    assert res["errors"] >= 1
    # shown in the page's language (zh by default), the English text kept for API clients
    assert any("未指定责任主体" in p["reason"] and "responsible party" in p["reason_en"]
               and "geometry" in p for p in res["problems"])
    for f in feats:
        r = post(officer, f"/api/grids/versions/{vid}/grids/{f['id']}",
                 {"responsible_party": "甲社区居委会", "lock_version": lock})
        assert r.status_code == 200, r.get_json()
        lock = r.get_json()["lock_version"]
    assert officer.get(f"/api/grids/versions/{vid}/validate").get_json()["errors"] == 0
    imp = officer.get(f"/api/grids/versions/{vid}/impact").get_json()
    assert [m["unit_id"] for m in imp["moves"]] == [bid]
    after = {g["grid_id"]: g["after"] for g in imp["grids"]}
    assert after[new_grid]["households"] == 40 and after[new_grid]["buildings"] == 1
    # activate
    r = post(officer, f"/api/grids/versions/{vid}/activate",
             {"effective": "2030-01-01", "lock_version": lock})
    assert r.status_code == 200, r.get_json()
    assert sorted(r.get_json()["grid_codes"]) == [f"{JIA}001", f"{JIA}002"]
    lon, lat = buildings[0]["geometry"]["coordinates"][0][0][0]
    r = officer.get(f"/api/grids/at?lon={lon}&lat={lat}&at=2030-02-01")
    assert r.get_json()["grid"] is not None


def test_second_officer_gets_a_conflict(app: Flask, web_db: WebDB) -> None:
    cid = web_db.ids["community"][JIA]
    a = login(app.test_client(), "officer")
    b = login(app.test_client(), "admin")
    v = _draft(a, cid)
    units = a.get(f"/api/grids/versions/{v['id']}/units").get_json()["features"]
    ids = [f["properties"]["unit_id"] for f in units if f["properties"]["unit_type"] == "building"]
    r = post(a, f"/api/grids/versions/{v['id']}/moves",
             {"units": [["building", ids[0]]], "to_grid": None, "lock_version": v["lock_version"]})
    assert r.status_code == 200
    r = post(b, f"/api/grids/versions/{v['id']}/moves",
             {"units": [["building", ids[1]]], "to_grid": None, "lock_version": v["lock_version"]})
    assert r.status_code == 409
    assert "officer" in r.get_json()["error"] and "本次未保存" in r.get_json()["error"]
    feats = a.get(f"/api/grids/versions/{v['id']}").get_json()["grids"]["features"]
    assert len(feats) == 2  # b's new grid was not created


def test_bad_input_lists_every_problem(app: Flask, web_db: WebDB) -> None:
    cid = web_db.ids["community"][JIA]
    officer = login(app.test_client(), "officer")
    v = _draft(officer, cid)
    r = post(officer, f"/api/grids/versions/{v['id']}/moves",
             {"units": [["building"], "x"], "to_grid": "abc"})
    assert r.status_code == 400
    fields = sorted(p.get("field") for p in r.get_json()["problems"])
    assert fields == ["lock_version", "to_grid", "units", "units"]
    r = post(officer, f"/api/grids/versions/{v['id']}/geometry",
             {"geometry": {"type": "Point", "coordinates": [1, 2]}, "lock_version": 0})
    assert r.status_code == 400
    assert officer.get("/api/grids/versions/999999").status_code == 404


def test_amap_basemap_shifts_display_and_converts_drawn_shapes_back(app: Flask,
                                                                    web_db: WebDB) -> None:
    """On a GCJ-02 basemap the page gets shifted geometries (?display=gcj02) and sends what
    the officer drew with crs=gcj02; the server stores WGS84."""
    import numpy as np
    import shapely
    from shapely.geometry import box, shape

    from gridmap.crs import wgs84_to_gcj02

    cid = web_db.ids["community"][JIA]
    officer = login(app.test_client(), "officer")
    v = _draft(officer, cid)
    url = f"/api/grids/versions/{v['id']}"
    plain = officer.get(url).get_json()["grids"]["features"][0]["geometry"]
    shifted = officer.get(url + "?display=gcj02").get_json()["grids"]["features"][0]["geometry"]
    x, y = np.array(plain["coordinates"][0]).T if plain["type"] == "Polygon" else \
        np.array(plain["coordinates"][0][0]).T
    gx, gy = wgs84_to_gcj02(x, y)
    sx, sy = np.array(shifted["coordinates"][0]).T if shifted["type"] == "Polygon" else \
        np.array(shifted["coordinates"][0][0]).T
    assert np.allclose(sx, gx, atol=2e-6) and np.allclose(sy, gy, atol=2e-6)
    assert abs(sx - x).max() > 1e-3  # really moved (hundreds of metres in Beijing)
    assert officer.get(url + "?display=bd09").status_code == 400
    # draw a box on the GCJ-02 map inside the community: stored in WGS84
    grid = shape(plain)
    c = grid.centroid
    wgs_box = box(c.x - 0.0004, c.y - 0.0004, c.x + 0.0004, c.y + 0.0004)
    gcj_box = shapely.transform(wgs_box, lambda xy: np.column_stack(
        wgs84_to_gcj02(xy[:, 0], xy[:, 1])))
    r = post(officer, url + "/geometry", {"grid_id": None, "lock_version": v["lock_version"],
                                          "crs": "gcj02",
                                          "geometry": shapely.geometry.mapping(gcj_box)})
    assert r.status_code == 200, r.get_json()
    feats = officer.get(url).get_json()["grids"]["features"]
    drawn = [shape(f["geometry"]) for f in feats]
    best = max(drawn, key=lambda g: g.intersection(wgs_box).area / max(g.area, 1e-12))
    assert best.symmetric_difference(wgs_box).area < 0.01 * wgs_box.area
