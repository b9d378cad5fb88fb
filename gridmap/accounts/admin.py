"""Accounts changed by an administrator (the ``/admin/users`` page): add, change role and
scope, disable, enable, reset the password; each change one ``audit_log`` row.

The rules of :mod:`gridmap.accounts.users` apply (every problem at once); on top of them an
administrator cannot disable or demote their own account, nor the last active
administrator. A reset without a given password makes a random one, returned once (it is
never stored in clear). Disabling, a new password, a new role or scope end the account's
sessions (trigger of migration 0011).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts import users
from gridmap.accounts.users import User
from gridmap.audit.log import record
from gridmap.errors import Conflict, Problem, ValidationError

_CODE = re.compile(r"^\d+$")


@dataclass(frozen=True)
class Scope:
    """Scope codes read from one text field: 9 digits a street, 12 a community."""

    streets: tuple[str, ...] = ()
    communities: tuple[str, ...] = ()


def parse_scope(text: str | None) -> tuple[Scope, list[Problem]]:
    """Street and community codes from ``text`` (separated by commas, spaces or ``;``).

    Returns the codes read and a problem (``admin.bad_scope_code``) for each other word.
    """
    streets: list[str] = []
    communities: list[str] = []
    problems: list[Problem] = []
    for word in re.split(r"[\s,;，；、]+", text or ""):
        if not word:
            continue
        if _CODE.match(word) and len(word) in (9, 12):
            target = streets if len(word) == 9 else communities
            if word not in target:
                target.append(word)
        else:
            problems.append(Problem("admin.bad_scope_code", {"code": word[:40]}, field="scope"))
    return Scope(tuple(streets), tuple(communities)), problems


def _audit_view(u: User) -> dict[str, object]:
    return {"role": u.role, "active": u.active, "display_name": u.display_name,
            "scope_streets": list(u.scope_streets),
            "scope_communities": list(u.scope_communities)}


def _other_active_admins(conn: Connection, username: str) -> int:
    return int(conn.execute(sa.text(
        "SELECT count(*) FROM app_user WHERE role = 'admin' AND active"
        " AND lower(username) <> lower(:u)"), {"u": username}).scalar_one())


def _guard_admin(conn: Connection, actor: str, target: User, losing: bool) -> None:
    """Refuse to take the admin role or access from oneself or from the last admin."""
    if not losing or target.role != "admin":
        return
    if target.username.lower() == actor.lower():
        raise Conflict("admin.not_yourself", {"username": target.username})
    if _other_active_admins(conn, target.username) == 0:
        raise Conflict("admin.last_admin", {"username": target.username})


def add_user(conn: Connection, actor: str, username: str, password: str, role: str,
             scope_text: str | None = None, display_name: str | None = None) -> User:
    """Create an account (every problem of the form at once: users' rules and the scope)."""
    scope, problems = parse_scope(scope_text)
    problems = [*users.check(conn, username, password, role, scope.streets, scope.communities),
                *problems]
    if problems:
        raise ValidationError("accounts.invalid", problems)
    user = users.add(conn, username, password, role, display_name=display_name or None,
                     streets=scope.streets, communities=scope.communities)
    record(conn, actor, "user.add", "user", user.username, None, _audit_view(user))
    return user


def change_user(conn: Connection, actor: str, username: str, role: str,
                scope_text: str | None = None, display_name: str | None = None) -> User:
    """Set role, scope and display name of ``username``."""
    before = users.by_username(conn, username)
    scope, problems = parse_scope(scope_text)
    problems = [*users.check(conn, None, None, role, scope.streets, scope.communities),
                *problems]
    if problems:
        raise ValidationError("accounts.invalid", problems)
    _guard_admin(conn, actor, before, role != "admin")
    user = users.update(conn, username, role, streets=scope.streets,
                        communities=scope.communities, display_name=display_name or None)
    record(conn, actor, "user.change", "user", user.username, _audit_view(before),
           _audit_view(user))
    return user


def disable_user(conn: Connection, actor: str, username: str) -> User:
    """Disable ``username`` (not oneself, not the last admin)."""
    before = users.by_username(conn, username)
    _guard_admin(conn, actor, before, True)
    user = users.disable(conn, username)
    record(conn, actor, "user.disable", "user", user.username, {"active": before.active},
           {"active": False})
    return user


def enable_user(conn: Connection, actor: str, username: str) -> User:
    """Let ``username`` log in again."""
    user = users.enable(conn, username)
    record(conn, actor, "user.enable", "user", user.username, None, {"active": True})
    return user


def reset_password(conn: Connection, actor: str, username: str,
                   password: str | None = None) -> tuple[User, str | None]:
    """Set a new password; ``None`` or empty makes a random one, returned (else ``None``)."""
    made = None if password else secrets.token_urlsafe(9)
    user = users.set_password(conn, username, password or made or "")
    record(conn, actor, "user.password_reset", "user", user.username, None,
           {"generated": made is not None})
    return user, made
