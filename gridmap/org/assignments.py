"""Grid workers (and 楼长 / 路长) linked to grids and 小区 with duty times (定人、定位、定时、定任务),
and the coverage report: grids of the active versions without a grid worker (target 100 %).

An assignment names a user (by id), a grid code (codes survive grid generations), optionally
an estate (小区) of the grid's community, a role (``grid_worker`` 网格员, ``building_head`` 楼长,
``road_head`` 路长), a duty text (职责/值班时间) and its validity ``valid_from``..``valid_to``
(dates, both inclusive; open-ended when ``valid_to`` is empty). A grid counts as covered on a
day when a ``grid_worker`` assignment is valid that day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import NotFound, ValidationError
from gridmap.org.assignment_input import AssignmentInput, validate_assignments
from gridmap.reference.workcal import LOCAL_TZ


@dataclass(frozen=True)
class Assignment:
    """A stored assignment (with the user's name and the estate's code for display)."""

    id: int
    user_id: int
    username: str
    display_name: str | None
    grid_code: str
    estate_id: int | None
    estate_code: str | None
    role: str
    duty: str | None
    valid_from: dt.date
    valid_to: dt.date | None


@dataclass(frozen=True)
class GridGap:
    """A grid of an active version with no grid worker on the day asked."""

    grid_id: int
    grid_code: str
    grid_name: str | None
    community_code: str
    community_name: str
    street_code: str


@dataclass(frozen=True)
class Coverage:
    """Grids and covered grids of one community or street; ``share`` = covered / grids."""

    level: str
    code: str
    name: str
    grids: int
    covered: int

    @property
    def share(self) -> float | None:
        """Covered share 0..1 (``None`` without grids)."""
        return self.covered / self.grids if self.grids else None


def today() -> dt.date:
    """Today in China (assignments are dated in local days)."""
    return dt.datetime.now(LOCAL_TZ).date()


def write_assignments(conn: Connection, inputs: Sequence[AssignmentInput]) -> tuple[int, int]:
    """Write validated assignments; one still valid for the same user, grid, role and estate
    is updated (duty, dates) instead of duplicated. Returns ``(created, updated)``."""
    ids = write_assignment_ids(conn, inputs)
    created = sum(1 for _, new in ids if new)
    return created, len(ids) - created


def write_assignment_ids(conn: Connection, inputs: Sequence[AssignmentInput]
                         ) -> list[tuple[int, bool]]:
    """:func:`write_assignments`, returning ``(id, created)`` of every row written."""
    if not inputs:
        return []
    cols = {"u": [a.user_id for a in inputs], "g": [a.grid_code for a in inputs],
            "e": [a.estate_id for a in inputs], "r": [a.role for a in inputs],
            "d": [a.duty for a in inputs], "f": [a.valid_from for a in inputs],
            "t": [a.valid_to for a in inputs]}
    x = (" FROM unnest(CAST(:u AS int[]), CAST(:g AS text[]), CAST(:e AS int[]),"
         " CAST(:r AS text[]), CAST(:d AS text[]), CAST(:f AS date[]), CAST(:t AS date[]))"
         " AS x(u, g, e, r, d, f, t)")
    same = ("a.user_id = x.u AND a.grid_code = x.g AND a.role = x.r"
            " AND a.estate_id IS NOT DISTINCT FROM x.e"
            " AND (a.valid_to IS NULL OR a.valid_to >= x.f)")
    updated = conn.execute(sa.text(
        "UPDATE grid_assignment a SET duty = x.d, valid_to = x.t" + x + " WHERE " + same  # noqa: S608
        + " RETURNING a.id"), cols).all()
    created = conn.execute(sa.text(
        "INSERT INTO grid_assignment (user_id, grid_code, estate_id, role, duty, valid_from,"  # noqa: S608
        " valid_to) SELECT x.u, x.g, x.e, x.r, x.d, x.f, x.t" + x +
        " WHERE NOT EXISTS (SELECT 1 FROM grid_assignment a WHERE " + same + ") RETURNING id"),
        cols).all()
    return [(int(r[0]), False) for r in updated] + [(int(r[0]), True) for r in created]


def save_assignments(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> tuple[int, int]:
    """Validate then write assignments (fields: :mod:`gridmap.org.assignment_input`).

    Raises ValidationError (``org.assignments_invalid``, every problem; nothing written).
    """
    inputs, problems = validate_assignments(conn, rows)
    if any(p.severity == "error" for p in problems):
        raise ValidationError("org.assignments_invalid", problems)
    with conn.begin_nested():
        return write_assignments(conn, inputs)


_SELECT = (
    "SELECT a.id, a.user_id, u.username, u.display_name, a.grid_code, a.estate_id, e.code,"
    " a.role, a.duty, a.valid_from, a.valid_to FROM grid_assignment a"
    " JOIN app_user u ON u.id = a.user_id LEFT JOIN estate e ON e.id = a.estate_id"
    " LEFT JOIN grid g ON g.grid_code = a.grid_code"
    " LEFT JOIN community c ON c.id = g.community_id LEFT JOIN street s ON s.id = c.street_id")


def list_assignments(conn: Connection, *, grid_code: str | None = None,
                     user_id: int | None = None, community_code: str | None = None,
                     street_code: str | None = None, on: dt.date | None = None
                     ) -> list[Assignment]:
    """Assignments, filtered; ``on`` keeps those valid that day (default: all, any time)."""
    rows = conn.execute(sa.text(
        _SELECT + " WHERE (CAST(:g AS text) IS NULL OR a.grid_code = :g)"
        " AND (CAST(:u AS int) IS NULL OR a.user_id = :u)"
        " AND (CAST(:c AS text) IS NULL OR c.code = :c)"
        " AND (CAST(:s AS text) IS NULL OR s.code = :s)"
        " AND (CAST(:on AS date) IS NULL OR (a.valid_from <= :on"
        "  AND (a.valid_to IS NULL OR a.valid_to >= :on)))"
        " ORDER BY a.grid_code, a.role, lower(u.username), a.valid_from"),
        {"g": grid_code, "u": user_id, "c": community_code, "s": street_code, "on": on})
    return [Assignment(*r) for r in rows]


def get_assignment(conn: Connection, assignment_id: int) -> Assignment:
    """One assignment. Raises NotFound."""
    row = conn.execute(sa.text(_SELECT + " WHERE a.id = :i"), {"i": assignment_id}).first()
    if row is None:
        raise NotFound("org.no_assignment", {"id": assignment_id})
    return Assignment(*row)


def assign_grid(conn: Connection, user_id: int, grid_code: str, *, role: str = "grid_worker",
                estate: str | None = None, duty: str | None = None,
                valid_from: dt.date | None = None, valid_to: dt.date | None = None
                ) -> Assignment:
    """Link a user to a grid (and optionally an estate of it) with a duty text.

    Raises ValidationError with every problem (unknown user, grid not in an active version,
    estate outside the grid's community, bad role or dates).
    """
    inputs, problems = validate_assignments(conn, [{
        "user_id": user_id, "grid_code": grid_code, "role": role, "estate": estate,
        "duty": duty, "valid_from": valid_from, "valid_to": valid_to}])
    if any(p.severity == "error" for p in problems):
        raise ValidationError("org.assignments_invalid", problems)
    with conn.begin_nested():
        written = write_assignment_ids(conn, inputs)
    return get_assignment(conn, max(i for i, _ in written))


def end_assignment(conn: Connection, assignment_id: int, on: dt.date | None = None
                   ) -> Assignment:
    """End an assignment on ``on`` (default today; never before it began). Raises NotFound."""
    get_assignment(conn, assignment_id)
    with conn.begin_nested():
        conn.execute(sa.text(
            "UPDATE grid_assignment SET valid_to = GREATEST(valid_from, CAST(:d AS date))"
            " WHERE id = :i"), {"i": assignment_id, "d": on or today()})
    return get_assignment(conn, assignment_id)


_GRIDS = (
    "WITH g AS (SELECT g.id, g.grid_code, g.name, c.code AS ccode, c.name AS cname,"
    "  s.code AS scode, s.name AS sname,"
    "  EXISTS (SELECT 1 FROM grid_assignment a WHERE a.grid_code = g.grid_code"
    "   AND a.role = 'grid_worker' AND a.valid_from <= :on"
    "   AND (a.valid_to IS NULL OR a.valid_to >= :on)) AS covered"
    " FROM grid_geometry gg JOIN grid_version v ON v.id = gg.version_id AND v.status = 'active'"
    " JOIN grid g ON g.id = gg.grid_id JOIN community c ON c.id = v.community_id"
    " JOIN street s ON s.id = c.street_id"
    " WHERE (CAST(:s AS text) IS NULL OR s.code = :s)"
    "  AND (CAST(:c AS text) IS NULL OR c.code = :c))")


def unassigned_grids(conn: Connection, *, on: dt.date | None = None,
                     street_code: str | None = None, community_code: str | None = None
                     ) -> list[GridGap]:
    """Grids of the active versions without a grid worker valid on ``on`` (default today)."""
    rows = conn.execute(sa.text(
        _GRIDS + " SELECT id, grid_code, name, ccode, cname, scode FROM g WHERE NOT covered"  # noqa: S608
        " ORDER BY grid_code"), {"on": on or today(), "s": street_code, "c": community_code})
    return [GridGap(*r) for r in rows]


def coverage(conn: Connection, *, level: str = "community", on: dt.date | None = None,
             street_code: str | None = None) -> list[Coverage]:
    """Grid-worker coverage per community (``level="community"``) or street, one query."""
    if level not in ("community", "street"):
        raise ValidationError("org.bad_coverage_level", params={"value": level})
    key = "ccode, cname" if level == "community" else "scode, sname"
    rows = conn.execute(sa.text(
        _GRIDS + f" SELECT {key}, count(*), count(*) FILTER (WHERE covered) FROM g"  # noqa: S608
        f" GROUP BY {key} ORDER BY 1"), {"on": on or today(), "s": street_code, "c": None})
    return [Coverage(level, r[0], r[1], int(r[2]), int(r[3])) for r in rows]
