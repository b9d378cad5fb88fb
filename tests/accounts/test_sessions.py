"""Issue #12 (4): server-side sessions end at logout, after the idle and absolute limits,
and whenever the account's password, active flag, role or scope changes (any code path:
the trigger of migration 0011)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts import sessions, users

PARAMS = sessions.SessionParams(session_idle_minutes=30, session_max_hours=12)


def _user(conn: Connection, name: str = "sess_user", role: str = "planner") -> users.User:
    return users.add(conn, name, "long-enough-pw", role)


def test_start_resolve_end(conn: Connection) -> None:
    u = _user(conn)
    token = sessions.start(conn, u.id, "10.0.0.1")
    assert sessions.resolve(conn, token, PARAMS) == u.id
    stored = conn.execute(sa.text("SELECT token_hash, client FROM user_session"
                                  " WHERE user_id = :u"), {"u": u.id}).one()
    assert stored.token_hash != token and len(stored.token_hash) == 64  # only its SHA-256
    assert stored.client == "10.0.0.1"
    sessions.end(conn, token)
    assert sessions.resolve(conn, token, PARAMS) is None
    assert sessions.resolve(conn, "made-up-token", PARAMS) is None


def test_idle_and_absolute_limits(conn: Connection) -> None:
    u = _user(conn)
    idle = sessions.start(conn, u.id, "a")
    old = sessions.start(conn, u.id, "a")
    fresh = sessions.start(conn, u.id, "a")
    conn.execute(sa.text("UPDATE user_session SET last_seen_at = now() - interval '31 minutes'"
                         " WHERE token_hash = encode(sha256(convert_to(:t, 'UTF8')), 'hex')"),
                 {"t": idle})
    conn.execute(sa.text("UPDATE user_session SET created_at = now() - interval '12 hours 1 minute'"
                         " WHERE token_hash = encode(sha256(convert_to(:t, 'UTF8')), 'hex')"),
                 {"t": old})
    assert sessions.resolve(conn, idle, PARAMS) is None
    assert sessions.resolve(conn, old, PARAMS) is None
    assert sessions.resolve(conn, fresh, PARAMS) == u.id
    # expired ones stay ended even if the limits were raised afterwards
    generous = sessions.SessionParams(session_idle_minutes=600, session_max_hours=48)
    assert sessions.resolve(conn, idle, generous) is None
    # a request within the idle time keeps the session going (last_seen_at moves)
    conn.execute(sa.text("UPDATE user_session SET last_seen_at = now() - interval '29 minutes'"
                         " WHERE token_hash = encode(sha256(convert_to(:t, 'UTF8')), 'hex')"),
                 {"t": fresh})
    assert sessions.resolve(conn, fresh, PARAMS) == u.id
    seen = conn.execute(sa.text(
        "SELECT now() - last_seen_at < interval '1 minute' FROM user_session"
        " WHERE token_hash = encode(sha256(convert_to(:t, 'UTF8')), 'hex')"),
        {"t": fresh}).scalar_one()
    assert seen


def test_account_changes_end_every_session(conn: Connection) -> None:
    u = _user(conn, "changing")
    other = _user(conn, "bystander")
    keep = sessions.start(conn, other.id, "b")
    for change in (
        lambda: users.set_password(conn, "changing", "another-long-pw"),
        lambda: conn.execute(sa.text("UPDATE app_user SET role = 'officer' WHERE id = :i"),
                             {"i": u.id}),
        lambda: conn.execute(sa.text(
            "UPDATE app_user SET role = 'supervisor', scope_streets = '{110101001}'"
            " WHERE id = :i"), {"i": u.id}),
        lambda: conn.execute(sa.text(
            "UPDATE app_user SET scope_streets = '{110101002}' WHERE id = :i"), {"i": u.id}),
        lambda: users.disable(conn, "changing"),
    ):
        conn.execute(sa.text("UPDATE app_user SET active = true WHERE id = :i"), {"i": u.id})
        tokens = [sessions.start(conn, u.id, "a"), sessions.start(conn, u.id, "c")]
        assert all(sessions.resolve(conn, t, PARAMS) == u.id for t in tokens)
        change()
        assert [sessions.resolve(conn, t, PARAMS) for t in tokens] == [None, None]
    assert sessions.resolve(conn, keep, PARAMS) == other.id  # other users untouched
    # a change that touches none of those columns keeps sessions
    t = sessions.start(conn, other.id, "b")
    conn.execute(sa.text("UPDATE app_user SET display_name = 'x', last_login_at = now()"
                         " WHERE id = :i"), {"i": other.id})
    assert sessions.resolve(conn, t, PARAMS) == other.id


def test_revoke_user(conn: Connection) -> None:
    u = _user(conn)
    tokens = [sessions.start(conn, u.id, "a") for _ in range(3)]
    assert sessions.open_sessions(conn, u.id) == 3
    assert sessions.revoke_user(conn, u.id) == 3
    assert sessions.open_sessions(conn, u.id) == 0
    assert all(sessions.resolve(conn, t, PARAMS) is None for t in tokens)
