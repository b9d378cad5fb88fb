"""Accounts of the web app (``app_user``): roles, password hashes, supervisor scope.

Roles are ``planner``, ``supervisor``, ``officer`` and ``admin``. A supervisor is scoped
to street codes (9 digits) and/or community codes (12 digits) and sees only that area.
Passwords are hashed with :func:`werkzeug.security.generate_password_hash` (scrypt, random
salt); hashes written before in gridmap's own ``scrypt$n$r$p$salt$hash`` format keep
verifying. There is no default password anywhere: demo accounts get random passwords,
printed once.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from werkzeug.security import check_password_hash, generate_password_hash

from gridmap.errors import Conflict, NotFound, Problem, ValidationError

ROLES: tuple[str, ...] = ("planner", "supervisor", "officer", "admin", "staff")
MIN_PASSWORD_LENGTH = 8
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")

# scrypt cost: ~50 ms per check on a small server, 16 MiB of memory.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_HASH_METHOD = f"scrypt:{_SCRYPT_N}:{_SCRYPT_R}:{_SCRYPT_P}"

DEMO_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("planner", "planner", "演示规划员"),
    ("supervisor", "supervisor", "演示街道监督员"),
    ("officer", "officer", "演示网格员"),
    ("admin", "admin", "演示管理员"),
)


@dataclass(frozen=True)
class User:
    """One account, without its password hash."""

    id: int
    username: str
    role: str
    display_name: str | None = None
    scope_streets: tuple[str, ...] = field(default_factory=tuple)
    scope_communities: tuple[str, ...] = field(default_factory=tuple)
    active: bool = True
    demo: bool = False

    @property
    def scoped(self) -> bool:
        """True when the user sees only part of the district (supervisors)."""
        return self.role == "supervisor"


_COLS = (
    "id, username, role, display_name, scope_streets, scope_communities, active, demo"
)


def _user(row: sa.Row) -> User:
    m = row._mapping
    return User(
        id=m["id"], username=m["username"], role=m["role"], display_name=m["display_name"],
        scope_streets=tuple(m["scope_streets"] or ()),
        scope_communities=tuple(m["scope_communities"] or ()),
        active=m["active"], demo=m["demo"],
    )


def hash_password(password: str) -> str:
    """Return werkzeug's ``scrypt:n:r:p$salt$hash`` for ``password`` (random salt)."""
    return generate_password_hash(password, method=_HASH_METHOD)


def verify_password(password: str, stored: str) -> bool:
    """True if ``password`` matches the hash ``stored`` (constant-time compare).

    Accepts werkzeug hashes and the ``scrypt$n$r$p$salt$hash`` (base64) format that
    gridmap wrote before it used werkzeug.
    """
    if stored.startswith("scrypt$"):
        return _verify_legacy(password, stored)
    try:
        return check_password_hash(stored, password)
    except (ValueError, TypeError):
        return False


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password, made once: unknown usernames cost one verification."""
    return hash_password(secrets.token_urlsafe(16))


def _verify_legacy(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        want = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r),
            p=int(p), dklen=len(want),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def _check(
    conn: Connection, username: str | None, password: str | None, role: str | None,
    streets: Sequence[str], communities: Sequence[str],
) -> None:
    problems: list[Problem] = []
    if username is not None and not _USERNAME.match(username):
        problems.append(Problem("accounts.bad_username", field="username"))
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        problems.append(Problem("accounts.password_too_short", {"min": MIN_PASSWORD_LENGTH},
                                field="password"))
    if role is not None and role not in ROLES:
        problems.append(Problem("accounts.unknown_role", {"role": role, "roles": ROLES},
                                field="role"))
    if role == "supervisor" and not streets and not communities:
        problems.append(Problem("accounts.supervisor_needs_scope", field="scope"))
    if role is not None and role != "supervisor" and (streets or communities):
        problems.append(Problem("accounts.scope_only_for_supervisors", field="scope"))
    for name, codes, table, unknown in (
            ("streets", streets, "street", "accounts.unknown_street_code"),
            ("communities", communities, "community", "accounts.unknown_community_code")):
        if not codes:
            continue
        known = {r[0] for r in conn.execute(
            sa.text(f"SELECT code FROM {table} WHERE code = ANY(:c) "  # noqa: S608 (fixed names)
                    "UNION SELECT code FROM admin_division WHERE code = ANY(:c)"),
            {"c": list(codes)})}
        for code in codes:
            if code not in known:
                problems.append(Problem(unknown, {"code": code}, field=name))
    if problems:
        raise ValidationError("accounts.invalid", problems)


def check(conn: Connection, username: str | None, password: str | None, role: str | None,
          streets: Sequence[str] = (), communities: Sequence[str] = ()) -> list[Problem]:
    """Every problem of an account's fields (``None``: not checked), without writing."""
    try:
        _check(conn, username, password, role, streets, communities)
    except ValidationError as exc:
        return list(exc.problems)
    return []


def add(
    conn: Connection, username: str, password: str, role: str, *,
    display_name: str | None = None, streets: Iterable[str] = (),
    communities: Iterable[str] = (), demo: bool = False,
) -> User:
    """Create an account.

    Raises
    ------
    ValidationError
        Every problem with the input at once (username, password length, role, scope).
    Conflict
        If the username exists already (case-insensitive).
    """
    s, c = list(streets), list(communities)
    _check(conn, username, password, role, s, c)
    with conn.begin_nested():
        exists = conn.execute(sa.text("SELECT 1 FROM app_user WHERE lower(username) = lower(:u)"),
                              {"u": username}).first()
        if exists:
            raise Conflict("accounts.exists", {"username": username})
        row = conn.execute(sa.text(
            "INSERT INTO app_user (username, display_name, password_hash, role, scope_streets,"  # noqa: S608
            " scope_communities, demo) VALUES (:u, :d, :h, :r, :s, :c, :demo)"
            f" RETURNING {_COLS}"),
            {"u": username, "d": display_name, "h": hash_password(password), "r": role,
             "s": s, "c": c, "demo": demo}).one()
    return _user(row)


def get(conn: Connection, user_id: int) -> User:
    """The account with id ``user_id`` (active or not). Raises NotFound."""
    row = conn.execute(sa.text(f"SELECT {_COLS} FROM app_user WHERE id = :i"),  # noqa: S608
                       {"i": user_id}).first()
    if row is None:
        raise NotFound("accounts.no_user_id", {"id": user_id})
    return _user(row)


def by_username(conn: Connection, username: str) -> User:
    """The account named ``username`` (case-insensitive). Raises NotFound."""
    row = conn.execute(
        sa.text(f"SELECT {_COLS} FROM app_user WHERE lower(username) = lower(:u)"),  # noqa: S608
        {"u": username}).first()
    if row is None:
        raise NotFound("accounts.no_user", {"username": username})
    return _user(row)


def authenticate(conn: Connection, username: str, password: str) -> User | None:
    """The active account if ``password`` is right, else ``None`` (records the login time)."""
    row = conn.execute(
        sa.text(f"SELECT {_COLS}, password_hash FROM app_user"  # noqa: S608
                " WHERE lower(username) = lower(:u)"), {"u": username}).first()
    if row is None:
        verify_password(password, _dummy_hash())  # the same scrypt work as a known user
        return None
    if not verify_password(password, row._mapping["password_hash"]) or not row._mapping["active"]:
        return None
    with conn.begin_nested():
        conn.execute(sa.text("UPDATE app_user SET last_login_at = now() WHERE id = :i"),
                     {"i": row._mapping["id"]})
    return _user(row)


def list_users(conn: Connection) -> list[User]:
    """All accounts, ordered by role then username."""
    rows = conn.execute(sa.text(
        f"SELECT {_COLS} FROM app_user ORDER BY role, lower(username)"))  # noqa: S608
    return [_user(r) for r in rows]


def disable(conn: Connection, username: str) -> User:
    """Disable an account: it can no longer log in and its sessions stop working."""
    by_username(conn, username)
    with conn.begin_nested():
        row = conn.execute(sa.text(
            f"UPDATE app_user SET active = false WHERE lower(username) = lower(:u)"  # noqa: S608
            f" RETURNING {_COLS}"), {"u": username}).one()
    return _user(row)


def set_password(conn: Connection, username: str, password: str) -> User:
    """Replace the password of ``username``."""
    _check(conn, None, password, None, [], [])
    by_username(conn, username)
    with conn.begin_nested():
        row = conn.execute(sa.text(
            "UPDATE app_user SET password_hash = :h WHERE lower(username) = lower(:u)"  # noqa: S608
            f" RETURNING {_COLS}"), {"u": username, "h": hash_password(password)}).one()
    return _user(row)


def update(conn: Connection, username: str, role: str, *, streets: Iterable[str] = (),
           communities: Iterable[str] = (), display_name: str | None = None) -> User:
    """Change the role, scope and display name of ``username`` (its sessions end: 0011).

    Raises
    ------
    ValidationError
        Every problem at once (role, scope, unknown codes).
    NotFound
        Unknown username.
    """
    s, c = list(streets), list(communities)
    _check(conn, None, None, role, s, c)
    by_username(conn, username)
    with conn.begin_nested():
        row = conn.execute(sa.text(
            "UPDATE app_user SET role = :r, scope_streets = :s, scope_communities = :c,"  # noqa: S608
            f" display_name = :d WHERE lower(username) = lower(:u) RETURNING {_COLS}"),
            {"u": username, "r": role, "s": s, "c": c, "d": display_name}).one()
    return _user(row)


def enable(conn: Connection, username: str) -> User:
    """Let a disabled account log in again."""
    by_username(conn, username)
    with conn.begin_nested():
        row = conn.execute(sa.text(
            f"UPDATE app_user SET active = true WHERE lower(username) = lower(:u)"  # noqa: S608
            f" RETURNING {_COLS}"), {"u": username}).one()
    return _user(row)


def scope_community_ids(conn: Connection, user: User) -> list[int] | None:
    """Ids of the communities a user may see; ``None`` means the whole district.

    Supervisors see the communities listed in their scope plus every community of the
    streets in their scope. Other roles are not scoped.
    """
    if not user.scoped:
        return None
    rows = conn.execute(sa.text(
        "SELECT c.id FROM community c JOIN street s ON s.id = c.street_id"
        " WHERE c.code = ANY(:cc) OR s.code = ANY(:sc) ORDER BY c.id"),
        {"cc": list(user.scope_communities), "sc": list(user.scope_streets)})
    return [r[0] for r in rows]


def ensure_demo(conn: Connection) -> list[tuple[User, str]]:
    """Create (or re-key) the demo accounts with fresh random passwords.

    Accounts ``planner``, ``supervisor``, ``officer``, ``admin`` (flagged ``demo``). The
    demo supervisor is scoped to the first street in the database; with no street
    loaded it is skipped. Existing non-demo accounts of the same name are never touched.
    Returns ``(user, password)`` pairs to print once.
    """
    first_street = conn.execute(sa.text("SELECT code FROM street ORDER BY code LIMIT 1")).scalar()
    out: list[tuple[User, str]] = []
    with conn.begin_nested():
        for username, role, display in DEMO_ACCOUNTS:
            streets = [first_street] if role == "supervisor" and first_street else []
            if role == "supervisor" and not streets:
                continue
            password = secrets.token_urlsafe(9)
            row = conn.execute(sa.text(
                "SELECT id, demo FROM app_user WHERE lower(username) = lower(:u)"),
                {"u": username}).first()
            if row is not None and not row._mapping["demo"]:
                continue  # a real account with that name: never touch it
            if row is None:
                user = add(conn, username, password, role, display_name=display,
                           streets=streets, demo=True)
            else:
                conn.execute(sa.text(
                    "UPDATE app_user SET password_hash = :h, active = true, scope_streets = :s"
                    " WHERE id = :i"),
                    {"h": hash_password(password), "s": streets, "i": row._mapping["id"]})
                user = get(conn, row._mapping["id"])
            out.append((user, password))
    return out
