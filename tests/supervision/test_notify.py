"""Notifications: a user's inbox through their unit posts, unread counts per user and per
unit, mark read (every foreign id reported, nothing changed)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError
from gridmap.supervision import notify
from tests.fixtures.supervision_world import build_street

T = dt.datetime(2025, 11, 20, 1, 0, tzinfo=dt.UTC)


def test_inbox_through_posts_and_unread_counts(conn: Connection) -> None:
    ids = build_street(conn)
    cg = notify.send(conn, "supervise.red", unit_ids=[ids["CG"]], params={"case_no": "X"},
                     at=T)
    sc = notify.send(conn, "supervise.escalated", unit_ids=[ids["SC"]], at=T)
    own = notify.send(conn, "supervise.yellow", user_ids=[ids["lead"]], at=T)
    # every holder of a post in SC sees SC's notices; lead also its own
    assert notify.unread_count(conn, ids["lead"]) == 2
    assert notify.unread_count(conn, ids["acc"]) == 1
    assert notify.unread_count(conn, ids["cg1"]) == 1
    assert notify.unread_by_unit(conn, [ids["CG"], ids["SC"], ids["D"]]) == {
        ids["CG"]: 1, ids["SC"]: 1, ids["D"]: 0}
    page = notify.list_for_user(conn, ids["lead"])
    assert [i["id"] for i in page["items"]] == sorted(own + sc, reverse=True)
    # a unit notice read by one holder is read for the unit
    assert notify.mark_read(conn, ids["acc"], sc, at=T) == 1
    assert notify.unread_count(conn, ids["lead"]) == 1
    assert notify.list_for_user(conn, ids["lead"], unread_only=True)["total"] == 1
    # someone else's ids: every one reported, nothing marked
    with pytest.raises(ValidationError) as err:
        notify.mark_read(conn, ids["acc"], cg + own + [10**12])
    assert [p.params["id"] for p in err.value.problems] == cg + own + [10**12]
    assert notify.unread_count(conn, ids["cg1"]) == 1
    assert notify.mark_read(conn, ids["cg1"]) == 1
    assert notify.unread_count(conn, ids["cg1"]) == 0


def test_webhook_queued_only_for_units_with_a_url(conn: Connection) -> None:
    ids = build_street(conn)
    conn.execute(sa.text("UPDATE org_unit SET webhook_url = 'http://127.0.0.1:9/x' "
                         "WHERE id = :u"), {"u": ids["CG"]})
    notify.send(conn, "supervise.red", unit_ids=[ids["CG"], ids["SC"]],
                user_ids=[ids["lead"]], at=T)
    rows = conn.execute(sa.text(
        "SELECT d.unit_id, d.payload->>'kind', d.payload->>'unit' FROM webhook_delivery d")).all()
    assert rows == [(ids["CG"], "supervise.red", "U-CG")]
    assert notify.send(conn, "supervise.red") == []
