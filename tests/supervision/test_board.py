"""The 督办 list: red first then the nearest deadline, per street and per unit (cases
escalated to a unit are on its list), cleared entries only on request, scope."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts import users
from gridmap.errors import NotFound, PermissionDenied, ValidationError
from gridmap.supervision import access, board, scan
from tests.fixtures.supervision_world import build_street, dispatched_case

T = dt.datetime(2025, 11, 20, 1, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


def test_board_order_filters_and_scope(conn: Connection) -> None:
    ids = build_street(conn)
    late = dispatched_case(conn, ids["CG"], T - 60 * MIN, accept_minutes=30)     # red
    soon = dispatched_case(conn, ids["CG"], T - 25 * MIN, accept_minutes=30)     # yellow
    later = dispatched_case(conn, ids["CU1"], T - 40 * MIN, accept_minutes=30)   # red
    dispatched_case(conn, ids["CG"], T, accept_minutes=30)                        # unlit
    scan.scan(conn, T)
    res = board.list_board(conn, access.ALL, street_id=board.street_id(conn, "319901001"))
    assert res["counts"] == {"yellow": 1, "red": 2}
    assert [i["incident_id"] for i in res["items"]] == [late, later, soon]
    cg = board.list_board(conn, access.ALL, unit_id=ids["CG"], light="red")
    assert [i["incident_id"] for i in cg["items"]] == [late] and cg["total"] == 1
    # both red cases were escalated to the street centre
    sc = board.list_board(conn, access.ALL, unit_id=ids["SC"])
    assert {i["incident_id"] for i in sc["items"]} == {late, later}
    # accepted: cleared, listed only with include_cleared
    conn.execute(sa.text("UPDATE incident SET accepted_at = :t, due_at = :d WHERE id = :i"),
                 {"t": T, "d": T + dt.timedelta(days=5), "i": late})
    scan.scan(conn, T + MIN)
    assert late not in {i["incident_id"] for i in board.list_board(conn, access.ALL)["items"]}
    assert late in {i["incident_id"] for i in board.list_board(
        conn, access.ALL, include_cleared=True)["items"]}
    summary = board.unit_summary(conn, access.ALL)
    assert [(r["unit_code"], r["yellow"], r["red"]) for r in summary] == [
        ("U-C1", 0, 1), ("U-CG", 1, 0)]
    cg1 = access.viewer_for(conn, users.get(conn, ids["cg1"]))
    with pytest.raises(PermissionDenied):
        board.list_board(conn, cg1, unit_id=ids["CU1"])
    with pytest.raises(ValidationError):
        board.list_board(conn, access.ALL, light="green")
    with pytest.raises(NotFound):
        board.unit_id(conn, "NOPE")
