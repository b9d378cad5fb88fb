"""API tests for web/api/org.py: reads need a login, writes the admin role and CSRF; units,
posts, assignments and coverage on the hand-made street of tests/fixtures/org_world.py;
every bad field at once; the routes are in the OpenAPI document."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from gridmap.db import make_engine
from tests.fixtures.org_world import (
    GRID,
    STAFF,
    STREET,
    UNITS,
    OrgWorld,
    build_geography,
    build_org_world,
    org_rows,
    write_org_xlsx,
)
from tests.fixtures.web import WebDB, login

pytest_plugins = ["tests.fixtures.web"]


@pytest.fixture
def world(web_db: WebDB) -> OrgWorld:
    engine = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        w = build_org_world(conn)
    engine.dispose()
    return w


def post(client: FlaskClient, url: str, body: Any, *, method: str = "post",
         token: bool = True) -> Any:
    headers = {"X-CSRFToken": client.csrf} if token else {}  # type: ignore[attr-defined]
    return client.open(url, method=method.upper(), json=body, headers=headers)


def test_reads_need_login_writes_need_admin(app: Flask, world: OrgWorld) -> None:
    assert app.test_client().get("/api/org/units").status_code == 401
    planner = login(app.test_client(), "planner")
    units = planner.get("/api/org/units").get_json()["units"]
    assert units[0]["code"] == "QU" and "JD" in {u["code"] for u in units}
    body = {"code": "LH", "name": "绿化市容所", "kind": "绿化市容所", "parent": "JD"}
    assert post(planner, "/api/org/units", body).status_code == 403
    admin = login(app.test_client(), "admin")
    assert post(admin, "/api/org/units", body, token=False).status_code == 400
    r = post(admin, "/api/org/units", {**body, "areas": [f"street:{STREET}"]})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["unit"]["line"] == "tiao"
    assert post(admin, "/api/org/units", body).status_code == 409


def test_unit_detail_has_parent_chain_staff_and_areas(app: Flask, world: OrgWorld) -> None:
    client = login(app.test_client(), "planner")
    r = client.get(f"/api/org/units/{world.units['WY']}").get_json()
    assert [u["code"] for u in r["parent_chain"]] == ["JW-E", "JD", "QU"]
    assert [s["username"] for s in r["staff"]] == ["ow_wy"]
    assert r["area_ids"]["grid_ids"] == [world.grids["E1"]]
    tree = client.get("/api/org/units?tree=true").get_json()["tree"]
    assert tree[0]["code"] == "QU" and tree[0]["children"][0]["code"] == "JD"
    assert client.get("/api/org/units/999999").status_code == 404


def test_every_bad_field_at_once(app: Flask, world: OrgWorld) -> None:
    admin = login(app.test_client(), "admin")
    r = post(admin, "/api/org/units", {"code": "X", "name": "x", "kind": "火星局",
                                      "line": "斜", "areas": "999", "parent": "NOPE"})
    assert r.status_code == 400
    codes = sorted(p["code"] for p in r.get_json()["problems"])
    assert codes == ["org.bad_area", "org.bad_line", "org.unknown_kind"]
    r = post(admin, "/api/org/units", {"name": 5})
    assert r.status_code == 400
    assert {p["field"] for p in r.get_json()["problems"]} == {"code", "kind", "name"}
    r = post(admin, f"/api/org/units/{world.units['JD']}", {"parent": "CG"}, method="patch")
    assert r.status_code == 400 and r.get_json()["problems"][0]["code"] == "org.parent_cycle"
    r = post(admin, f"/api/org/units/{world.units['JD']}/deactivate", {})
    assert r.status_code == 409


def test_posts_and_assignments_and_coverage(app: Flask, world: OrgWorld) -> None:
    admin = login(app.test_client(), "admin")
    r = post(admin, "/api/org/staff-posts", {"username": "ow_cg", "unit_code": "FG",
                                            "post": "处置人员"})
    assert r.status_code == 200, r.get_json()
    posts = admin.get(f"/api/org/users/{world.users['ow_cg']}/posts").get_json()["posts"]
    assert [(p["unit_code"], p["post"]) for p in posts] == [("CG", "handler"), ("FG", "handler")]
    r = post(admin, "/api/org/staff-posts/revoke", {"username": "ow_cg", "unit_code": "FG",
                                                   "post": "handler"})
    assert r.status_code == 200
    cov = admin.get(f"/api/org/coverage?level=street&street_code={STREET}").get_json()
    assert cov["coverage"][0]["share"] == 0.75 and cov["gaps"][0]["grid_code"] == GRID["W2"]
    r = post(admin, "/api/org/assignments", {"username": "ow_gw_w", "grid_code": GRID["W2"],
                                            "duty": "周末", "valid_from": "2026-01-01"})
    assert r.status_code == 201, r.get_json()
    aid = r.get_json()["assignment"]["id"]
    assert r.get_json()["assignment"]["valid_from"] == "2026-01-01"
    assert admin.get(f"/api/org/coverage?street_code={STREET}").get_json()["gaps"] == []
    listed = admin.get(f"/api/org/assignments?grid_code={GRID['W2']}").get_json()
    assert [a["username"] for a in listed["assignments"]] == ["ow_gw_w"]
    r = post(admin, f"/api/org/assignments/{aid}/end", {"on": "2026-01-01"})
    assert r.status_code == 200 and r.get_json()["assignment"]["valid_to"] == "2026-01-01"
    r = post(admin, "/api/org/assignments", {"grid_code": "nope", "valid_to": "someday"})
    assert r.status_code == 400
    assert {p["field"] for p in r.get_json()["problems"]} == {"username", "valid_to"}
    assert admin.get("/api/org/coverage?level=grid&on=x").status_code == 400


def test_catalogues_and_openapi(app: Flask, world: OrgWorld) -> None:
    client = login(app.test_client(), "planner")
    kinds = client.get("/api/org/kinds").get_json()["kinds"]
    assert {"code": "chengguan", "label": "城管中队"}.items() <= kinds[3].items()
    posts = {p["code"]: p for p in client.get("/api/org/posts").get_json()["posts"]}
    assert "dispatch" in posts["dispatcher"]["actions"] and posts["leader"]["label"] == "领导"
    doc = client.get("/api/openapi.json").get_json()
    assert "/api/org/units/{unit_id}" in doc["paths"]
    body = doc["paths"]["/api/org/units"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]
    assert "201" in doc["paths"]["/api/org/units"]["post"]["responses"]
    assert "201" in doc["paths"]["/api/org/assignments"]["post"]["responses"]


def test_odd_input_is_a_clear_400_or_404(app: Flask, world: OrgWorld) -> None:
    admin = login(app.test_client(), "admin")
    assert admin.get("/api/org/units/99999999999").status_code in (400, 404)
    r = post(admin, "/api/org/units", {"code": "Y", "name": "y", "kind": "police",
                                      "areas": {"level": "street"}})
    assert r.status_code == 400 and r.get_json()["problems"][0]["code"] == "org.bad_areas"
    r = post(admin, "/api/org/units", {"code": "Y", "name": "y", "kind": "police",
                                      "areas": [["x"], 5, {"code": None}]})
    assert r.status_code == 400
    assert {p["code"] for p in r.get_json()["problems"]} == {"org.bad_area"}
    r = post(admin, "/api/org/staff-posts", {"user_id": 2**31, "unit_id": 1, "post": "x"})
    assert r.status_code == 400
    r = post(admin, "/api/org/assignments", [1, 2])
    assert r.status_code == 400


def test_import_a_workbook_through_the_api(app: Flask, web_db: WebDB, tmp_path: Path) -> None:
    engine = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        build_geography(conn)
    engine.dispose()
    admin = login(app.test_client(), "admin")
    book = write_org_xlsx(tmp_path / "org.xlsx").read_bytes()

    def upload(data: bytes, **form: str) -> Any:
        return admin.post("/api/org/import", headers={"X-CSRFToken": admin.csrf},  # type: ignore[attr-defined]
                          data={"file": (io.BytesIO(data), "org.xlsx"), **form},
                          content_type="multipart/form-data")

    dry = upload(book, dry_run="true")
    assert dry.status_code == 200 and dry.get_json()["units_created"] == len(UNITS)
    assert dry.get_json()["passwords"] == []
    assert admin.get("/api/org/units").get_json()["units"] == []
    r = upload(book)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["users_created"] == len(STAFF) + 1 and len(body["passwords"]) == len(STAFF) + 1
    ow_cg = next(p for p in body["passwords"] if p["username"] == "ow_cg")
    staff_client = login(app.test_client(), "ow_cg", ow_cg["temporary_password"])
    assert staff_client.get("/api/org/units").status_code == 200
    rows = org_rows()
    rows["人员"].append(("bad name", "x", "NOPE", "厨师"))
    bad = tmp_path / "bad.xlsx"
    r = upload(write_org_xlsx(bad, rows).read_bytes())
    assert r.status_code == 400
    assert {(p["field"], p["code"]) for p in r.get_json()["problems"]} == {
        ("人员:用户名", "org.bad_username"), ("人员:所属单位", "org.unknown_unit"),
        ("人员:岗位", "org.unknown_post")}
    r = admin.post("/api/org/import", headers={"X-CSRFToken": admin.csrf},  # type: ignore[attr-defined]
                   data={}, content_type="multipart/form-data")
    assert r.status_code == 400 and r.get_json()["problems"][0]["code"] == "org.file_missing"


def test_deactivate_and_reactivate(app: Flask, world: OrgWorld) -> None:
    admin = login(app.test_client(), "admin")
    fg = world.units["FG"]
    assert post(admin, f"/api/org/units/{fg}/deactivate", {}).get_json()["unit"]["active"] is False
    assert "FG" not in {u["code"] for u in admin.get("/api/org/units").get_json()["units"]}
    assert post(admin, f"/api/org/units/{fg}/reactivate", {}).get_json()["unit"]["active"]
