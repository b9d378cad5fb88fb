"""Issue #12 (16): login throttle per (user, address), per address (spraying) and per
user, and nobody can lock a user out from another address."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts import sessions, throttle, users

LIMITS = throttle.LoginLimits(login_window_s=600, login_max_per_user_address=3,
                              login_max_per_address=5, login_max_per_user=4, login_slow_s=60)


def _fail(conn: Connection, username: str, client: str, n: int) -> None:
    for _ in range(n):
        throttle.record_failure(conn, username, client, LIMITS)


def test_one_pair_is_refused_after_its_limit(conn: Connection) -> None:
    _fail(conn, "Alice", "10.0.0.9", 2)
    assert throttle.refusal(conn, "alice", "10.0.0.9", LIMITS) is None
    _fail(conn, "alice", "10.0.0.9", 1)
    assert throttle.refusal(conn, "ALICE", "10.0.0.9", LIMITS) == "security.login_throttled"
    throttle.clear(conn, "alice", "10.0.0.9")
    assert throttle.refusal(conn, "alice", "10.0.0.9", LIMITS) is None


def test_spraying_from_one_address_is_refused(conn: Connection) -> None:
    for name in ("u1", "u2", "u3", "u4", "u5"):
        _fail(conn, name, "10.6.6.6", 1)
    assert throttle.refusal(conn, "u6", "10.6.6.6", LIMITS) == "security.login_throttled_address"
    assert throttle.refusal(conn, "u6", "10.0.0.1", LIMITS) is None  # other addresses fine


def test_attacks_from_elsewhere_slow_strangers_but_never_lock_the_owner(
        conn: Connection) -> None:
    owner = users.add(conn, "owner", "long-enough-pw", "planner")
    sessions.start(conn, owner.id, "192.168.1.20")  # the owner logged in from here before
    for i in range(8):  # many addresses, each below its own limits
        _fail(conn, "owner", f"203.0.113.{i}", 1)
    # an attacker address that just failed must wait login_slow_s
    assert throttle.refusal(conn, "owner", "203.0.113.1", LIMITS) == \
        "security.login_throttled_user"
    # a new address may still try (once per login_slow_s): slowed, not locked
    assert throttle.refusal(conn, "owner", "198.51.100.7", LIMITS) is None
    # the owner's own address is not affected at all
    assert throttle.refusal(conn, "owner", "192.168.1.20", LIMITS) is None
    _fail(conn, "owner", "192.168.1.20", 1)  # one typo of the owner
    assert throttle.refusal(conn, "owner", "192.168.1.20", LIMITS) is None
    # the wait passes
    conn.execute(sa.text("UPDATE login_failure SET at = at - interval '61 seconds'"))
    assert throttle.refusal(conn, "owner", "203.0.113.1", LIMITS) is None
