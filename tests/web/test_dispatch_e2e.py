"""API-level end to end of the dispatch engine on the hand-made street of
:mod:`tests.fixtures.org_world`: units, staff and grid assignments imported from one XLSX,
whose 派单规则 sheet is uploaded through the API as the routing rules:

a case filed → the rule proposes the unit → dispatched → accepted (接单) by that unit only →
handled → checked and closed → evaluated with satisfaction; a recurrent problem raises the
level; reporter data only for the handling unit; stale versions and overrides without a
reason change nothing. (The 督办 lights, escalation and indicators are added by the
supervision tests.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from gridmap.accounts import users
from gridmap.db import make_engine
from gridmap.dispatch import ruleio
from gridmap.org.importing import import_org
from gridmap.org.sheets import read_org_file
from tests.fixtures.dispatch_world import POINTS, RULES
from tests.fixtures.org_world import PASSWORD, build_geography, org_rows, write_org_xlsx
from tests.fixtures.web import login, make_app, post_json

pytest_plugins = ["tests.fixtures.web"]
ADMIN_PASSWORD = "admin-password-e2e"


@pytest.fixture
def street(fresh_db_url: str, tmp_path: Path) -> Iterator[tuple[Flask, dict[str, int], Path]]:
    """The hand-made street's places and an admin, committed; its units, staff and grid
    assignments imported from one XLSX (sheets 单位, 人员, 网格分配 + 派单规则) the way
    ``gridmap org import`` does; the app on that database. Yields the app, the unit ids by
    code and the workbook (its 派单规则 sheet is uploaded through the API by the tests)."""
    book = _workbook(tmp_path / "street.xlsx")
    eng = make_engine(fresh_db_url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        build_geography(conn)
        users.add(conn, "admin", ADMIN_PASSWORD, "admin")
        sheets, problems = read_org_file(book)
        known = users.hash_password(PASSWORD)
        import_org(conn, sheets, hash_password=lambda _: known, read_problems=problems)
        units = {str(r[0]): int(r[1]) for r in conn.execute(sa.text(
            "SELECT code, id FROM org_unit"))}
    eng.dispose()
    app = make_app(fresh_db_url)
    yield app, units, book
    app.extensions["gridmap.engine"].dispose()


def _workbook(path: Path) -> Path:
    fields = list(ruleio.HEADERS)[1:]
    rules_sheet = [tuple(ruleio.HEADERS[f] for f in fields)] + [
        tuple(str(rule.get(f, "")) for f in fields) for rule in RULES]
    return write_org_xlsx(path, {**org_rows(), "派单规则": rules_sheet})


def _as(app: Flask, username: str) -> FlaskClient:
    return login(app.test_client(), username, ADMIN_PASSWORD if username == "admin"
                 else PASSWORD)


def _act(client: FlaskClient, case_id: int, to: str, version: int, **body: Any) -> Any:
    return post_json(client, f"/api/dispatch/cases/{case_id}/act",
                     {"to": to, "version": version, **body})


def _new_case(admin: FlaskClient, grid: str, category: str, **extra: Any) -> int:
    lon, lat = POINTS[grid]
    r = post_json(admin, "/api/incidents", {"category": category, "lon": lon, "lat": lat,
                                            "reporter_name": "王五",
                                            "reporter_phone": "13900001111", **extra})
    assert r.status_code == 201, r.get_json()
    return int(r.get_json()["properties"]["id"])


def _upload_rules(admin: FlaskClient, book: Path) -> Any:
    return admin.post("/api/dispatch/rule-sets/import", headers={"X-CSRFToken": admin.csrf},
                      data={"file": (book.open("rb"), book.name), "activate": "true"},
                      content_type="multipart/form-data")


def test_case_loop_through_the_api(street: tuple[Flask, dict[str, int], Path]) -> None:
    app, units, book = street
    admin = _as(app, "admin")
    r = _upload_rules(admin, book)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["rules"] == len(RULES)
    case_id = _new_case(admin, "W1", "E0101", description="违章搭建")

    acceptor, dispatcher = _as(app, "ow_acceptor"), _as(app, "ow_dispatch")
    cg, fg, lead = _as(app, "ow_cg"), _as(app, "ow_fg"), _as(app, "ow_lead")
    v = acceptor.get(f"/api/dispatch/cases/{case_id}").get_json()
    r = _act(acceptor, case_id, "filed", v["lock_version"])
    assert r.status_code == 200, r.get_json()
    v = r.get_json()
    assert v["proposed_unit_id"] == units["CG"]                 # rule 1 → 城管中队
    assert v["events"][0]["actor"] == "system"
    assert v["events"][0]["data"]["reason"] == "rule"

    # an override needs a reason; a stale version is refused; both change nothing
    r = _act(dispatcher, case_id, "dispatched", v["lock_version"], unit_id=units["FG"])
    assert r.status_code == 400 and r.get_json()["problems"][0]["field"] == "reason"
    assert _act(dispatcher, case_id, "dispatched", v["lock_version"] - 1).status_code == 409
    r = _act(dispatcher, case_id, "dispatched", v["lock_version"])
    assert r.status_code == 200, r.get_json()
    v = r.get_json()
    assert (v["state"], v["unit_id"]) == ("dispatched", units["CG"])

    # 接单 only by the handling unit; the acceptor's posts cannot accept at all
    assert _act(fg, case_id, "handling", v["lock_version"]).status_code == 403
    assert _act(acceptor, case_id, "handling", v["lock_version"]).status_code == 403
    seen_by_cg = cg.get(f"/api/dispatch/cases/{case_id}").get_json()
    seen_by_fg = fg.get(f"/api/dispatch/cases/{case_id}").get_json()
    assert seen_by_cg["reporter_phone"] == "13900001111"               # handling unit
    assert seen_by_fg["reporter_phone"] == "139****1111"               # same street, not handling
    v = _act(cg, case_id, "handling", v["lock_version"]).get_json()
    assert v["accepted_at"] is not None
    v = _act(cg, case_id, "handled", v["lock_version"], note="已拆除").get_json()
    assert _act(cg, case_id, "closed", v["lock_version"]).status_code == 403
    r = _act(lead, case_id, "closed", v["lock_version"], note="核查属实")
    assert r.status_code == 200, r.get_json()
    r = _act(lead, case_id, "evaluated", r.get_json()["lock_version"], satisfaction=5,
             solved=True)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "evaluated"
    history = admin.get(f"/api/incidents/{case_id}").get_json()["properties"]["history"]
    assert [h["to_state"] for h in history] == [
        "reported", "filed", "filed", "dispatched", "handling", "handled", "closed", "evaluated"]


def test_recurrent_problem_raises_the_level(street: tuple[Flask, dict[str, int], Path]
                                           ) -> None:
    app, units, book = street
    admin, acceptor = _as(app, "admin"), _as(app, "ow_acceptor")
    assert _upload_rules(admin, book).status_code == 201
    levels = []
    for k in range(3):                               # 暴露垃圾 three times in the same place
        case_id = _new_case(admin, "W2", "E0102", description=f"垃圾第{k + 1}次")
        v = acceptor.get(f"/api/dispatch/cases/{case_id}").get_json()
        v = _act(acceptor, case_id, "filed", v["lock_version"]).get_json()
        levels.append(v["level"])
    assert levels == ["grid", "grid", "community"]
    raised = v["events"][-1]
    assert (raised["actor"], raised["data"]["reason"]) == ("system", "recurrence")
    assert v["proposed_unit_id"] == units["JW-W"]
    # 社区呼叫: the community asks the street; then the district
    jww = _as(app, "ow_jww")
    v = _act(_as(app, "ow_dispatch"), case_id, "dispatched", v["lock_version"]).get_json()
    r = post_json(jww, f"/api/dispatch/cases/{case_id}/raise-level",
                  {"note": "需街道协调", "version": v["lock_version"]})
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["level"], r.get_json()["unit_id"]) == ("street", units["JD"])
    assert post_json(_as(app, "ow_wy"), f"/api/dispatch/cases/{case_id}/raise-level",
                     {}).status_code == 403
