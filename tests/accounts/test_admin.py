"""Accounts changed by an administrator (gridmap.accounts.admin): every problem at once,
audit rows, no self-demotion, the last admin kept, sessions ended by changes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts import admin, sessions, users
from gridmap.audit import log
from gridmap.errors import Conflict, ValidationError


@pytest.fixture
def geo(conn: Connection) -> None:
    conn.execute(sa.text(
        "INSERT INTO district (code, name, synthetic, geom) VALUES ('110101', 'D', true,"
        " ST_Multi(ST_MakeEnvelope(116, 39, 117, 40, 4326)));"
        "INSERT INTO street (code, district_id, name, synthetic, geom) SELECT '110101001', id,"
        " 'S', true, geom FROM district WHERE code = '110101'"))


def test_parse_scope() -> None:
    scope, problems = admin.parse_scope("110101001，110101001002; 110101001 x12")
    assert scope.streets == ("110101001",) and scope.communities == ("110101001002",)
    assert [p.params["code"] for p in problems] == ["x12"]


def test_add_reports_every_problem_at_once(conn: Connection, geo: None) -> None:
    with pytest.raises(ValidationError) as err:
        admin.add_user(conn, "root", "x!", "short", "wizard", "12345")
    codes = sorted(p.code for p in err.value.problems)
    assert codes == ["accounts.bad_username", "accounts.password_too_short",
                     "accounts.unknown_role", "admin.bad_scope_code"]
    assert conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar() == 0


def test_add_change_disable_enable_reset_are_audited(conn: Connection, geo: None) -> None:
    users.add(conn, "root", "password-123", "admin")
    u = admin.add_user(conn, "root", "wang", "password-123", "staff", "", "王丽")
    assert u.role == "staff" and u.display_name == "王丽"
    sid = users.by_username(conn, "wang").id
    sessions.start(conn, sid, "1.2.3.4")
    u = admin.change_user(conn, "root", "wang", "supervisor", "110101001", "王丽")
    assert u.scope_streets == ("110101001",)
    assert sessions.open_sessions(conn, sid) == 0  # a new role ends the sessions
    admin.disable_user(conn, "root", "wang")
    assert users.authenticate(conn, "wang", "password-123") is None
    admin.enable_user(conn, "root", "wang")
    _, made = admin.reset_password(conn, "root", "wang")
    assert made and users.authenticate(conn, "wang", made) is not None
    entries, _ = log.list_entries(conn, log.AuditFilter(object_type="user", object_id="wang",
                                                        actor="root"))
    assert [e.action for e in reversed(entries)] == [
        "user.add", "user.change", "user.disable", "user.enable", "user.password_reset"]


def test_admin_cannot_demote_self_or_the_last_admin(conn: Connection) -> None:
    users.add(conn, "root", "password-123", "admin")
    with pytest.raises(Conflict, match="root"):
        admin.disable_user(conn, "root", "root")
    with pytest.raises(Conflict):
        admin.change_user(conn, "root", "root", "planner")
    users.add(conn, "other", "password-123", "planner")
    with pytest.raises(Conflict):  # root is the last active admin
        admin.disable_user(conn, "other", "root")
    users.add(conn, "root2", "password-123", "admin")
    admin.disable_user(conn, "root2", "root")
    assert not users.by_username(conn, "root").active


def test_cli_role_and_enable_are_audited(cli_env: dict[str, str]) -> None:
    from tests.accounts.test_users import _cli

    env = {**cli_env, "PW": "a-long-password", "USER": "ops"}
    assert _cli(["users", "add", "zhou", "--role", "staff", "--password-env", "PW"],
                env).returncode == 0
    r = _cli(["users", "role", "zhou", "--role", "supervisor", "--street", "12"], env)
    assert r.returncode == 1 and "12" in r.stderr
    assert _cli(["users", "disable", "zhou"], env).returncode == 0
    r = _cli(["users", "enable", "zhou"], env)
    assert r.returncode == 0 and "zhou" in r.stdout
    r = _cli(["users", "role", "zhou", "--role", "planner", "--name", "周"], env)
    assert r.returncode == 0, r.stderr
    assert "zhou\tplanner\t-\tactive" in _cli(["users", "list"], env).stdout
