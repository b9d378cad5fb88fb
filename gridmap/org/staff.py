"""Staff and their posts: who holds which post in which unit (``staff_post``).

Users are referred to by id (``app_user``), read with plain SQL: this package never imports
:mod:`gridmap.accounts` (which may build its area scope on :mod:`gridmap.org`). A revoked post
is kept with ``active = false`` so history keeps its meaning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import NotFound, Problem, ValidationError
from gridmap.org.posts import POSTS, post_info


@dataclass(frozen=True)
class Post:
    """A post held by a user: the unit (id and code) and the post code."""

    unit_id: int
    unit_code: str
    post: str


@dataclass(frozen=True)
class Member:
    """A user holding a post in a unit."""

    user_id: int
    username: str
    display_name: str | None
    post: str
    unit_id: int


def user_id(conn: Connection, username: str) -> int:
    """The id of the account ``username`` (case-insensitive). Raises NotFound."""
    found = conn.execute(sa.text("SELECT id FROM app_user WHERE lower(username) = lower(:u)"),
                         {"u": username}).scalar()
    if found is None:
        raise NotFound("org.no_user", {"username": username})
    return int(found)


def _check(conn: Connection, uid: int, unit_id: int, post: str) -> str:
    problems: list[Problem] = []
    info = post_info(post)
    if info is None:
        problems.append(Problem("org.unknown_post", {"value": post, "posts": POSTS},
                                field="post"))
    user = conn.execute(sa.text("SELECT active FROM app_user WHERE id = :i"), {"i": uid}).first()
    if user is None:
        problems.append(Problem("org.no_user_id", {"id": uid}, field="user_id"))
    elif not user[0]:
        problems.append(Problem("org.user_inactive", {"id": uid}, field="user_id"))
    unit = conn.execute(sa.text("SELECT active FROM org_unit WHERE id = :i"),
                        {"i": unit_id}).first()
    if unit is None:
        problems.append(Problem("org.no_unit_id", {"id": unit_id}, field="unit_id"))
    elif not unit[0]:
        problems.append(Problem("org.unit_inactive", {"id": unit_id}, field="unit_id"))
    if problems or info is None:
        raise ValidationError("org.post_invalid", problems)
    return info.code


def assign_post(conn: Connection, user_id: int, unit_id: int, post: str) -> Post:
    """Give user ``user_id`` the post ``post`` (code or Chinese name) in unit ``unit_id``.

    Assigning a post the user already holds (or held) makes it active again.

    Raises
    ------
    ValidationError
        Unknown post, unknown or inactive user or unit (every problem at once).
    """
    code = _check(conn, user_id, unit_id, post)
    with conn.begin_nested():
        write_posts(conn, [(user_id, unit_id, code)])
    unit_code = conn.execute(sa.text("SELECT code FROM org_unit WHERE id = :i"),
                             {"i": unit_id}).scalar_one()
    return Post(unit_id, unit_code, code)


def write_posts(conn: Connection, rows: Sequence[tuple[int, int, str]]) -> int:
    """Insert or re-activate validated ``(user_id, unit_id, post)`` rows (one statement)."""
    if not rows:
        return 0
    result = conn.execute(sa.text(
        "INSERT INTO staff_post (user_id, unit_id, post)"
        " SELECT * FROM unnest(CAST(:u AS int[]), CAST(:n AS int[]), CAST(:p AS text[]))"
        " ON CONFLICT (user_id, unit_id, post) DO UPDATE SET active = true"),
        {"u": [r[0] for r in rows], "n": [r[1] for r in rows], "p": [r[2] for r in rows]})
    return int(result.rowcount or 0)


def revoke_post(conn: Connection, user_id: int, unit_id: int, post: str) -> None:
    """Take a post away (kept inactive for history). Raises NotFound if not held."""
    info = post_info(post)
    with conn.begin_nested():
        done = conn.execute(sa.text(
            "UPDATE staff_post SET active = false WHERE user_id = :u AND unit_id = :n"
            " AND post = :p AND active RETURNING id"),
            {"u": user_id, "n": unit_id, "p": info.code if info else post}).first()
    if done is None:
        raise NotFound("org.no_post", {"user_id": user_id, "unit_id": unit_id, "post": post})


def posts_of(conn: Connection, user_id: int) -> list[Post]:
    """The active posts of a user in active units, ordered by unit code then post."""
    rows = conn.execute(sa.text(
        "SELECT p.unit_id, u.code, p.post FROM staff_post p JOIN org_unit u ON u.id = p.unit_id"
        " WHERE p.user_id = :i AND p.active AND u.active"
        " ORDER BY u.code, array_position(CAST(:posts AS text[]), p.post::text)"),
        {"i": user_id, "posts": list(POSTS)})
    return [Post(int(r[0]), r[1], r[2]) for r in rows]


_MEMBERS = (
    "SELECT a.id, a.username, a.display_name, p.post, p.unit_id FROM staff_post p"
    " JOIN app_user a ON a.id = p.user_id AND a.active"
    " WHERE p.active AND p.unit_id = :n")


def staff_with_post(conn: Connection, unit_id: int, post: str) -> list[Member]:
    """Active users holding ``post`` in unit ``unit_id`` (by username)."""
    rows = conn.execute(sa.text(_MEMBERS + " AND p.post = :p ORDER BY lower(a.username)"),
                        {"n": unit_id, "p": post})
    return [Member(int(r[0]), r[1], r[2], r[3], int(r[4])) for r in rows]


def staff_of_unit(conn: Connection, unit_id: int) -> list[Member]:
    """Every active post holder of a unit, by post (catalogue order) then username."""
    rows = conn.execute(sa.text(
        _MEMBERS + " ORDER BY array_position(CAST(:posts AS text[]), p.post::text),"
        " lower(a.username)"), {"n": unit_id, "posts": list(POSTS)})
    return [Member(int(r[0]), r[1], r[2], r[3], int(r[4])) for r in rows]


def all_members(conn: Connection) -> list[Member]:
    """Every active post holder of every active unit (one query), by unit code, post, name."""
    rows = conn.execute(sa.text(
        "SELECT a.id, a.username, a.display_name, p.post, p.unit_id FROM staff_post p"
        " JOIN app_user a ON a.id = p.user_id AND a.active"
        " JOIN org_unit u ON u.id = p.unit_id AND u.active WHERE p.active"
        " ORDER BY u.code, array_position(CAST(:posts AS text[]), p.post::text),"
        " lower(a.username)"), {"posts": list(POSTS)})
    return [Member(int(r[0]), r[1], r[2], r[3], int(r[4])) for r in rows]
