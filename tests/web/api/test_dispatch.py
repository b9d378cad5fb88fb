"""API tests for web/api/dispatch.py: rule sets (create, history, activate, export/import,
rerun), bad input (400 with every problem, nothing stored), roles and posts (401/403),
optimistic locking (409), the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from gridmap.accounts import users
from gridmap.db import make_engine
from tests.fixtures.dispatch_world import RULES
from tests.fixtures.org_world import PASSWORD, build_org_world
from tests.fixtures.web import login, make_app, post_json

pytest_plugins = ["tests.fixtures.web"]


@pytest.fixture
def app(fresh_db_url: str) -> Iterator[Flask]:
    eng = make_engine(fresh_db_url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        build_org_world(conn)
        users.add(conn, "admin", PASSWORD, "admin")
        users.add(conn, "planner", PASSWORD, "planner")
    eng.dispose()
    application = make_app(fresh_db_url)
    yield application
    application.extensions["gridmap.engine"].dispose()


def _as(app: Flask, username: str) -> FlaskClient:
    return login(app.test_client(), username, PASSWORD)


def test_rule_sets_versions_and_history(app: Flask) -> None:
    admin = _as(app, "admin")
    r = post_json(admin, "/api/dispatch/rule-sets", {"rules": RULES, "note": "v1"})
    assert r.status_code == 201, r.get_json()
    first = r.get_json()["set_id"]
    assert [x["unit"] for x in r.get_json()["rules"]] == ["CG", "WY", "FG", "JD"]
    r = post_json(admin, "/api/dispatch/rule-sets", {"rules": RULES[:1], "activate": True})
    second = r.get_json()["set_id"]
    sets = admin.get("/api/dispatch/rule-sets").get_json()["sets"]
    assert [(s["id"], s["active"], s["rules"]) for s in sets] == [
        (second, True, 1), (first, False, 4)]
    assert admin.get("/api/dispatch/rules").get_json()["set_id"] == second
    assert len(admin.get(f"/api/dispatch/rules?set_id={first}").get_json()["rules"]) == 4
    assert post_json(admin, f"/api/dispatch/rule-sets/{first}/activate", {}).status_code == 200
    assert admin.get("/api/dispatch/rules").get_json()["set_id"] == first
    assert post_json(admin, "/api/dispatch/rule-sets/999999/activate", {}).status_code == 404
    r = post_json(admin, "/api/dispatch/rules/rerun", {"dry_run": True})
    assert r.status_code == 200 and r.get_json()["dry_run"] is True


def test_bad_rules_are_400_with_every_problem(app: Flask) -> None:
    admin = _as(app, "admin")
    r = post_json(admin, "/api/dispatch/rule-sets", {"rules": [
        {"category": "X1", "unit": "CG"}, {"urgency": "soon"}, "not a rule"]})
    assert r.status_code == 400
    assert [(p.get("row"), p["code"]) for p in r.get_json()["problems"]] == [
        (3, "dispatch.rule_not_object")]
    r = post_json(admin, "/api/dispatch/rule-sets", {"rules": [
        {"category": "X1", "unit": "CG"}, {"urgency": "soon"}]})
    assert r.status_code == 400
    assert {(p.get("row"), p["code"]) for p in r.get_json()["problems"]} == {
        (1, "dispatch.unknown_category"), (2, "dispatch.unknown_urgency"),
        (2, "dispatch.unit_missing")}
    assert post_json(admin, "/api/dispatch/rule-sets", {"rules": "x"}).status_code == 400
    assert admin.get("/api/dispatch/rule-sets").get_json()["sets"] == []


def test_export_import_round_trip(app: Flask) -> None:
    admin = _as(app, "admin")
    post_json(admin, "/api/dispatch/rule-sets", {"rules": RULES, "activate": True})
    r = admin.get("/api/dispatch/rules/export?format=xlsx")
    assert r.status_code == 200 and r.data[:2] == b"PK"
    r = admin.post("/api/dispatch/rule-sets/import", headers={"X-CSRFToken": admin.csrf},
                   data={"file": (BytesIO(r.data), "rules.xlsx"), "dry_run": "true"},
                   content_type="multipart/form-data")
    assert r.status_code == 200 and r.get_json()["rules"] == 4, r.get_json()
    r = admin.post("/api/dispatch/rule-sets/import", headers={"X-CSRFToken": admin.csrf},
                   data={}, content_type="multipart/form-data")
    assert r.status_code == 400 and r.get_json()["problems"][0]["field"] == "file"
    csv = admin.get("/api/dispatch/rules/export").data.decode("utf-8-sig")
    assert csv.splitlines()[0].startswith("顺序,类别")


def test_roles_and_posts(app: Flask) -> None:
    anon = app.test_client()
    assert anon.get("/api/dispatch/rule-sets").status_code == 401
    assert _as(app, "ow_dispatch").get("/api/dispatch/rule-sets").status_code == 403
    admin = _as(app, "admin")
    r = post_json(admin, "/api/incidents", {"category": "E0102", "lon": 121.5125,
                                            "lat": 31.305})
    case_id = r.get_json()["properties"]["id"]
    planner = _as(app, "planner")
    assert post_json(planner, f"/api/dispatch/cases/{case_id}/act",
                     {"to": "filed"}).status_code == 403
    jwe = _as(app, "ow_jwe")                              # 东社区: the case is in 西社区
    assert jwe.get(f"/api/dispatch/cases/{case_id}").status_code == 403
    r = post_json(_as(app, "ow_acceptor"), f"/api/dispatch/cases/{case_id}/act",
                  {"to": "filed", "version": 0, "unit_id": "x"})
    assert r.status_code == 400 and r.get_json()["problems"][0]["field"] == "unit_id"
    r = post_json(_as(app, "ow_acceptor"), f"/api/dispatch/cases/{case_id}/act",
                  {"to": "filed", "version": 7})
    assert r.status_code == 409


def test_openapi_documents_the_dispatch_routes(app: Flask) -> None:
    paths = app.test_client().get("/api/openapi.json").get_json()["paths"]
    for p in ("/api/dispatch/rule-sets", "/api/dispatch/rules/rerun",
              "/api/dispatch/cases/{incident_id}/act",
              "/api/dispatch/cases/{incident_id}/raise-level"):
        assert p in paths, p
    assert "to" in str(paths["/api/dispatch/cases/{incident_id}/act"]["post"])
