"""The 地址待确认 queue in the library: pick a candidate, place by hand, add to the register,
dismiss; a resolved case cannot be resolved twice."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import Conflict, NotFound, ValidationError
from gridmap.incidents import address_queue, addressing
from tests.fixtures.address_world import load_world
from tests.fixtures.incident_world import build_world

BASE = {"category": "E0102", "reported_at": "2025-11-20T09:00:00+08:00"}


@pytest.fixture
def queued(conn: Connection) -> list[int]:
    build_world(conn)
    load_world(conn)
    return [addressing.create_or_queue(conn, {**BASE, "address": a, "description": "d"},
                                       actor="hotline")["queued"]
            for a in ("枫x小区1号楼", "铜川路近真如路", "火星路1号")]


def test_pending_rows_carry_candidates(conn: Connection, queued: list[int]) -> None:
    rows = address_queue.list_pending(conn)
    assert [r["id"] for r in rows] == queued
    assert rows[0]["category_code"] == "E0102" and len(rows[0]["candidates"]) >= 2
    assert rows[2]["candidates"] == [] and rows[2]["reason"] == "geocode.reason.no_match"


def test_pick_candidate_then_never_twice(conn: Connection, queued: list[int]) -> None:
    out = address_queue.place(conn, queued[1], actor="sup", candidate=0)
    inc = conn.execute(sa.text("SELECT geocode_status, geocode_level, ST_X(geom), ST_Y(geom) "
                               "FROM incident WHERE id = :i"), {"i": out["incident_id"]}).one()
    assert inc[:2] == ("confirmed", "road")
    assert inc[2] == pytest.approx(121.43, abs=1e-4) and inc[3] == pytest.approx(31.225, abs=1e-4)
    with pytest.raises(Conflict):
        address_queue.place(conn, queued[1], actor="sup", candidate=0)
    with pytest.raises(ValidationError):
        address_queue.place(conn, queued[0], actor="sup", candidate=9)


def test_place_by_hand_adds_to_register_with_who(conn: Connection, queued: list[int]) -> None:
    out = address_queue.place(conn, queued[2], actor="sup", lon=121.405, lat=31.205,
                              add_to_register=True)
    assert out["geocode_status"] == "manual"
    entry = conn.execute(sa.text("SELECT text, created_by, source, valid_from IS NOT NULL "
                                 "FROM address_entry WHERE id = :i"), {"i": out["entry_id"]}).one()
    assert tuple(entry) == ("火星路1号", "sup", "confirmed", True)
    again = addressing.create_or_queue(conn, {**BASE, "address": "火星路1号"}, actor="hotline")
    assert again["incident"]["geocode_status"] == "auto"  # the register learnt the address


def test_dismiss(conn: Connection, queued: list[int]) -> None:
    address_queue.dismiss(conn, queued[0], actor="sup", note="重复来电")
    assert address_queue.get_entry(conn, queued[0])["status"] == "dismissed"
    assert len(address_queue.list_pending(conn)) == 2
    with pytest.raises(NotFound):
        address_queue.dismiss(conn, 10**9, actor="sup")


def test_area_scoped_supervisors_see_and_resolve_their_area_only(conn: Connection,
                                                                 queued: list[int]) -> None:
    """A queued case has no point: it belongs to the areas its candidates lie in."""
    inside = {int(r[0]) for r in conn.execute(sa.text(
        "SELECT DISTINCT m.id FROM address_queue q, jsonb_array_elements(q.candidates) c, "
        "community m WHERE q.id = :q AND ST_Intersects(m.geom, ST_SetSRID(ST_MakePoint("
        "CAST(c->>'lon' AS float8), CAST(c->>'lat' AS float8)), 4326))"), {"q": queued[1]})}
    assert inside                                             # 铜川路近真如路 lies in the world
    others = frozenset(int(r[0]) for r in conn.execute(sa.text(
        "SELECT id FROM community WHERE id <> ALL(CAST(:i AS int[]))"), {"i": sorted(inside)}))
    mine = frozenset(inside)
    assert queued[1] in [r["id"] for r in address_queue.list_pending(conn, mine)]
    assert queued[2] not in [r["id"] for r in address_queue.list_pending(conn, mine)]  # none
    assert address_queue.count_pending(conn) == 3
    assert address_queue.count_pending(conn, mine) == len(address_queue.list_pending(conn, mine))
    if others:
        assert queued[1] not in [r["id"] for r in address_queue.list_pending(conn, others)]
        with pytest.raises(NotFound):                         # not theirs: as if unknown
            address_queue.dismiss(conn, queued[1], actor="other", community_ids=others)
    with pytest.raises(ValidationError) as err:               # a point outside their area
        address_queue.place(conn, queued[1], actor="sup", lon=0.0, lat=0.0, community_ids=mine)
    assert err.value.code == "geocode.place_outside_scope"
    out = address_queue.place(conn, queued[1], actor="sup", candidate=0, community_ids=mine)
    assert out["geocode_status"] == "confirmed"
