"""Server-side login sessions (``user_session``): revocable, with idle and absolute limits.

The web app keeps only a random token in the (signed) cookie; this module stores its
SHA-256 with the user, the client address and the times. A session is valid while it is
not revoked, was used within ``session_idle_minutes`` and began within
``session_max_hours``. Logout revokes one session; :func:`revoke_user` all of a user's.
The database itself revokes every session of an account whose password, active flag, role
or scope changes (trigger of migration 0011), whoever changes it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts import users
from gridmap.config import Settings, params_from_settings

TOUCH_EVERY_S = 60.0
"""``last_seen_at`` is written at most this often per session (not on every request)."""
KEEP_DAYS = 30
"""Ended sessions are pruned after this many days (their addresses count as known)."""


@dataclass(frozen=True)
class SessionParams:
    """How long a session lives."""

    session_idle_minutes: float = Settings.session_idle_minutes
    session_max_hours: float = Settings.session_max_hours

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionParams:
        """The parameters of loaded settings."""
        return params_from_settings(cls, settings)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def start(conn: Connection, user_id: int, client: str) -> str:
    """Open a session for ``user_id``; return the token to put in the cookie."""
    token = secrets.token_urlsafe(32)
    with conn.begin_nested():
        conn.execute(sa.text(
            "DELETE FROM user_session WHERE coalesce(revoked_at, last_seen_at)"
            " < now() - make_interval(days => :d)"), {"d": KEEP_DAYS})
        conn.execute(sa.text(
            "INSERT INTO user_session (token_hash, user_id, client) VALUES (:h, :u, :c)"),
            {"h": _digest(token), "u": user_id, "c": client[:64]})
    return token


_CHECK = (
    "SELECT s.id AS session_id, s.user_id, s.revoked_at IS NULL AS open,"
    " s.last_seen_at >= now() - make_interval(secs => :idle_s) AS fresh,"
    " s.created_at >= now() - make_interval(secs => :max_s) AS young,"
    " s.last_seen_at < now() - make_interval(secs => :touch) AS stale")
# the account's columns (users._COLS) read with the session in one statement
_USER_COLS = ", ".join("u." + c.strip() for c in users._COLS.split(","))


def _lookup(conn: Connection, token: str, params: SessionParams, *,
            with_user: bool) -> sa.Row[Any] | None:
    sql = (f"{_CHECK}, {_USER_COLS} FROM user_session s JOIN app_user u ON u.id = s.user_id"
           if with_user else f"{_CHECK} FROM user_session s")
    return conn.execute(sa.text(f"{sql} WHERE s.token_hash = :h"),  # noqa: S608 - fixed fragments
                        {"h": _digest(token), "idle_s": params.session_idle_minutes * 60.0,
                         "max_s": params.session_max_hours * 3600.0,
                         "touch": TOUCH_EVERY_S}).first()


def _valid(conn: Connection, row: sa.Row[Any] | None) -> bool:
    """Whether the session row is valid; expired sessions are revoked on the way (so they
    stay ended), a used one records the use at most every :data:`TOUCH_EVERY_S`."""
    if row is None or not row.open:
        return False
    if not (row.fresh and row.young):
        _revoke(conn, "id = :i", {"i": row.session_id}, "expired")
        return False
    if row.stale:
        with conn.begin_nested():
            conn.execute(sa.text("UPDATE user_session SET last_seen_at = now() WHERE id = :i"),
                         {"i": row.session_id})
    return True


def resolve(conn: Connection, token: str, params: SessionParams) -> int | None:
    """The user id of a valid session, else ``None``; records the use (idle clock).

    Expired sessions (idle or absolute) are revoked on the way, so they stay ended.
    """
    row = _lookup(conn, token, params, with_user=False)
    return int(row.user_id) if row is not None and _valid(conn, row) else None


def resolve_user(conn: Connection, token: str, params: SessionParams) -> users.User | None:
    """:func:`resolve` and the account (active or not) in one statement: the account of a
    valid session, else ``None`` (also when the account no longer exists)."""
    row = _lookup(conn, token, params, with_user=True)
    return users._user(row) if row is not None and _valid(conn, row) else None


def end(conn: Connection, token: str) -> None:
    """Revoke the session of ``token`` (logout); unknown tokens are ignored."""
    _revoke(conn, "token_hash = :h", {"h": _digest(token)}, "logout")


def revoke_user(conn: Connection, user_id: int, reason: str = "revoked") -> int:
    """Revoke every open session of ``user_id``; return how many there were."""
    return _revoke(conn, "user_id = :u", {"u": user_id}, reason)


def open_sessions(conn: Connection, user_id: int) -> int:
    """How many sessions of ``user_id`` are not revoked (expiry is checked on use)."""
    return int(conn.execute(sa.text(
        "SELECT count(*) FROM user_session WHERE user_id = :u AND revoked_at IS NULL"),
        {"u": user_id}).scalar_one())


def _revoke(conn: Connection, where: str, params: dict[str, object], reason: str) -> int:
    with conn.begin_nested():
        result = conn.execute(sa.text(
            "UPDATE user_session SET revoked_at = now(), revoked_reason = :r"  # noqa: S608
            f" WHERE {where} AND revoked_at IS NULL"), {**params, "r": reason})
    return int(result.rowcount or 0)
