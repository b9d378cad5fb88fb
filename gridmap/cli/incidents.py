"""``gridmap import incidents FILE`` and ``gridmap incidents …`` (transitions, indicators,
hotspots, synthetic data). Thin callers of :mod:`gridmap.incidents` (its submodules
``write``, ``indicators``, ``hotspots``), :mod:`gridmap.demo.synth` and, for transitions and
location confirmations, :mod:`gridmap.accounts.scope` (the same area rule as the web app:
unrestricted unless ``--user`` names an account)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
from sqlalchemy.engine import Connection

from gridmap import messages
from gridmap.accounts import scope as scopes
from gridmap.accounts import users
from gridmap.cli.app import AppContext, current_lang, main, pass_app, report_errors, say
from gridmap.cli.ingest import TerminalProgress, import_
from gridmap.cli.tables import handle_problems, print_summary, table_options, write_report
from gridmap.config import Settings
from gridmap.demo import synth as synth_lib
from gridmap.errors import ValidationError
from gridmap.incidents import hotspots, indicators
from gridmap.incidents.intake import IntakeParams
from gridmap.reference.workcal import LOCAL_TZ

USER_HELP = "Act for this account: only incidents of its area (default: the whole district)."


def _params(settings: Settings) -> IntakeParams:
    return IntakeParams.from_settings(settings)


def _scope(conn: Connection, username: str | None) -> scopes.Scope:
    """The area scope the command acts in: unrestricted, or that of ``--user``."""
    return scopes.ALL if username is None else scopes.scope_for(
        conn, users.by_username(conn, username))


def _date(value: str, name: str) -> dt.datetime:
    try:
        d = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError("incidents.not_a_date", params={"name": name, "value": value}
                              ) from exc
    return d if d.tzinfo else d.replace(tzinfo=LOCAL_TZ)


@import_.command("incidents")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate, locate and report; write nothing.")
@click.option("--coords", type=click.Choice(["wgs84", "cgcs2000", "gcj02", "bd09"]),
              help="Lon/lat system of the file (default: the profile's, else wgs84); "
              "gcj02/bd09 are converted to WGS84 explicitly.")
@click.option("--actor", default="cli", show_default=True)
@table_options
@click.option("--unmapped-to", help="Import categories nothing maps under this catalogue code,"
              " flagged for review (default: refuse them, listed with their counts).")
@click.option("--history", is_flag=True, help="Accept closed/evaluated cases with their "
              "lifecycle times (filed, dispatched, due, closed …), kept as imported events.")
@click.option("--reject-file", type=click.Path(path_type=Path), help="Import the good rows and"
              " write the rejected rows with their reasons here (default: all-or-nothing).")
@click.option("--outside-tolerance", type=float, help="Metres a point may lie outside every "
              "street/district before it is refused (default: setting outside_tolerance_m).")
@pass_app
@report_errors
@handle_problems
def import_incidents(app: AppContext, file: Path, dry_run: bool, coords: str | None,
                     actor: str, profile: str | None, sheet: str | None, encoding: str | None,
                     separator: str | None, report_file: Path | None, unmapped_to: str | None,
                     history: bool, reject_file: Path | None,
                     outside_tolerance: float | None) -> None:
    """Import incidents from CSV/TSV, Excel or GeoJSON (Open311 columns accepted, any other
    layout through --map), all-or-nothing unless --reject-file."""
    from gridmap.imports import cases, problems
    from gridmap.imports.profiles import load_profile

    if not file.exists():
        raise ValidationError("incidents.file_not_found", params={"path": str(file)})
    if file.stat().st_size > app.settings.max_upload_bytes * 20:
        raise ValidationError("incidents.file_too_large", params={"file": file.name})
    prof = load_profile(profile) if profile else None
    table = cases.read_table(file, sheet=sheet, encoding=encoding, separator=separator) \
        if (sheet or encoding or separator) else cases.read_cases(file, prof)
    options = cases.CaseOptions(profile=prof, coords=coords, unmapped_to=unmapped_to,
                                history=history, reject=reject_file is not None)
    overrides = {} if outside_tolerance is None else {"outside_tolerance_m": outside_tolerance}
    params = IntakeParams.from_settings(app.settings, **overrides)
    progress = TerminalProgress()
    try:
        with app.transaction() as conn:
            res = cases.import_cases(conn, table, options, actor=actor, dry_run=dry_run,
                                     params=params, source_file=file.name, progress=progress)
    finally:
        progress.close()
    lang = current_lang()
    if res.problems:
        print_summary(res.problems, lang)
    write_report(res.problems, report_file, lang, table.frame, res.source_columns)
    if reject_file is not None:
        n = problems.write_rejects(table.frame, res.problems, reject_file, lang=lang)
        say("tables.cli.rejects_written", {"n": n, "path": str(reject_file)})
    say("incidents.cli.dry_run" if dry_run else "incidents.cli.imported", res.report)
    say("tables.cli.located", res.report)
    if res.report.get("geocoded") or res.report.get("queued") or res.report.get("address_far"):
        say("geocode.cli.intake", res.report)  # issue #19: placed from addresses, queued, far


@main.group("incidents")
def incidents_group() -> None:
    """Incidents: case transitions, indicators, hotspots, synthetic data."""


@incidents_group.command("transition")
@click.argument("incident_id", type=int)
@click.argument("to_state")
@click.option("--actor", default="cli", show_default=True)
@click.option("--note")
@click.option("--extension", type=float, help="延期: approved extra time in the category unit.")
@click.option("--higher-approval", is_flag=True, help="Second 延期 approved by a higher level.")
@click.option("--user", "username", help=USER_HELP)
@pass_app
@report_errors
def transition(app: AppContext, incident_id: int, to_state: str, actor: str, note: str | None,
               extension: float | None, higher_approval: bool, username: str | None) -> None:
    """Move case INCIDENT_ID to TO_STATE (e.g. filed, dispatched, handling, handled, closed)."""
    with app.transaction() as conn:
        row = scopes.transition(conn, _scope(conn, username), incident_id, to_state,
                                actor=actor, note=note, extension=extension,
                                higher_approval=higher_approval, params=_params(app.settings))
    due = row["due_at"].isoformat() if row["due_at"] else "-"
    say("incidents.cli.transitioned", {"id": incident_id, "status": row["status"],
                                       "label": row["status_label"], "due": due})


@incidents_group.command("confirm-location")
@click.argument("incident_id", type=int)
@click.option("--grid", "grid_code", help="Grid code to move the case to (one of the nearest "
              "active grids); default: confirm the current grid.")
@click.option("--list", "list_only", is_flag=True, help="Only list the candidate grids.")
@click.option("--actor", default="cli", show_default=True)
@click.option("--note")
@click.option("--user", "username", help=USER_HELP)
@pass_app
@report_errors
def confirm_location_cmd(app: AppContext, incident_id: int, grid_code: str | None,
                         list_only: bool, actor: str, note: str | None,
                         username: str | None) -> None:
    """Confirm the grid of a case flagged near a boundary or placed in the nearest grid."""
    with app.transaction() as conn:
        scope = _scope(conn, username)
        # NotFound for an unknown id, PermissionDenied outside the user's area
        _, cands = scopes.location_candidates(conn, scope, incident_id)
        if list_only:
            lang = current_lang()
            for c in cands:
                flag = (messages.render("incidents.cli.inside", None, lang) if c["inside"]
                        else f"{c['distance_m']} m")
                current = ("\t" + messages.render("incidents.cli.current", None, lang)
                           if c["current"] else "")
                click.echo(f"{c['grid_code']}\t{flag}{current}")
            return
        grid_id = None
        if grid_code is not None:
            match = [c["grid_id"] for c in cands if c["grid_code"] == grid_code]
            if not match:
                raise ValidationError("incidents.not_a_nearby_grid", params={
                    "grid": grid_code, "incident": incident_id,
                    "choices": [c["grid_code"] for c in cands]})
            grid_id = match[0]
        out = scopes.confirm_location(conn, scope, incident_id, actor=actor, grid_id=grid_id,
                                      note=note)
    code = next(c["grid_code"] for c in cands if c["grid_id"] == out["grid_id"])
    say("incidents.cli.location_moved" if out["moved"] else "incidents.cli.location_confirmed",
        {"id": incident_id, "grid": code})


@incidents_group.command("indicators")
@click.option("--level", type=click.Choice(["grid", "community", "street"]), default="grid",
              show_default=True)
@click.option("--from", "start", required=True, help="Period start (YYYY-MM-DD, Beijing time).")
@click.option("--to", "end", required=True, help="Period end, exclusive (YYYY-MM-DD).")
@click.option("--out", type=click.Path(path_type=Path), help="Write .csv or .xlsx.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--area-class", type=click.Choice(["1", "2"]), default="1", show_default=True,
              help="一类/二类区域: the 立案数 score table of the composite.")
@click.option("--on-time-weight", type=float, default=40.0, show_default=True,
              help="Weight of 按期结案率 in the composite (the reference prints 10).")
@pass_app
@report_errors
def indicators_cmd(app: AppContext, level: str, start: str, end: str, out: Path | None,
                   lang: str, area_class: str, on_time_weight: float) -> None:
    """结案率, 按期结案率, 超期未结 … and the composite score/grade per grid, community or
    street."""
    s, e = _date(start, "--from"), _date(end, "--to")
    scoring = indicators.AreaScoring(area_class=int(area_class),
                                     weight_on_time_rate=on_time_weight)
    with app.engine.connect() as conn:
        rows = indicators.compute(conn, level, s, e, scoring=scoring)
    if out:
        indicators.export(rows, out, lang=lang)
        say("incidents.cli.wrote_rows", {"n": len(rows), "path": str(out)})
        return
    cols = ("code", "filed", "due", "closed", "close_rate", "on_time_rate", "overdue_open",
            "rework_rate", "score", "grade")
    click.echo("\t".join(cols))
    for r in rows:
        click.echo("\t".join(str("-" if r[k] is None else r[k]) for k in cols))


@incidents_group.command("hotspots")
@click.option("--level", type=click.Choice(["grid", "h3"]), default="grid", show_default=True)
@click.option("--z", "z_threshold", type=float, default=hotspots.HotspotParams.z_threshold,
              show_default=True)
@click.option("--from", "start")
@click.option("--to", "end")
@pass_app
@report_errors
def hotspots_cmd(app: AppContext, level: str, z_threshold: float, start: str | None,
                 end: str | None) -> None:
    """Significantly high grids or H3 cells (Getis-Ord Gi*), as JSON."""
    filters = {}
    if start:
        filters["start"] = _date(start, "--from")
    if end:
        filters["end"] = _date(end, "--to")
    with app.engine.connect() as conn:
        res = hotspots.hotspots(conn, level, filters, hotspots.HotspotParams(z_threshold))
    click.echo(json.dumps(res, ensure_ascii=False, indent=1))


@incidents_group.command("synth")
@click.argument("n", type=int)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--from", "start", default="2025-01-01", show_default=True)
@click.option("--to", "end", default="2025-12-31", show_default=True)
@pass_app
@report_errors
def synth(app: AppContext, n: int, seed: int, start: str, end: str) -> None:
    """Write N synthetic (clearly labelled) incidents over the loaded buildings and grids."""
    with app.transaction() as conn:
        k = synth_lib.synthesise(conn, n, seed=seed, start=_date(start, "--from"),
                                 end=_date(end, "--to"), params=_params(app.settings))
    say("incidents.cli.synthesised", {"n": k})
