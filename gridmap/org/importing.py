"""Import units, staff and grid assignments from CSV/XLSX: validated (every problem of every
sheet at once), one transaction, ``dry_run``.

One workbook with the sheets 单位, 人员, 网格分配 (or separate CSV files) imports in one call.
Staff rows name accounts: an existing username is linked (its password and role untouched), a
new one becomes an ``app_user`` with role ``staff`` and a random temporary password that the
report returns once (the caller prints it or writes it to a file readable only by its owner).
Posts and assignments are added (an import never revokes what the file does not mention);
units and assignments already stored are updated by their code / (user, grid, role, 小区).

Password hashing belongs to :mod:`gridmap.accounts`, which this package does not import: the
caller passes ``hash_password``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import Problem, ValidationError
from gridmap.org.assignment_input import AssignmentInput, resolve_users, validate_assignments
from gridmap.org.assignments import write_assignments
from gridmap.org.kinds import DEFAULT_KINDS, Kinds
from gridmap.org.posts import POSTS, post_info
from gridmap.org.sheets import FIRST_ROW, Sheet
from gridmap.org.staff import write_posts
from gridmap.org.unit_input import UnitInput, text
from gridmap.org.units import validate_units, write_units

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
"""Usernames the import accepts (the same rule as the accounts' own)."""
TEMP_PASSWORD_BYTES = 12
"""Temporary passwords: ``secrets.token_urlsafe(12)``, 16 characters."""
_SPLIT = re.compile(r"[;；,，、/\s]+")


@dataclass
class StaffRow:
    """A validated staff row: the account, its unit and its posts."""

    username: str
    display_name: str | None
    unit: str | None
    posts: tuple[str, ...]
    exists: bool


@dataclass
class OrgImportReport:
    """What an import did (or, with ``dry_run``, would do)."""

    dry_run: bool
    units_created: int = 0
    units_updated: int = 0
    users_created: int = 0
    users_linked: int = 0
    posts: int = 0
    assignments_created: int = 0
    assignments_updated: int = 0
    passwords: list[tuple[str, str]] = field(default_factory=list)
    """``(username, temporary password)`` of every account created (empty on a dry run)."""
    warnings: list[Problem] = field(default_factory=list)


def _existing_users(conn: Connection, names: Sequence[str]) -> dict[str, bool]:
    rows = conn.execute(sa.text("SELECT lower(username), active FROM app_user"
                                " WHERE lower(username) = ANY(:n)"),
                        {"n": [n.lower() for n in names]})
    return {r[0]: bool(r[1]) for r in rows}


def _staff_row(data: Mapping[str, str], row: int, users: Mapping[str, bool],
               units: set[str], problems: list[Problem]) -> StaffRow | None:
    before = len(problems)
    username = text(data.get("username"))
    if username is None or not USERNAME.match(username):
        problems.append(Problem("org.bad_username", {"value": username or ""}, row=row,
                                field="username"))
    elif users.get(username.lower()) is False:
        problems.append(Problem("org.user_inactive_name", {"username": username}, row=row,
                                field="username"))
    posts: list[str] = []
    for name in _SPLIT.split(text(data.get("posts")) or ""):
        info = post_info(name) if name else None
        if name and info is None:
            problems.append(Problem("org.unknown_post", {"value": name, "posts": POSTS},
                                    row=row, field="posts"))
        elif info is not None and info.code not in posts:
            posts.append(info.code)
    unit = text(data.get("unit"))
    if unit is None and posts:
        problems.append(Problem("org.post_needs_unit", row=row, field="unit"))
    elif unit is not None and unit not in units:
        problems.append(Problem("org.unknown_unit", {"code": unit}, row=row, field="unit"))
    if len(problems) > before or username is None:
        return None
    return StaffRow(username, text(data.get("display_name")), unit, tuple(posts),
                    username.lower() in users)


def validate_staff(conn: Connection, sheet: Sheet, unit_codes: set[str]
                   ) -> tuple[list[StaffRow], list[Problem]]:
    """Check staff rows against the stored accounts and the known unit codes."""
    users = _existing_users(conn, [r.get("username", "") for r in sheet.rows])
    out: list[StaffRow] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, data in enumerate(sheet.rows):
        row = FIRST_ROW + i
        staff = _staff_row(data, row, users, unit_codes, problems)
        if staff is None:
            continue
        key = staff.username.lower()
        if key in seen and not staff.posts:
            problems.append(Problem("org.duplicate_username", {"username": staff.username},
                                    row=row, field="username"))
        seen.add(key)
        out.append(staff)
    return out, problems


@dataclass
class Plan:
    """Everything validated, ready to write."""

    units: list[UnitInput]
    staff: list[StaffRow]
    assignments: list[AssignmentInput]


def plan_import(conn: Connection, sheets: Mapping[str, Sheet], kinds: Kinds = DEFAULT_KINDS
                ) -> tuple[Plan, list[Problem]]:
    """Validate every sheet (references across sheets resolve: a staff row may name a unit of
    the units sheet, an assignment a user of the staff sheet). Returns the plan and every
    problem, each located as ``sheet:header`` and row."""
    problems: list[Problem] = []
    unit_sheet, staff_sheet = sheets.get("units"), sheets.get("staff")
    units: list[UnitInput] = []
    if unit_sheet is not None:
        units, found = validate_units(conn, unit_sheet.rows, kinds, first_row=FIRST_ROW)
        problems += unit_sheet.locate(found)
    stored = {r[0] for r in conn.execute(sa.text("SELECT code FROM org_unit WHERE active"))}
    codes = stored | {u.code for u in units}
    staff: list[StaffRow] = []
    if staff_sheet is not None:
        staff, found = validate_staff(conn, staff_sheet, codes)
        problems += staff_sheet.locate(found)
    assignments: list[AssignmentInput] = []
    if "assignments" in sheets:
        sheet = sheets["assignments"]
        assignments, found = validate_assignments(
            conn, sheet.rows, first_row=FIRST_ROW,
            pending_usernames=[s.username for s in staff if not s.exists])
        problems += sheet.locate(found)
    return Plan(units, staff, assignments), problems


def _create_users(conn: Connection, staff: Sequence[StaffRow], dry_run: bool,
                  hash_password: Callable[[str], str]) -> list[tuple[str, str]]:
    new: dict[str, StaffRow] = {}
    for s in staff:
        if not s.exists:
            new.setdefault(s.username.lower(), s)
    passwords = [] if dry_run else [(s.username, secrets.token_urlsafe(TEMP_PASSWORD_BYTES))
                                    for s in new.values()]
    hashes = ["!dry-run"] * len(new) if dry_run else [hash_password(p) for _, p in passwords]
    conn.execute(sa.text(
        "INSERT INTO app_user (username, display_name, password_hash, role)"
        " SELECT x.u, x.d, x.h, 'staff' FROM unnest(CAST(:u AS text[]), CAST(:d AS text[]),"
        " CAST(:h AS text[])) AS x(u, d, h)"),
        {"u": [s.username for s in new.values()],
         "d": [s.display_name for s in new.values()], "h": hashes})
    return passwords


def _write(conn: Connection, plan: Plan, report: OrgImportReport,
           hash_password: Callable[[str], str]) -> None:
    report.units_created, report.units_updated = write_units(conn, plan.units)
    report.passwords = _create_users(conn, plan.staff, report.dry_run, hash_password)
    report.users_created = len({s.username.lower() for s in plan.staff if not s.exists})
    report.users_linked = len({s.username.lower() for s in plan.staff if s.exists})
    triples = [(s.username.lower(), s.unit, p) for s in plan.staff if s.unit for p in s.posts]
    ids = {r[0]: int(r[1]) for r in conn.execute(sa.text(
        "SELECT lower(username), id FROM app_user WHERE lower(username) = ANY(:n)"),
        {"n": [t[0] for t in triples]})}
    units = {r[0]: int(r[1]) for r in conn.execute(sa.text(
        "SELECT code, id FROM org_unit WHERE code = ANY(:c)"), {"c": [t[1] for t in triples]})}
    report.posts = write_posts(conn, [(ids[u], units[str(n)], p) for u, n, p in triples])
    report.assignments_created, report.assignments_updated = write_assignments(
        conn, resolve_users(conn, plan.assignments))


def import_org(conn: Connection, sheets: Mapping[str, Sheet], *,
               hash_password: Callable[[str], str], kinds: Kinds = DEFAULT_KINDS,
               dry_run: bool = False, read_problems: Sequence[Problem] = ()
               ) -> OrgImportReport:
    """Validate and write units, staff and assignments in one savepoint.

    ``read_problems`` are those found while reading the file (:func:`gridmap.org.sheets.
    read_org_file`). With ``dry_run`` everything is written and rolled back, so the counts
    are exact and nothing changes.

    Raises
    ------
    ValidationError
        ``org.import_invalid`` with every problem of every sheet; nothing is written.
    """
    plan, problems = plan_import(conn, sheets, kinds)
    problems = [*read_problems, *problems]
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ValidationError("org.import_invalid", problems, {"errors": len(errors)})
    report = OrgImportReport(dry_run=dry_run,
                             warnings=[p for p in problems if p.severity != "error"])
    savepoint = conn.begin_nested()
    try:
        _write(conn, plan, report, hash_password)
    except BaseException:
        savepoint.rollback()
        raise
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
    return report
