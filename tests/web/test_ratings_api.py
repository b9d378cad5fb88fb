"""/api/ratings/* and /ratings/report on the hand-made rating district (tests/ratings/)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook

from tests.fixtures.web import make_app, new_client, post_json
from tests.ratings.web_world import seed
from tests.ratings.world import CODES

pytest_plugins = ["tests.fixtures.web"]
Q = "year=2026&round=acceptance"


@pytest.fixture(scope="module")
def rapp(pg_cluster: Any) -> Iterator[Flask]:
    from tests.conftest import TEMPLATE_DB

    url = pg_cluster.ensure_database(f"gridmap_rw{os.getpid()}", template=TEMPLATE_DB)
    seed(url)
    app = make_app(url)
    yield app
    app.extensions["gridmap.engine"].dispose()


def test_table_ranks_with_reasons_and_change(rapp: Flask) -> None:
    items = new_client(rapp, "admin").get(f"/api/ratings/table?{Q}").get_json()["items"]
    by = {r["code"]: r for r in items}
    a, b = by[CODES["A"]], by[CODES["B"]]
    assert (a["rank"], a["stars"], a["status"], a["confirmed_level"]) == (1, 4, "confirmed",
                                                                         "district")
    assert a["prev_stars"] is not None and a["change"] == 4 - a["prev_stars"]
    assert b["stars"] == 1 or b["stars"] == 2
    assert any("违法搭建" in t for t in b["reasons"])  # zh by default


def test_map_distribution_and_street_filter(rapp: Flask) -> None:
    c = new_client(rapp, "sv1")
    fc = c.get(f"/api/ratings/map?{Q}&street=319801001").get_json()
    assert sorted(f["properties"]["code"] for f in fc["features"]) == [CODES["A"], CODES["B"]]
    d = c.get(f"/api/ratings/distribution?{Q}").get_json()
    assert d["district"]["total"] == 3 and d["district"]["counts"]["4"] == 1
    assert d["district"]["bands"]["five"]["meets"] is False  # no 5★ of 3 committees
    assert c.get("/api/ratings/map?year=2026&round=summer").status_code == 400


def test_street_rater_refused_four_stars_district_leader_and_permissions(rapp: Flask) -> None:
    body = {"year": 2026, "round": "acceptance", "committees": CODES["B"], "stars": 4,
            "note": "表现突出"}
    r = post_json(new_client(rapp, "sv1"), "/api/ratings/confirm", body)
    assert r.status_code == 403 and r.get_json()["code"] == "ratings.stars_not_allowed"
    r = post_json(new_client(rapp, "planner1"), "/api/ratings/compute",
                  {"year": 2026, "round": "acceptance"})
    assert r.status_code == 403 and r.get_json()["code"] == "ratings.not_a_rater"
    r = post_json(new_client(rapp, "sv1"), "/api/ratings/enter", {
        "year": 2026, "round": "acceptance", "committee": CODES["C"], "criterion": "conduct",
        "value": 90, "evidence": "检查"})
    assert r.status_code == 403 and r.get_json()["code"] == "ratings.outside_area"


def test_enter_problems_at_once_and_compute(rapp: Flask) -> None:
    c = new_client(rapp, "dl")
    r = post_json(c, "/api/ratings/enter", {"year": 2026, "round": "acceptance",
                                            "committee": CODES["C"], "criterion": "exemplary",
                                            "value": 0.5, "evidence": " "})
    assert r.status_code == 400
    r = post_json(c, "/api/ratings/compute", {"year": 2026, "round": "acceptance",
                                              "street": "319801002"})
    assert r.status_code == 200 and [i["code"] for i in r.get_json()["items"]] == [CODES["C"]]


def test_xlsx_report_and_audit(rapp: Flask) -> None:
    c = new_client(rapp, "admin")
    r = c.get(f"/api/ratings/export.xlsx?{Q}")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.data))
    rows = list(wb.worksheets[0].values)
    assert rows[0][0] == "排名" and len(rows) == 4 and rows[1][2] == CODES["A"]
    assert wb.worksheets[1]["A2"].value == "全区"
    page = c.get(f"/ratings/report?{Q}&street=319801001").get_data(as_text=True)
    assert "甲街道" in page and "&lt;img src=x&gt;B居委会" in page and "<img src=x>" not in page
    assert c.get(f"/ratings/report?{Q}&street=999999999").status_code == 404
    rid = next(i["rating_id"] for i in c.get(f"/api/ratings/table?{Q}").get_json()["items"]
               if i["code"] == CODES["A"])
    audit = c.get(f"/api/ratings/audit?id={rid}").get_json()
    assert audit["same"] is True and len(audit["cases"]["response"]) == 4
    assert {x["case_no"] for x in audit["cases"]["response"]} == {"A-0", "A-1", "A-2", "A-3"}
