"""The audit log (gridmap.audit.log): one list over audit_log, grid edits, incident events,
logins and imports; filters validated all at once; a grid edit's before/after geometry."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import grids
from gridmap.accounts import sessions, users
from gridmap.audit import log
from gridmap.errors import NotFound, ValidationError
from tests.fixtures.grids import border_building, make_community


def _world(conn: Connection) -> dict[str, int]:
    cid = make_community(conn)
    vid = grids.auto_partition(conn, cid, seed=0)
    lock = grids.get_version(conn, vid)["lock_version"]
    bid, _src, dst = border_building(conn, vid)
    grids.move_units(conn, vid, [("building", bid)], dst, actor="alice",
                     expected_lock_version=lock)
    u = users.add(conn, "bob", "password-123", "planner")
    sessions.start(conn, u.id, "10.0.0.7")
    run = conn.execute(sa.text(
        "INSERT INTO import_run (kind, source_file, actor, report) VALUES ('osm', 'x.pbf',"
        " 'carol', '{\"rows\": 3}') RETURNING id")).scalar_one()
    conn.execute(sa.text(
        "INSERT INTO incident_event (incident_id, at, actor, from_state, to_state, note)"
        " VALUES (424242, now(), 'dave', 'reported', 'filed', '立案')"))
    log.record(conn, "erin", "user.disable", "user", "bob", {"active": True}, {"active": False})
    return {"version": vid, "run": int(run), "dst": dst}


def test_every_source_listed_newest_first_with_filters(conn: Connection) -> None:
    w = _world(conn)
    entries, total = log.list_entries(conn, log.AuditFilter())
    sources = {e.source for e in entries}
    assert {"audit", "incident", "session", "import"} <= sources
    assert total == len(entries)
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)

    by_alice, _ = log.list_entries(conn, log.AuditFilter(actor="ALICE"))
    assert by_alice and all(e.actor == "alice" for e in by_alice)
    edit = next(e for e in by_alice if e.action == "grid.edit.move_units")
    assert edit.object_type == "grid_version" and edit.object_id == str(w["version"])
    assert edit.edit_id is not None

    about_bob, _ = log.list_entries(conn, log.AuditFilter(object_type="user", object_id="bob"))
    assert {e.action for e in about_bob} == {"session.login", "user.disable"}
    disabled = next(e for e in about_bob if e.action == "user.disable")
    assert disabled.changes == (("active", "True", "False"),)
    login = next(e for e in about_bob if e.action == "session.login")
    assert login.note == "10.0.0.7"

    imports, n = log.list_entries(conn, log.AuditFilter(object_type="import_run"))
    assert n == 1 and imports[0].object_id == str(w["run"]) and imports[0].note == "x.pbf"

    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    assert log.list_entries(conn, log.AuditFilter(since=tomorrow)) == ([], 0)
    page, total = log.list_entries(conn, log.AuditFilter(), limit=2, offset=1)
    assert len(page) == 2 and total == len(entries)


def test_changes_of_flat_records() -> None:
    assert log.changes(None, {"role": "staff", "active": True}) == (
        ("role", "", "staff"), ("active", "", "True"))
    assert log.changes({"role": "planner", "x": 1}, {"role": "admin", "x": 1}) == (
        ("role", "planner", "admin"),)
    assert log.changes({"gone": "y" * 100}, {})[0][1].endswith("…")


def test_filter_problems_all_at_once() -> None:
    with pytest.raises(ValidationError) as err:
        log.parse_filter({"actor": "x" * 65, "object_type": "planet", "since": "2026-13-01",
                          "until": "yesterday"})
    fields = sorted(p.field or "" for p in err.value.problems)
    assert fields == ["actor", "object_type", "since", "until"]
    with pytest.raises(ValidationError) as err:
        log.parse_filter({"since": "2026-05-02", "until": "2026-05-01"})
    assert [p.code for p in err.value.problems] == ["admin.bad_range"]
    f = log.parse_filter({"actor": " alice ", "since": "2026-05-01", "until": "2026-05-01"})
    assert f.actor == "alice" and f.until - f.since == dt.timedelta(days=1)


def test_edit_geometry_before_and_after(conn: Connection) -> None:
    w = _world(conn)
    entries, _ = log.list_entries(conn, log.AuditFilter(actor="alice"))
    edit_id = next(e.edit_id for e in entries if e.edit_id)
    geo = log.edit_geometry(conn, edit_id)
    assert geo["kind"] == "move_units" and geo["actor"] == "alice"
    before = {f["properties"]["grid_id"]: f for f in geo["before"]["features"]}
    after = {f["properties"]["grid_id"]: f for f in geo["after"]["features"]}
    assert w["dst"] in before and w["dst"] in after
    assert before[w["dst"]]["geometry"] != after[w["dst"]]["geometry"]  # the grid grew
    assert after[w["dst"]]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert after[w["dst"]]["properties"]["grid_code"]
    with pytest.raises(NotFound):
        log.edit_geometry(conn, 10**9)


def test_plan_activation_geometry_before_and_after(conn: Connection) -> None:
    """Issue #16: a plan put in force shows the grids it changed, before and after."""
    cid = make_community(conn)
    first = grids.auto_partition(conn, cid, seed=0)
    grids.activate(conn, first, effective=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), actor="o")
    draft = grids.create_draft(conn, cid, actor="o")
    bid, src, dst = border_building(conn, draft)
    grids.move_units(conn, draft, [("building", bid)], dst, actor="o")
    grids.activate(conn, draft, effective=dt.datetime(2026, 2, 1, tzinfo=dt.UTC), actor="o")
    entries, _ = log.list_entries(conn, log.AuditFilter(object_id=str(draft)))
    row = next(e for e in entries if e.action == "grid.activate")
    geo = log.plan_geometry(conn, row.ref)
    assert geo["kind"] == "grid.activate" and geo["version_id"] == draft
    before = {f["properties"]["grid_id"]: f for f in geo["before"]["features"]}
    after = {f["properties"]["grid_id"]: f for f in geo["after"]["features"]}
    assert set(before) == set(after) == {src, dst}  # the two grids the building moved between
    assert before[dst]["geometry"] != after[dst]["geometry"]
    assert after[dst]["properties"]["grid_code"]
    with pytest.raises(NotFound):
        log.plan_geometry(conn, entries[-1].ref if entries[-1].action != "grid.activate"
                          else 10**9)
