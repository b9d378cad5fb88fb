"""Grid versions (gridmap.grids.versions): activation, codes, validity dates, revert, stale drafts."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import grids
from gridmap.errors import Conflict
from tests.fixtures.grids import M_LAT, T1, T2, border_building, building_id, building_point


def test_activation_assigns_codes_in_reading_order_and_point_in_grid_by_date(
    conn: Connection, community: int, active_plan: int
) -> None:
    rows = grids.version_grids(conn, active_plan)
    codes = sorted(r["grid_code"] for r in rows)
    assert codes == [f"310107005001{i:03d}" for i in range(1, len(rows) + 1)]
    # grid 001 is the north-west one: its representative point is the most north-west band
    first = conn.execute(sa.text(
        "SELECT ST_X(ST_PointOnSurface(gg.geom)), ST_Y(ST_PointOnSurface(gg.geom)) FROM"
        " grid_geometry gg JOIN grid g ON g.id = gg.grid_id WHERE gg.version_id = :v"
        " ORDER BY g.grid_seq"), {"v": active_plan}).all()
    assert first[0][1] >= max(p[1] for p in first) - 200 * M_LAT

    # redraw: move a building on a grid boundary into the neighbouring grid
    draft = grids.create_draft(conn, community, actor="officer1")
    bid, _, other = border_building(conn, draft)
    lon, lat = building_point(conn, bid)
    before = grids.grid_at(conn, lon, lat, T1 + dt.timedelta(days=1))
    assert before is not None
    grids.move_units(conn, draft, [("building", bid)], other, actor="officer1")
    grids.activate(conn, draft, effective=T2, actor="officer1")

    old = grids.grid_at(conn, lon, lat, T2 - dt.timedelta(days=1))
    new = grids.grid_at(conn, lon, lat, T2 + dt.timedelta(days=1))
    assert old is not None and new is not None
    assert old["version_id"] == active_plan and old["grid_id"] == before["grid_id"]
    assert new["version_id"] == draft and new["grid_id"] == other
    assert grids.grid_at(conn, lon, lat, T1 - dt.timedelta(days=1)) is None
    # unchanged grids keep their codes; the old version is retired with valid_to
    versions = {v["id"]: v for v in grids.list_versions(conn, community)}
    assert versions[active_plan]["status"] == "retired"
    assert versions[active_plan]["valid_to"] == T2
    assert sorted(r["grid_code"] for r in grids.version_grids(conn, draft)) == codes
    # audit trail written
    n = conn.execute(sa.text("SELECT count(*) FROM audit_log WHERE action = 'grid.activate'"
                             " AND object_id = :v"), {"v": str(draft)}).scalar_one()
    assert n == 1


def test_new_grid_gets_next_number_never_a_retired_one(
    conn: Connection, community: int, active_plan: int
) -> None:
    n = len(grids.version_grids(conn, active_plan))
    draft = grids.create_draft(conn, community, actor="o")
    bid = building_id(conn, community, "2-0-1-0")
    res = grids.move_units(conn, draft, [("building", bid)], None, actor="o")
    grids.set_grid_attrs(conn, draft, res["to_grid_id"], actor="o", responsible_party="物业")
    grids.activate(conn, draft, effective=T2, actor="o")
    codes = {r["grid_id"]: r["grid_code"] for r in grids.version_grids(conn, draft)}
    assert codes[res["to_grid_id"]] == f"310107005001{n + 1:03d}"


def test_revert_activates_a_copy_and_keeps_history(
    conn: Connection, community: int, active_plan: int
) -> None:
    draft = grids.create_draft(conn, community, actor="o")
    bid, _, other = border_building(conn, draft)
    grids.move_units(conn, draft, [("building", bid)], other, actor="o")
    grids.activate(conn, draft, effective=T2, actor="o")
    d = grids.diff(conn, active_plan, draft)
    assert [m["unit_id"] for m in d["moves"]] == [bid]
    assert len(d["changed"]) == 2 and not d["added"] and not d["removed"]

    back = grids.revert(conn, active_plan, effective=T2 + dt.timedelta(days=30), actor="o")
    assert grids.diff(conn, active_plan, back)["moves"] == []
    statuses = {v["id"]: v["status"] for v in grids.list_versions(conn, community)}
    assert statuses == {active_plan: "retired", draft: "retired", back: "active"}


def test_stale_draft_cannot_be_activated(conn: Connection, community: int, active_plan: int
                                         ) -> None:
    a = grids.create_draft(conn, community, actor="a")
    b = grids.create_draft(conn, community, actor="b")
    grids.activate(conn, a, effective=T2, actor="a")
    with pytest.raises(Conflict, match="changed since draft"):
        grids.activate(conn, b, effective=T2 + dt.timedelta(days=1), actor="b")


def test_phase_of_a_future_dated_plan_and_the_plan_it_replaces(
    conn: Connection, community: int, active_plan: int
) -> None:
    """Issue #16: activated with a future date, the new plan is 待生效 (pending) and the old
    one stays 现行 (current) until that date; afterwards they are 现行 and 历史."""
    draft = grids.create_draft(conn, community, actor="o")
    assert grids.get_version(conn, draft)["phase"] == "draft"
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    grids.activate(conn, draft, effective=future, actor="o")
    phases = {v["id"]: v["phase"] for v in grids.list_versions(conn, community)}
    assert phases[draft] == "pending" and phases[active_plan] == "current"
    assert grids.get_version(conn, draft)["phase"] == "pending"
    later = {v["id"]: v["phase"] for v in
             grids.list_versions(conn, community, at=future + dt.timedelta(days=1))}
    assert later[draft] == "current" and later[active_plan] == "historic"


def test_version_phase_rules() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    day = dt.timedelta(days=1)
    assert grids.version_phase("draft", None, None, now) == "draft"
    assert grids.version_phase("active", now - day, None, now) == "current"
    assert grids.version_phase("active", now + day, None, now) == "pending"
    assert grids.version_phase("retired", now - 2 * day, now + day, now) == "current"
    assert grids.version_phase("retired", now - 2 * day, now - day, now) == "historic"
    assert grids.version_phase("retired", now - 2 * day, now, now) == "historic"
