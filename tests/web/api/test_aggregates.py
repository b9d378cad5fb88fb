"""API tests for web/api/aggregates.py: heatmap (points vs cells, density intensity), per-grid
indicators, overdue list and hotspots, the short-lived per-scope cache."""

from __future__ import annotations

from flask import Flask

from tests.fixtures.web import BBOX, WEST, WebDB, create, new_client

pytest_plugins = ["tests.fixtures.web"]


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

    from web.api.aggregates import density_intensity

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
