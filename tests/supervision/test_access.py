"""Who sees what: a street supervisor sees the cases of the street and the units serving it
(with sub-units); a supervisor of another area sees nothing; unit staff see their units and
the areas those units serve; admins everything."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts import users
from gridmap.errors import PermissionDenied
from gridmap.supervision import access, board, scan
from tests.fixtures.incident_world import ins
from tests.fixtures.supervision_world import build_street, dispatched_case

T = dt.datetime(2025, 11, 20, 1, 0, tzinfo=dt.UTC)


def _user(conn: Connection, name: str, role: str, streets: list[str]) -> users.User:
    uid = ins(conn, "INSERT INTO app_user (username, password_hash, role, scope_streets) "
              "VALUES (:u, 'x', :r, :s)", u=name, r=role, s=streets)
    return users.get(conn, uid)


def test_viewers(conn: Connection) -> None:
    ids = build_street(conn)
    iid = dispatched_case(conn, ids["CG"], T - dt.timedelta(hours=1))
    scan.scan(conn, T)
    sup = access.viewer_for(conn, _user(conn, "sup_s", "supervisor", ["319901001"]))
    assert sup.unit_ids == frozenset({ids["SC"], ids["CU1"], ids["CG"]})
    assert sup.community_ids == frozenset({ids["C1"], ids["C2"]})
    assert [i["incident_id"] for i in board.list_board(conn, sup)["items"]] == [iid]
    other = access.viewer_for(conn, _user(conn, "sup_x", "supervisor", ["319901009"]))
    assert other.unit_ids == frozenset() and board.list_board(conn, other)["total"] == 0
    with pytest.raises(PermissionDenied):
        board.list_board(conn, other, unit_id=ids["CG"])
    admin = access.viewer_for(conn, _user(conn, "adm", "admin", []))
    assert admin.unrestricted and board.list_board(conn, admin)["total"] == 1
    lead = access.viewer_for(conn, users.get(conn, ids["lead"]))  # street centre staff
    assert lead.community_ids == frozenset({ids["C1"], ids["C2"]})
    assert access.viewer_for(conn, None).unit_ids == frozenset()
    assert conn.execute(sa.text("SELECT count(*) FROM supervision")).scalar_one() == 1
