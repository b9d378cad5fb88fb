"""Login throttle: per (user, address), per address and per user, without lock-outs.

Failed logins are stored in ``login_failure`` (every web worker sees the same counts).
Within ``login_window_s``:

- one username from one address: refused after ``login_max_per_user_address`` failures
  (password guessing from one place);
- one address, any usernames: refused after ``login_max_per_address`` (spraying);
- one username, any addresses: after ``login_max_per_user`` failures, an address that never
  had a session of that user may try only once per ``login_slow_s`` (slowed, not locked),
  while the owner's own addresses keep their normal allowance. So nobody can lock a user
  out from elsewhere, and no address can lock out another one.

The client address is whatever the web layer decides it is (behind a trusted proxy: the
forwarded address, see ``Settings.trusted_proxies``).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.config import Settings, params_from_settings

KNOWN_ADDRESS_DAYS = 30
"""An address with a session of the user in this many days is the owner's."""


@dataclass(frozen=True)
class LoginLimits:
    """Thresholds of the login throttle (defaults from :class:`Settings`)."""

    login_window_s: float = Settings.login_window_s
    login_max_per_user_address: int = Settings.login_max_per_user_address
    login_max_per_address: int = Settings.login_max_per_address
    login_max_per_user: int = Settings.login_max_per_user
    login_slow_s: float = Settings.login_slow_s

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimits:
        """The limits of loaded settings."""
        return params_from_settings(cls, settings)


def _key(username: str, client: str) -> dict[str, object]:
    return {"u": username.lower()[:64], "c": client[:64]}


def refusal(conn: Connection, username: str, client: str, limits: LoginLimits) -> str | None:
    """``None`` if a login attempt may go ahead, else the message code of the refusal."""
    key = {**_key(username, client), "w": limits.login_window_s, "slow": limits.login_slow_s}
    row = conn.execute(sa.text(
        "SELECT count(*) FILTER (WHERE username = :u AND client = :c) AS pair,"
        " count(*) FILTER (WHERE client = :c) AS address,"
        " count(*) FILTER (WHERE username = :u) AS per_user,"
        " count(*) FILTER (WHERE username = :u AND client = :c"
        "   AND at >= now() - make_interval(secs => :slow)) AS recent_pair"
        " FROM login_failure WHERE at >= now() - make_interval(secs => :w)"
        " AND (username = :u OR client = :c)"), key).one()
    if row.pair >= limits.login_max_per_user_address:
        return "security.login_throttled"
    if row.address >= limits.login_max_per_address:
        return "security.login_throttled_address"
    if row.per_user >= limits.login_max_per_user and row.recent_pair > 0 \
            and not known_address(conn, username, client):
        return "security.login_throttled_user"
    return None


def known_address(conn: Connection, username: str, client: str) -> bool:
    """Whether ``client`` had a session of ``username`` in the last 30 days."""
    return conn.execute(sa.text(
        "SELECT EXISTS (SELECT 1 FROM user_session s JOIN app_user a ON a.id = s.user_id"
        " WHERE lower(a.username) = :u AND s.client = :c"
        " AND s.created_at >= now() - make_interval(days => :d))"),
        {**_key(username, client), "d": KNOWN_ADDRESS_DAYS}).scalar_one()


def record_failure(conn: Connection, username: str, client: str, limits: LoginLimits) -> None:
    """Record a failed login (older rows than the window are pruned)."""
    key = {**_key(username, client), "w": limits.login_window_s}
    with conn.begin_nested():
        conn.execute(sa.text("DELETE FROM login_failure "
                             "WHERE at < now() - make_interval(secs => :w)"), key)
        conn.execute(sa.text("INSERT INTO login_failure (username, client) VALUES (:u, :c)"),
                     key)


def clear(conn: Connection, username: str, client: str) -> None:
    """Forget the failures of (username, client) after a successful login."""
    with conn.begin_nested():
        conn.execute(sa.text("DELETE FROM login_failure WHERE username = :u AND client = :c"),
                     _key(username, client))
