"""Re-assignment of open incidents after a redraw, and supervisors confirming or moving
incidents near a grid boundary (world: :mod:`tests.fixtures.incident_world`)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import incidents
from gridmap.errors import Conflict, ValidationError
from gridmap.incidents import relocate
from tests.fixtures.incident_world import UTC, redraw


def test_reassign_open_after_redraw(conn: Connection, world: dict[str, int]) -> None:
    t = dt.datetime(2025, 6, 1, 2, tzinfo=UTC)
    open_row = incidents.create(conn, {"category": "E0102", "lon": 121.402, "lat": 31.202,
                                       "reported_at": t}, actor="t")
    closed_row = incidents.create(conn, {"category": "E0104", "lon": 121.402, "lat": 31.2021,
                                         "reported_at": t}, actor="t")
    assert open_row["grid_id"] == closed_row["grid_id"] == world["G1"]
    for s in ("filed", "dispatched", "handling", "handled", "closed"):
        incidents.transition(conn, closed_row["id"], s, actor="t", at=t)
    relocate.confirm_location(conn, open_row["id"], actor="sup")  # confirmed under plan 1
    redraw(conn, world, dt.datetime(2025, 7, 1, tzinfo=UTC))
    n = relocate.reassign_open(conn, world["C1"])
    assert n == 1
    moved = incidents.get(conn, open_row["id"])
    assert moved["grid_id"] == world["G2"]
    assert moved["location_confirmed_at"] is None  # the grid changed: to be confirmed again
    assert incidents.get(conn, closed_row["id"])["grid_id"] == world["G1"]


def test_supervisor_confirms_or_moves_a_near_boundary_incident(conn: Connection,
                                                                world: dict[str, int]) -> None:
    t = dt.datetime(2025, 6, 1, 2, tzinfo=UTC)
    near = incidents.create(conn, {"category": "E0102", "lon": 121.41005, "lat": 31.205,
                                   "reported_at": t}, actor="t")  # ~5 m east of G1|G2
    inner = incidents.create(conn, {"category": "E0104", "lon": 121.415, "lat": 31.205,
                                    "reported_at": t}, actor="t")
    assert near["grid_id"] == world["G2"] and near["near_boundary"]

    def to_confirm() -> set[int]:
        return {r["id"] for r in incidents.list_incidents(conn, {"to_confirm": True})["items"]}

    assert near["id"] in to_confirm() and inner["id"] not in to_confirm()
    cands = relocate.boundary_candidates(conn, near["id"])
    assert [c["grid_id"] for c in cands[:2]] == [world["G2"], world["G1"]]
    assert cands[0]["inside"] and cands[0]["current"] and 4 < cands[1]["distance_m"] < 6
    # the supervisor decides the case belongs to G1 (the other side of the street)
    out = relocate.confirm_location(conn, near["id"], actor="sup", grid_id=world["G1"],
                                  note="路西侧")
    assert out["moved"] and out["located_by"] == "nearest_grid"
    row = incidents.get(conn, near["id"])
    assert row["grid_id"] == world["G1"] and row["location_confirmed_by"] == "sup"
    assert row["community_id"] == world["C1"] and row["street_id"] == world["S"]
    assert near["id"] not in to_confirm()
    audit = conn.execute(sa.text("SELECT action, before->>'grid_id', after->>'note' "
                                 "FROM audit_log WHERE object_type = 'incident' "
                                 "AND object_id = :i"), {"i": str(near["id"])}).one()
    assert audit == ("incident.location_moved", str(world["G2"]), "路西侧")
    with pytest.raises(ValidationError, match="not one of"):
        relocate.confirm_location(conn, near["id"], actor="sup", grid_id=999_999)
    # a closed case keeps the grid it was handled in: confirm yes, move no
    for s in ("filed", "dispatched", "handling", "handled", "closed"):
        incidents.transition(conn, inner["id"], s, actor="t", at=t)
    with pytest.raises(Conflict, match="keep the grid"):
        relocate.confirm_location(conn, inner["id"], actor="sup", grid_id=world["G1"])
    assert not relocate.confirm_location(conn, inner["id"], actor="sup")["moved"]
