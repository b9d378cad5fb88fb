"""Assignment input: a grid assignment as given by a form, the API or a spreadsheet row,
normalised and validated in a few set-based queries (every problem at once).

Fields: ``user_id`` or ``username``; ``grid_code`` (a grid of an **active** version);
``estate`` (小区 code or name, inside the grid's community; optional); ``role``
(``grid_worker``/网格员, ``building_head``/楼长, ``road_head``/路长; default grid worker);
``duty`` (职责/值班时间, free text); ``valid_from`` (default today) and ``valid_to`` (dates
``2026-01-31``, ``2026/1/31`` or ``2026-01-31 00:00:00``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import Problem
from gridmap.org.unit_input import text
from gridmap.reference.workcal import LOCAL_TZ

ROLES: tuple[str, ...] = ("grid_worker", "building_head", "road_head")
ROLE_ALIASES: Mapping[str, str] = {
    **{r: r for r in ROLES}, "网格员": "grid_worker", "网格管理员": "grid_worker",
    "楼长": "building_head", "楼组长": "building_head", "路长": "road_head"}
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]00:00(?::00)?)?$")


@dataclass(frozen=True)
class AssignmentInput:
    """A normalised assignment; ``user_id`` is ``None`` while the user is still to be created
    (same import), ``username`` then names it."""

    user_id: int | None
    username: str | None
    grid_code: str
    estate_id: int | None
    role: str
    duty: str | None
    valid_from: dt.date
    valid_to: dt.date | None
    row: int | None = None


def parse_date(value: Any) -> dt.date | None:
    """A date from a date, a datetime or text; ``None`` when not a date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    m = _DATE.match(str(value).strip())
    if m is None:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def _fields(data: Mapping[str, Any], row: int | None, problems: list[Problem]
            ) -> tuple[str | None, dt.date | None, dt.date | None]:
    role_text = text(data.get("role"))
    role = ROLE_ALIASES.get(role_text) if role_text else "grid_worker"
    if role is None:
        problems.append(Problem("org.bad_role", {"value": role_text, "roles": ROLES}, row=row,
                                field="role"))
    dates: list[dt.date | None] = []
    for name in ("valid_from", "valid_to"):
        raw = data.get(name)
        value = None if text(raw) is None else parse_date(raw)
        if text(raw) is not None and value is None:
            problems.append(Problem("org.bad_date", {"value": str(raw)}, row=row, field=name))
        dates.append(value)
    start = dates[0] or dt.datetime.now(LOCAL_TZ).date()
    if dates[1] is not None and dates[1] < start:
        problems.append(Problem("org.dates_reversed", {"start": start.isoformat(),
                                                       "end": dates[1].isoformat()},
                                row=row, field="valid_to"))
    return role, start, dates[1]


def _lookups(conn: Connection, rows: Sequence[Mapping[str, Any]]
             ) -> tuple[dict[str, tuple[int, bool]], dict[str, list[tuple[int, int]]],
                        dict[Any, int]]:
    grids = {r[0]: (int(r[1]), bool(r[2])) for r in conn.execute(sa.text(
        "SELECT g.grid_code, g.community_id, EXISTS (SELECT 1 FROM grid_geometry gg"
        " JOIN grid_version v ON v.id = gg.version_id AND v.status = 'active'"
        " WHERE gg.grid_id = g.id) FROM grid g WHERE g.grid_code = ANY(:g)"),
        {"g": [str(text(r.get("grid_code"))) for r in rows]})}
    names = [str(text(r.get("estate"))) for r in rows if text(r.get("estate"))]
    estates: dict[str, list[tuple[int, int]]] = {}
    for r in conn.execute(sa.text(
            "SELECT id, code, name, community_id FROM estate"
            " WHERE code = ANY(:e) OR name = ANY(:e)"), {"e": names}):
        for key in {r[1], r[2]} - {None}:
            estates.setdefault(key, []).append((int(r[0]), int(r[3])))
    ids = [r.get("user_id") for r in rows if isinstance(r.get("user_id"), int)]
    unames = [str(text(r.get("username"))).lower() for r in rows if text(r.get("username"))]
    users: dict[Any, int] = {}
    for r in conn.execute(sa.text(
            "SELECT id, lower(username) FROM app_user WHERE active"
            " AND (id = ANY(:i) OR lower(username) = ANY(:n))"), {"i": ids, "n": unames}):
        users[int(r[0])] = int(r[0])
        users[r[1]] = int(r[0])
    return grids, estates, users


def _place(data: Mapping[str, Any], grids: Mapping[str, tuple[int, bool]],
           estates: Mapping[str, list[tuple[int, int]]], row: int | None,
           problems: list[Problem]) -> tuple[str | None, int | None]:
    grid = text(data.get("grid_code"))
    if grid is None:
        problems.append(Problem("org.missing", {"field": "grid_code"}, row=row,
                                field="grid_code"))
        return None, None
    if grid not in grids:
        problems.append(Problem("org.unknown_grid", {"code": grid}, row=row, field="grid_code"))
        return None, None
    community, active = grids[grid]
    if not active:
        problems.append(Problem("org.grid_not_active", {"code": grid}, row=row,
                                field="grid_code"))
    estate = text(data.get("estate"))
    if estate is None:
        return grid, None
    inside = [e for e, c in estates.get(estate, []) if c == community]
    if not inside:
        code = "org.estate_outside_grid" if estate in estates else "org.unknown_estate"
        problems.append(Problem(code, {"estate": estate, "grid": grid}, row=row, field="estate"))
        return grid, None
    return grid, inside[0]


def validate_assignments(conn: Connection, rows: Sequence[Mapping[str, Any]], *,
                         first_row: int | None = None,
                         pending_usernames: Collection[str] = ()
                         ) -> tuple[list[AssignmentInput], list[Problem]]:
    """Normalise and check assignments; ``pending_usernames`` are users the same import
    creates. Returns the valid inputs and every problem (nothing written)."""
    grids, estates, users = _lookups(conn, rows)
    pending = {u.lower() for u in pending_usernames}
    out: list[AssignmentInput] = []
    problems: list[Problem] = []
    seen: set[tuple[Any, ...]] = set()
    for i, data in enumerate(rows):
        row = None if first_row is None else first_row + i
        before = len(problems)
        uid, uname = data.get("user_id"), text(data.get("username"))
        if uid is None and uname is None:
            problems.append(Problem("org.missing", {"field": "username"}, row=row,
                                    field="username"))
        elif uid is not None and uid not in users:
            problems.append(Problem("org.no_user_id", {"id": uid}, row=row, field="user_id"))
        elif uid is None and uname is not None and uname.lower() not in users \
                and uname.lower() not in pending:
            problems.append(Problem("org.no_user", {"username": uname}, row=row,
                                    field="username"))
        grid, estate_id = _place(data, grids, estates, row, problems)
        role, start, end = _fields(data, row, problems)
        if len(problems) > before or grid is None or role is None or start is None:
            continue
        resolved = uid if uid is not None else users.get(str(uname).lower())
        key = (resolved or str(uname).lower(), grid, role, estate_id)
        if key in seen:
            problems.append(Problem("org.duplicate_assignment", {"grid": grid}, row=row))
            continue
        seen.add(key)
        out.append(AssignmentInput(resolved, uname, grid, estate_id, role,
                                   text(data.get("duty")), start, end, row))
    return out, problems


def resolve_users(conn: Connection, inputs: Sequence[AssignmentInput]
                  ) -> list[AssignmentInput]:
    """Fill in the ids of users created after validation (one query)."""
    names = [a.username.lower() for a in inputs if a.user_id is None and a.username]
    ids = {r[1]: int(r[0]) for r in conn.execute(sa.text(
        "SELECT id, lower(username) FROM app_user WHERE lower(username) = ANY(:n)"),
        {"n": names})}
    return [a if a.user_id is not None else replace(a, user_id=ids[str(a.username).lower()])
            for a in inputs]
