"""Staff posts: assign, revoke, who holds what."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts import sessions
from gridmap.accounts.sessions import SessionParams
from gridmap.errors import NotFound, ValidationError
from gridmap.org import staff, units
from gridmap.org.staff import Post
from tests.fixtures.org_world import OrgWorld


def test_posts_of_and_staff_with_post(conn: Connection, world: OrgWorld) -> None:
    u, p = world.units, world.users
    assert staff.posts_of(conn, p["ow_jwe"]) == [Post(u["JW-E"], "JW-E", "dispatcher"),
                                                Post(u["JW-E"], "JW-E", "handler")]
    assert [m.username for m in staff.staff_with_post(conn, u["CG"], "handler")] == ["ow_cg"]
    assert [m.post for m in staff.staff_of_unit(conn, u["QU"])] == ["dispatcher", "leader"]


def test_assign_by_chinese_name_and_revoke(conn: Connection, world: OrgWorld) -> None:
    u, p = world.units, world.users
    post = staff.assign_post(conn, p["ow_cg"], u["FG"], "处置人员")
    assert post == Post(u["FG"], "FG", "handler")
    staff.revoke_post(conn, p["ow_cg"], u["FG"], "handler")
    assert staff.posts_of(conn, p["ow_cg"]) == [Post(u["CG"], "CG", "handler")]
    with pytest.raises(NotFound):
        staff.revoke_post(conn, p["ow_cg"], u["FG"], "handler")


def test_bad_assignment_lists_every_problem(conn: Connection, world: OrgWorld) -> None:
    with pytest.raises(ValidationError) as err:
        staff.assign_post(conn, 999999, 999999, "厨师")
    assert sorted(x.code for x in err.value.problems) == [
        "org.no_unit_id", "org.no_user_id", "org.unknown_post"]


def test_posts_in_inactive_units_do_not_count(conn: Connection, world: OrgWorld) -> None:
    units.deactivate_unit(conn, world.units["FG"])
    assert staff.posts_of(conn, world.users["ow_fg"]) == []
    assert staff.user_id(conn, "OW_FG") == world.users["ow_fg"]


def test_all_members_in_one_list(conn: Connection, world: OrgWorld) -> None:
    members = staff.all_members(conn)
    assert {(m.username, m.post) for m in members if m.unit_id == world.units["QU"]} == {
        ("ow_qu", "dispatcher"), ("ow_qu", "leader")}
    assert len(members) == 15


def test_losing_or_changing_a_post_ends_the_sessions(conn: Connection, world: OrgWorld) -> None:
    """A copied cookie cannot keep rights its holder lost (migration 0025's triggers)."""
    u, p = world.units, world.users
    params = SessionParams(session_idle_minutes=30, session_max_hours=12)
    cg, other = p["ow_cg"], p["ow_fg"]
    token, kept = sessions.start(conn, cg, "a"), sessions.start(conn, other, "b")
    staff.assign_post(conn, cg, u["FG"], "handler")        # a post given: sessions stay
    staff.write_posts(conn, [(cg, u["CG"], "handler")])    # re-import of a held post: stay
    assert sessions.resolve(conn, token, params) == cg
    staff.revoke_post(conn, cg, u["FG"], "handler")        # a post taken away: ended
    assert sessions.resolve(conn, token, params) is None
    token = sessions.start(conn, cg, "a")
    conn.execute(sa.text("UPDATE staff_post SET unit_id = :n WHERE user_id = :u AND active"),
                 {"n": u["QU"], "u": cg})                  # moved to another unit: ended
    assert sessions.resolve(conn, token, params) is None
    token = sessions.start(conn, cg, "a")
    conn.execute(sa.text("DELETE FROM staff_post WHERE user_id = :u"), {"u": cg})
    assert sessions.resolve(conn, token, params) is None
    assert sessions.resolve(conn, kept, params) == other   # nobody else is touched
