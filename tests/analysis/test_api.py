"""``/api/analysis/ehsa`` and ``/api/analysis/pai`` through the Flask test client: the
supervisor's area only, labels in the session's language, every bad parameter reported."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.analysis.world import SURGE, WEB_COLS, WEB_HOT, WEB_ROWS, web_lattice
from tests.fixtures.web import WebDB, login, make_app

pytest_plugins = ["tests.fixtures.web"]


@pytest.fixture(scope="module")
def lattice_app(shared_web_db: WebDB) -> Iterator[tuple[Flask, WebDB]]:
    """The module's web district with the lattice in 甲社区 (module scope: read-only tests)."""
    shared_web_db.ids["lattice"] = web_lattice(shared_web_db.url, shared_web_db.ids)
    app = make_app(shared_web_db.url)
    yield app, shared_web_db
    app.extensions["gridmap.engine"].dispose()


def test_ehsa_for_the_supervisors_area(lattice_app: Any) -> None:
    app, db = lattice_app
    client: FlaskClient = login(app.test_client(), "supervisor")
    body = client.get("/api/analysis/ehsa?step=week").get_json()
    summ = body["summary"]
    # street 110101001: the lattice of 甲社区 and 乙社区's one grid, not 丙社区's
    assert summ["n_grids"] == WEB_ROWS * WEB_COLS + 1 and summ["n_steps"] == 104
    by_id = {g["grid_id"]: g for g in body["grids"]}
    for i, j in WEB_HOT:
        assert by_id[db.ids["lattice"][i * WEB_COLS + j]]["class"] == "consecutive_hot"
    assert db.ids["grid"]["110101002001"] not in by_id
    legend = {c["code"]: c for c in body["legend"]}
    assert legend["consecutive_hot"]["label"] == "连续热点"
    assert legend["consecutive_hot"]["label_en"] == "Consecutive hot spot"
    assert "九成" in legend["persistent_hot"]["description"]
    other = client.get("/api/analysis/ehsa?category=E05,E06").get_json()
    assert other["summary"]["cases"] == 0  # the planted cases are E0102
    geo = client.get("/api/analysis/ehsa?step=week&geometry=true").get_json()
    feats = geo["features"]["features"]
    assert {f["properties"]["class"] for f in feats} >= {"consecutive_hot"}
    assert all(f["geometry"]["type"] == "MultiPolygon" for f in feats)


def test_pai_of_both_maps(lattice_app: Any) -> None:
    app, _ = lattice_app
    client = login(app.test_client(), "supervisor")
    items = {r["method"]: r for r in client.get("/api/analysis/pai").get_json()["items"]}
    assert set(items) == {"gi", "ehsa"}
    for r in items.values():
        assert r["cases"] == len(WEB_HOT) * SURGE + (WEB_ROWS * WEB_COLS - len(WEB_HOT)) * 2
        assert r["cases_hot"] >= len(WEB_HOT) * SURGE and r["pai"] > 1.5


def test_bad_parameters_all_reported(lattice_app: Any) -> None:
    app, _ = lattice_app
    client = login(app.test_client(), "supervisor")
    resp = client.get("/api/analysis/ehsa?step=day&start=yesterday&end=2025-13-01&time_lag=9")
    assert resp.status_code == 400
    fields = {p["field"] for p in resp.get_json()["problems"]}
    assert fields == {"step", "start", "end", "time_lag"}
    unknown = client.get("/api/analysis/pai?street=999999999")
    assert unknown.status_code == 400 and unknown.get_json()["code"] == "analysis.street_unknown"
    planner = login(app.test_client(), "planner")
    assert planner.get("/api/analysis/ehsa").status_code == 403


def test_workload_plan_through_the_api(lattice_app: Any) -> None:
    app, db = lattice_app
    officer = login(app.test_client(), "officer")
    token = {"X-CSRFToken": officer.csrf}  # type: ignore[attr-defined]
    comm = db.ids["community"]["110101001002"]  # 乙社区: 4 buildings of 40 households
    resp = officer.post("/api/analysis/autopartition", json={"community_id": comm,
                        "target": "cases", "seed": 1}, headers=token)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    body = resp.get_json()
    vid = body["version"]["id"]
    assert body["balance"]["households"]["mean"] == 160  # one grid: the whole community
    assert body["balance"]["workload"]["target"] == "cases"
    bal = officer.get(f"/api/analysis/balance?version={vid}&target=patrol").get_json()
    assert bal["grids"] == 1 and bal["per_grid"][0]["households"] == 160
    again = officer.post("/api/analysis/rebalance", json={"version_id": vid,
                         "target": "cases"}, headers=token)
    assert again.status_code == 200 and again.get_json()["moves"] == []
    bad = officer.post("/api/analysis/autopartition", json={"community_id": comm,
                       "target": "households"}, headers=token)
    assert bad.status_code == 400 and bad.get_json()["problems"][0]["field"] == "target"
    # the grids API's own auto-partition takes the same second target
    plain = officer.post(f"/api/grids/communities/{comm}/autopartition",
                         json={"seed": 1, "second_target": "patrol"}, headers=token)
    assert plain.status_code == 201, plain.get_data(as_text=True)
    pvid = plain.get_json()["version"]["id"]
    lock = plain.get_json()["version"]["lock_version"]
    moved = officer.post(f"/api/grids/versions/{pvid}/rebalance",
                         json={"lock_version": lock, "second_target": "cases"}, headers=token)
    assert moved.status_code == 200, moved.get_data(as_text=True)
    wrong = officer.post(f"/api/grids/communities/{comm}/autopartition",
                         json={"second_target": "people"}, headers=token)
    assert wrong.status_code == 400
    assert wrong.get_json()["problems"][0]["field"] == "second_target"
    supervisor = login(app.test_client(), "supervisor")
    denied = supervisor.post("/api/analysis/autopartition", json={
        "community_id": comm, "target": "cases"},
        headers={"X-CSRFToken": supervisor.csrf})  # type: ignore[attr-defined]
    assert denied.status_code == 403
