"""``gridmap org …``: units, posts, grid assignments, coverage and the CSV/XLSX import
(thin callers of :mod:`gridmap.org`)."""

from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path

import click

from gridmap.accounts.users import hash_password
from gridmap.cli.app import AppContext, main, pass_app, report_errors, say
from gridmap.errors import Problem, ValidationError
from gridmap.org import assignments as asg
from gridmap.org import importing, staff, tree, units
from gridmap.org.kinds import kinds_from_settings
from gridmap.org.sheets import KINDS_OF_SHEET, Sheet, read_org_file


@main.group()
def org() -> None:
    """Units (处置单位), staff posts, grid assignments and coverage."""


def _merge(files: tuple[Path, ...], kind: str | None) -> tuple[dict[str, Sheet], list[Problem]]:
    sheets: dict[str, Sheet] = {}
    problems: list[Problem] = []
    for f in files:
        found, probs = read_org_file(f, kind)
        problems += probs
        for k, sheet in found.items():
            if k in sheets:
                problems.append(Problem("org.sheet_twice", {"sheet": sheet.source, "kind": k},
                                        field=sheet.source))
            else:
                sheets[k] = sheet
    return sheets, problems


def _write_passwords(path: Path, pairs: list[tuple[str, str]]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["username", "temporary_password"])
        out.writerows(pairs)


@org.command("import")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(KINDS_OF_SHEET),
              help="Kind of a single-table file (default: from sheet names or headers).")
@click.option("--dry-run", is_flag=True, help="Validate and count; write nothing.")
@click.option("--passwords-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the temporary passwords of new accounts to this CSV (mode 0600) "
                   "instead of printing them.")
@pass_app
@report_errors
def import_cmd(app: AppContext, files: tuple[Path, ...], kind: str | None, dry_run: bool,
               passwords_out: Path | None) -> None:
    """Import units (单位), staff (人员) and grid assignments (网格分配) from XLSX/CSV files."""
    sheets, problems = _merge(files, kind)
    with app.transaction() as conn:
        report = importing.import_org(conn, sheets, hash_password=hash_password,
                                      kinds=kinds_from_settings(app.settings),
                                      dry_run=dry_run, read_problems=problems)
    for w in report.warnings:
        click.echo(f"  - {w.describe(app.settings.lang)}", err=True)
    say("org.cli_import_dry_run" if dry_run else "org.cli_import_done", {
        "units_created": report.units_created, "units_updated": report.units_updated,
        "users_created": report.users_created, "users_linked": report.users_linked,
        "posts": report.posts, "assignments_created": report.assignments_created,
        "assignments_updated": report.assignments_updated})
    if report.passwords and passwords_out is not None:
        _write_passwords(passwords_out, report.passwords)
        say("org.cli_passwords_written", {"path": str(passwords_out),
                                          "n": len(report.passwords)})
    elif report.passwords:
        say("org.cli_passwords_heading")
        for username, password in report.passwords:
            click.echo(f"{username}\t{password}")


@org.group("units")
def units_group() -> None:
    """List, add and deactivate units."""


@units_group.command("list")
@click.option("--all", "include_inactive", is_flag=True, help="Include inactive units.")
@pass_app
@report_errors
def units_list(app: AppContext, include_inactive: bool) -> None:
    """The unit tree: code, name, kind, line, level, areas (indented by depth)."""
    with app.transaction() as conn:
        roots = tree.tree(conn, include_inactive=include_inactive)
    for root in roots:
        for depth, u in root.walk():
            areas = ";".join(f"{a.level}:{a.code}" for a in u.areas) or "-"
            state = "" if u.active else "\t(inactive)"
            click.echo(f"{'  ' * depth}{u.code}\t{u.name}\t{u.kind}\t{u.line}\t{u.level}"
                       f"\t{areas}{state}")


@units_group.command("add")
@click.argument("code")
@click.argument("name")
@click.option("--kind", required=True, help="Kind code or Chinese name (城管中队, 房管所 …).")
@click.option("--line", help="kuai/块 or tiao/条 (default from the kind).")
@click.option("--level", help="district/street/community/grid (default from the kind).")
@click.option("--parent", help="Parent unit code.")
@click.option("--area", "areas", multiple=True, help="Served area: street:CODE, CODE …")
@click.option("--contact", "contact_name")
@click.option("--phone", "contact_phone")
@click.option("--webhook", "webhook_url")
@pass_app
@report_errors
def units_add(app: AppContext, code: str, name: str, kind: str, line: str | None,
              level: str | None, parent: str | None, areas: tuple[str, ...],
              contact_name: str | None, contact_phone: str | None,
              webhook_url: str | None) -> None:
    """Create a unit."""
    data = {"code": code, "name": name, "kind": kind, "line": line, "level": level,
            "parent": parent, "areas": list(areas), "contact_name": contact_name,
            "contact_phone": contact_phone, "webhook_url": webhook_url}
    with app.transaction() as conn:
        unit = units.create_unit(conn, data, kinds_from_settings(app.settings))
    say("org.cli_unit_created", {"code": unit.code, "id": unit.id})


@units_group.command("deactivate")
@click.argument("code")
@pass_app
@report_errors
def units_deactivate(app: AppContext, code: str) -> None:
    """Deactivate a unit (refused while active units hang below it)."""
    with app.transaction() as conn:
        units.deactivate_unit(conn, units.unit_by_code(conn, code).id)
    say("org.cli_unit_deactivated", {"code": code})


@units_group.command("reactivate")
@click.argument("code")
@pass_app
@report_errors
def units_reactivate(app: AppContext, code: str) -> None:
    """Make a deactivated unit active again."""
    with app.transaction() as conn:
        units.reactivate_unit(conn, units.unit_by_code(conn, code).id)
    say("org.cli_unit_reactivated", {"code": code})


@org.group("posts")
def posts_group() -> None:
    """Staff posts: list, assign, revoke."""


@posts_group.command("list")
@click.argument("username")
@pass_app
@report_errors
def posts_list(app: AppContext, username: str) -> None:
    """The active posts of a user: unit code and post."""
    with app.transaction() as conn:
        found = staff.posts_of(conn, staff.user_id(conn, username))
    for p in found:
        click.echo(f"{p.unit_code}\t{p.post}")


@posts_group.command("assign")
@click.argument("username")
@click.argument("unit")
@click.argument("post")
@pass_app
@report_errors
def posts_assign(app: AppContext, username: str, unit: str, post: str) -> None:
    """Give USERNAME the POST (code or Chinese name) in the unit with code UNIT."""
    with app.transaction() as conn:
        p = staff.assign_post(conn, staff.user_id(conn, username),
                              units.unit_by_code(conn, unit).id, post)
    say("org.cli_post_assigned", {"username": username, "unit": p.unit_code, "post": p.post})


@posts_group.command("revoke")
@click.argument("username")
@click.argument("unit")
@click.argument("post")
@pass_app
@report_errors
def posts_revoke(app: AppContext, username: str, unit: str, post: str) -> None:
    """Take the POST in UNIT away from USERNAME."""
    with app.transaction() as conn:
        staff.revoke_post(conn, staff.user_id(conn, username),
                          units.unit_by_code(conn, unit).id, post)
    say("org.cli_post_revoked", {"username": username, "unit": unit, "post": post})


@org.group("assignments")
def assignments_group() -> None:
    """Grid workers, 楼长 and 路长 on grids and 小区."""


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError("org.assignments_invalid", [Problem(
            "org.bad_date", {"value": value})]) from exc


@assignments_group.command("list")
@click.option("--grid", "grid_code")
@click.option("--user", "username")
@click.option("--community", "community_code")
@click.option("--street", "street_code")
@click.option("--on", "on", help="Only those valid on this date (YYYY-MM-DD).")
@pass_app
@report_errors
def assignments_list(app: AppContext, grid_code: str | None, username: str | None,
                     community_code: str | None, street_code: str | None, on: str | None
                     ) -> None:
    """id, grid, user, role, estate, duty, valid from, valid to."""
    with app.transaction() as conn:
        uid = staff.user_id(conn, username) if username else None
        rows = asg.list_assignments(conn, grid_code=grid_code, user_id=uid,
                                    community_code=community_code, street_code=street_code,
                                    on=_date(on))
    for a in rows:
        click.echo(f"{a.id}\t{a.grid_code}\t{a.username}\t{a.role}\t{a.estate_code or '-'}"
                   f"\t{a.duty or '-'}\t{a.valid_from}\t{a.valid_to or '-'}")


@assignments_group.command("add")
@click.argument("username")
@click.argument("grid_code")
@click.option("--estate", help="小区 code or name (in the grid's community).")
@click.option("--role", default="grid_worker", show_default=True,
              help="grid_worker/网格员, building_head/楼长, road_head/路长.")
@click.option("--duty", help="职责/值班时间, e.g. '周一至周五 08:30-17:30'.")
@click.option("--from", "valid_from", help="First day (YYYY-MM-DD; default today).")
@click.option("--to", "valid_to", help="Last day (YYYY-MM-DD; default open).")
@pass_app
@report_errors
def assignments_add(app: AppContext, username: str, grid_code: str, estate: str | None,
                    role: str, duty: str | None, valid_from: str | None,
                    valid_to: str | None) -> None:
    """Assign USERNAME to GRID_CODE."""
    with app.transaction() as conn:
        a = asg.assign_grid(conn, staff.user_id(conn, username), grid_code, role=role,
                            estate=estate, duty=duty, valid_from=_date(valid_from),
                            valid_to=_date(valid_to))
    say("org.cli_assigned", {"id": a.id, "username": a.username, "grid": a.grid_code,
                             "role": a.role})


@assignments_group.command("end")
@click.argument("assignment_id", type=int)
@click.option("--on", "on", help="Last day (YYYY-MM-DD; default today).")
@pass_app
@report_errors
def assignments_end(app: AppContext, assignment_id: int, on: str | None) -> None:
    """End an assignment."""
    with app.transaction() as conn:
        a = asg.end_assignment(conn, assignment_id, _date(on))
    say("org.cli_assignment_ended", {"id": a.id, "day": str(a.valid_to)})


@org.command("coverage")
@click.option("--level", type=click.Choice(["community", "street"]), default="community",
              show_default=True)
@click.option("--street", "street_code", help="Only this street (9-digit code).")
@click.option("--on", "on", help="Day (YYYY-MM-DD; default today).")
@pass_app
@report_errors
def coverage_cmd(app: AppContext, level: str, street_code: str | None, on: str | None) -> None:
    """Grid-worker coverage (target 100 %) and the grids without a worker."""
    day = _date(on)
    with app.transaction() as conn:
        rows = asg.coverage(conn, level=level, on=day, street_code=street_code)
        gaps = asg.unassigned_grids(conn, on=day, street_code=street_code)
    for c in rows:
        share = "-" if c.share is None else f"{c.share * 100:.1f}%"
        click.echo(f"{c.code}\t{c.name}\t{c.covered}/{c.grids}\t{share}")
    if gaps:
        say("org.cli_gaps_heading", {"n": len(gaps)})
    for g in gaps:
        click.echo(f"{g.grid_code}\t{g.grid_name or '-'}\t{g.community_code}\t{g.community_name}")
