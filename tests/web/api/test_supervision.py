"""API tests for web/api/supervision.py: the 督办 list per unit/street with scopes,
notifications (list with text, unread count, mark read, bad ids), indicators as JSON and
XLSX, bad input (400), the 评价 transition with satisfaction, the OpenAPI document."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from io import BytesIO

import openpyxl
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from gridmap.accounts import users
from gridmap.db import make_engine
from gridmap.supervision import scan
from tests.fixtures.supervision_cases import run_cases
from tests.fixtures.supervision_world import build_street, dispatched_case
from tests.fixtures.web import login, make_app, post_json

pytest_plugins = ["tests.fixtures.web"]
PASSWORD = "correct horse battery"
T = dt.datetime(2025, 11, 20, 1, 0, tzinfo=dt.UTC)
PERIOD = "start=2025-11-01T00:00:00Z&end=2025-12-01T00:00:00Z"


@pytest.fixture
def app(fresh_db_url: str) -> Iterator[Flask]:
    eng = make_engine(fresh_db_url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        ids = build_street(conn)
        for name in ("lead", "cg1"):
            users.set_password(conn, name, PASSWORD)
        users.add(conn, "admin", PASSWORD, "admin")
        dispatched_case(conn, ids["CG"], T, accept_minutes=30)
        cases = run_cases(conn, ids)
        scan.scan(conn, T + dt.timedelta(minutes=31))
        # case D closed and waiting for its evaluation
        conn.execute(sa.text("UPDATE incident SET state = 'closed' WHERE id = :i"),
                     {"i": cases["D"]})
    eng.dispose()
    application = make_app(fresh_db_url)
    application.extensions["test.cases"] = cases
    yield application
    application.extensions["gridmap.engine"].dispose()


def _as(app: Flask, username: str) -> FlaskClient:
    return login(app.test_client(), username, PASSWORD)


def test_board_per_unit_and_street_within_scope(app: Flask) -> None:
    lead, cg1 = _as(app, "lead"), _as(app, "cg1")
    r = lead.get("/api/supervision/board?unit=U-SC")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["counts"] == {"yellow": 0, "red": 2} and body["total"] == 2
    assert {i["escalated_to_code"] for i in body["items"]} == {"U-SC"}
    assert lead.get("/api/supervision/board?street=319901001").get_json()["total"] == 2
    # the 城管中队's handler sees its own list, not the street centre's
    assert cg1.get("/api/supervision/board?unit=U-CG").get_json()["total"] == 2
    assert cg1.get("/api/supervision/board?unit=U-SC").status_code == 403
    assert lead.get("/api/supervision/board?unit=NOPE").status_code == 404
    bad = lead.get("/api/supervision/board?light=blue&page=0").get_json()
    assert {p["field"] for p in bad["problems"]} == {"light", "page"}
    summary = lead.get("/api/supervision/summary").get_json()["units"]
    assert [(u["unit_code"], u["red"], u["escalated"]) for u in summary] == [("U-CG", 2, 2)]
    assert app.test_client().get("/api/supervision/board").status_code == 401


def test_notifications_unread_count_and_mark_read(app: Flask) -> None:
    cg1, lead = _as(app, "cg1"), _as(app, "lead")
    badge = cg1.get("/api/notifications/unread-count").get_json()
    assert (badge["unread"], badge["own"]) == (2, 0)
    assert [(u["code"], u["unread"]) for u in badge["units"]] == [("U-CG", 2)]
    items = cg1.get("/api/notifications").get_json()["items"]
    assert {i["kind"] for i in items} == {"supervise.red"}
    assert all(i["text"].startswith("督办红灯") for i in items)
    lead_ids = [i["id"] for i in lead.get("/api/notifications").get_json()["items"]]
    # another unit's notification cannot be marked; nothing changes
    r = post_json(cg1, "/api/notifications/read", {"ids": [items[0]["id"], lead_ids[0]]})
    assert r.status_code == 400
    assert [p["params"]["id"] for p in r.get_json()["problems"]] == [lead_ids[0]]
    assert cg1.get("/api/notifications/unread-count").get_json()["unread"] == 2
    bad: tuple[dict[str, object], ...] = (
        {"ids": "1,2"}, {"ids": [True]}, {"ids": []}, {"ids": [1], "all": True})
    for body in bad:
        assert post_json(cg1, "/api/notifications/read", body).status_code == 400
    r = post_json(cg1, "/api/notifications/read", {"ids": [items[0]["id"]]})
    assert r.get_json() == {"marked": 1, "unread": 1}
    r = post_json(cg1, "/api/notifications/read", {"all": True})
    assert r.get_json() == {"marked": 1, "unread": 0}
    assert lead.get("/api/notifications?unread=true").get_json()["total"] == 2
    assert post_json(cg1, "/api/notifications/read", {"all": True}, token=False
                     ).status_code in (400, 403)


def test_indicators_json_and_xlsx(app: Flask) -> None:
    admin, cg1 = _as(app, "admin"), _as(app, "cg1")
    units = admin.get(f"/api/indicators/units?{PERIOD}").get_json()
    assert units["columns"]["close_rate"] == "结案率(%)"
    assert [r["code"] for r in units["rows"]] == ["U-C1", "U-CG"]
    assert [r["code"] for r in cg1.get(f"/api/indicators/units?{PERIOD}").get_json()["rows"]
            ] == ["U-CG"]
    r = admin.get(f"/api/indicators/posts?post=dispatcher&format=xlsx&lang=en&{PERIOD}")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    ws = openpyxl.load_workbook(BytesIO(r.data)).active
    assert ws is not None and ws["B2"].value == "disp"
    lv = admin.get(f"/api/indicators/levels?area=street&{PERIOD}").get_json()["rows"]
    assert [(x["code"], x["grid_rate"], x["community_rate"]) for x in lv] == [
        ("319901001", 33.33, 66.67)]
    hot = admin.get(f"/api/indicators/hotline?{PERIOD}").get_json()["rows"]
    assert [(x["code"], x["satisfaction_rate"]) for x in hot] == [("U-CG", 50.0)]
    bad = admin.get("/api/indicators/posts?post=janitor&start=x&end=2025-01-01").get_json()
    assert {p["field"] for p in bad["problems"]} == {"post", "start"}
    assert admin.get("/api/indicators/units?start=2025-12-01&end=2025-11-01").status_code == 400


def test_evaluation_records_satisfaction(app: Flask) -> None:
    admin = _as(app, "admin")
    iid = app.extensions["test.cases"]["D"]
    url = f"/api/incidents/{iid}/transitions"
    for body in ({"to": "evaluated"}, {"to": "evaluated", "satisfaction": 7, "solved": True},
                 {"to": "evaluated", "satisfaction": "5", "solved": "yes"}):
        assert post_json(admin, url, body).status_code == 400, body
    r = post_json(admin, url, {"to": "evaluated", "satisfaction": 4, "solved": True})
    assert r.status_code == 200, r.get_json()
    with app.extensions["gridmap.engine"].connect() as c:
        row = c.execute(sa.text("SELECT state, satisfaction_score, solved, evaluated_at "
                                "FROM incident WHERE id = :i"), {"i": iid}).one()
    assert row[:3] == ("evaluated", 4, True) and row[3] is not None


def test_openapi_lists_the_endpoints(app: Flask) -> None:
    paths = app.test_client().get("/api/openapi.json").get_json()["paths"]
    for p in ("/api/supervision/board", "/api/notifications", "/api/notifications/read",
              "/api/indicators/units", "/api/indicators/posts", "/api/indicators/hotline",
              "/api/indicators/levels"):
        assert p in paths, p
    params = {x["name"] for x in paths["/api/indicators/posts"]["get"]["parameters"]}
    assert {"post", "start", "end", "format"} <= params
