"""``gridmap grids …``: list, show, draft, validate, impact, activate, activate-due,
unschedule, diff, revert, autopartition, rebalance. Thin callers of :mod:`gridmap.grids`."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from typing import Any

import click

from gridmap import grids, messages
from gridmap.cli.app import AppContext, main, pass_app, report_errors
from gridmap.errors import ValidationError
from gridmap.grids import activation as grid_activation
from gridmap.grids.partition import PartitionParams

CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def _date(value: str | None) -> dt.datetime:
    if not value:
        return dt.datetime.now(CHINA_TZ)
    try:
        d = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError("grids.bad_effective_date", params={"value": value}) from exc
    return d if d.tzinfo else d.replace(tzinfo=CHINA_TZ)


def _rules(app: AppContext) -> grids.GridRules:
    return grids.GridRules.from_settings(app.settings)


def _params(app: AppContext) -> PartitionParams:
    s = app.settings
    return PartitionParams(households_min=s.grid_households_min,
                           households_max=s.grid_households_max)


def _dump(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


@main.group("grids")
def grids_group() -> None:
    """Grid plans (网格): versions, drafts, validation, impact, activation."""


@grids_group.command("list")
@click.argument("community")
@pass_app
@report_errors
def list_cmd(app: AppContext, community: str) -> None:
    """List the versions of COMMUNITY (id or 12-digit code)."""
    with app.transaction() as conn:
        cid = grids.community_id_for(conn, community)
        rows = grids.list_versions(conn, cid)
    click.echo(f"{'id':>6} {'gen':>4} {'status':8} {'grids':>5}  valid_from → valid_to  note")
    for r in rows:
        vf = r["valid_from"].strftime("%Y-%m-%d") if r["valid_from"] else "-"
        vt = r["valid_to"].strftime("%Y-%m-%d") if r["valid_to"] else "-"
        click.echo(f"{r['id']:>6} {r['generation']:>4} {r['status']:8} {r['grids']:>5}"
                   f"  {vf} → {vt}  {r['note'] or ''}")


@grids_group.command("show")
@click.argument("version", type=int)
@click.option("--geojson", is_flag=True, help="Print the grids as GeoJSON.")
@pass_app
@report_errors
def show_cmd(app: AppContext, version: int, geojson: bool) -> None:
    """Show the grids of VERSION with households, residents and buildings."""
    with app.transaction() as conn:
        if geojson:
            _dump(grids.version_geojson(conn, version))
            return
        v = grids.get_version(conn, version)
        rows = grids.version_grids(conn, version)
    click.echo(f"version {v['id']} generation {v['generation']} {v['status']}"
               f" lock_version={v['lock_version']}")
    for r in rows:
        lock = " [locked]" if r["locked"] else ""
        click.echo(f"  {r['grid_code']:16} {r['households']:>6} hh {r['residents']:>7} res"
                   f" {r['buildings']:>5} bld  {r['responsible_party'] or '-'}{lock}")


@grids_group.command("draft")
@click.argument("community")
@click.option("--actor", default="cli", show_default=True)
@click.option("--note")
@pass_app
@report_errors
def draft_cmd(app: AppContext, community: str, actor: str, note: str | None) -> None:
    """Create a draft of COMMUNITY as a copy of its active plan; prints the version id."""
    with app.transaction() as conn:
        vid = grids.create_draft(conn, grids.community_id_for(conn, community), actor=actor,
                                 note=note)
    click.echo(vid)


@grids_group.command("validate")
@click.argument("version", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_app
@report_errors
def validate_cmd(app: AppContext, version: int, as_json: bool) -> None:
    """Validate VERSION: every problem at once; exit code 1 if there are errors."""
    with app.transaction() as conn:
        problems = grids.validate(conn, version, _rules(app))
    lang = app.settings.lang
    if as_json:
        _dump([p.as_dict(lang) for p in problems])
    else:
        for p in problems:
            severity = messages.render(f"core.severity.{p.severity}", None, lang)
            click.echo(f"[{severity}] {p.render(lang)}")
        errors = sum(p.severity == "error" for p in problems)
        click.echo(messages.render("grids.validate_summary",
                                   {"errors": errors, "warnings": len(problems) - errors}, lang))
    if any(p.severity == "error" for p in problems):
        sys.exit(1)


@grids_group.command("impact")
@click.argument("version", type=int)
@click.option("--against", type=int, help="Compare with this version (default: the base).")
@click.option("--json", "as_json", is_flag=True)
@pass_app
@report_errors
def impact_cmd(app: AppContext, version: int, against: int | None, as_json: bool) -> None:
    """Impact of activating VERSION: changed grids before/after, units moving."""
    with app.transaction() as conn:
        imp = grids.impact(conn, version, against)
    if as_json:
        _dump(imp)
        return
    keys = ("households", "residents", "buildings", "facilities", "open_incidents")
    for g in imp["grids"]:
        b, a = g["before"] or {}, g["after"] or {}
        parts = [f"{k} {b.get(k, '-')}→{a.get(k, '-')}" for k in keys]
        click.echo(f"{g['grid_code']}: " + ", ".join(parts))
    for m in imp["moves"]:
        click.echo(f"  {m['unit_type']} {m['unit_id']} {m['name'] or ''}:"
                   f" {m['from_code'] or '-'} → {m['to_code'] or '-'}")
    click.echo(f"{len(imp['grids'])} grid(s) changed, {len(imp['moves'])} unit(s) move")


@grids_group.command("activate")
@click.argument("version", type=int)
@click.option("--effective", help="Effective date/time (ISO; default now, Asia/Shanghai).")
@click.option("--actor", default="cli", show_default=True)
@pass_app
@report_errors
def activate_cmd(app: AppContext, version: int, effective: str | None, actor: str) -> None:
    """Activate draft VERSION from the effective date (retires the previous plan).

    A date still ahead schedules the plan (待生效); ``grids activate-due`` puts it in force
    at its date."""
    when = _date(effective)
    with app.transaction() as conn:
        status = grids.activate(conn, version, effective=when, actor=actor, rules=_rules(app))
        rows = grids.version_grids(conn, version)
    if status == "scheduled":
        click.echo(f"version {version} scheduled from {when.isoformat()}: {len(rows)} grid(s);"
                   " the current plan stays in force until then")
        return
    click.echo(f"activated version {version}: {len(rows)} grid(s): "
               + ", ".join(r["grid_code"] for r in rows))


@grids_group.command("activate-due")
@click.option("--every", type=float, help="Repeat every SECONDS until interrupted.")
@pass_app
@report_errors
def activate_due_cmd(app: AppContext, every: float | None) -> None:
    """Put in force every scheduled plan whose date has come (once, or --every SECONDS).

    The web app also does this lazily, at most once a minute, before a request."""
    if every is not None and every <= 0:
        raise ValidationError("grids.bad_every", params={"value": every})
    while True:
        started = time.monotonic()
        with app.transaction() as conn:
            done = grid_activation.activate_due(conn, rules=_rules(app))
        click.echo(f"{len(done)} scheduled plan(s) put in force"
                   + (": " + ", ".join(map(str, done)) if done else ""))
        if every is None:
            return
        time.sleep(max(0.0, every - (time.monotonic() - started)))


@grids_group.command("unschedule")
@click.argument("version", type=int)
@click.option("--actor", default="cli", show_default=True)
@pass_app
@report_errors
def unschedule_cmd(app: AppContext, version: int, actor: str) -> None:
    """Withdraw scheduled VERSION before its date (it becomes a draft again)."""
    with app.transaction() as conn:
        grid_activation.cancel_schedule(conn, version, actor=actor)
    click.echo(f"version {version} withdrawn: a draft again; the current plan stays in force")


@grids_group.command("diff")
@click.argument("old", type=int)
@click.argument("new", type=int)
@pass_app
@report_errors
def diff_cmd(app: AppContext, old: int, new: int) -> None:
    """Grids added, removed, reshaped and units moved from OLD to NEW."""
    with app.transaction() as conn:
        _dump(grids.diff(conn, old, new))


@grids_group.command("revert")
@click.argument("version", type=int)
@click.option("--effective", help="Effective date/time (ISO; default now).")
@click.option("--actor", default="cli", show_default=True)
@pass_app
@report_errors
def revert_cmd(app: AppContext, version: int, effective: str | None, actor: str) -> None:
    """Re-activate the plan of an earlier VERSION as a new generation."""
    with app.transaction() as conn:
        vid = grids.revert(conn, version, effective=_date(effective), actor=actor,
                           rules=_rules(app))
    click.echo(f"version {vid} (copy of {version}) is active")


@grids_group.command("autopartition")
@click.argument("community", required=False)
@click.option("--all", "all_", is_flag=True, help="Every community without an active plan.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--activate", "effective", help="Also activate from this date (ISO).")
@click.option("--second-target", type=click.Choice(["cases", "patrol"]),
              help="Also even out workload: cases per month (last 12 months) or patrol length;"
                   " the household range stays hard.")
@click.option("--actor", default="cli", show_default=True)
@pass_app
@report_errors
def autopartition_cmd(app: AppContext, community: str | None, all_: bool, seed: int,
                      effective: str | None, second_target: str | None, actor: str) -> None:
    """Generate a draft plan for COMMUNITY (or --all) from its units."""
    if not community and not all_:
        raise ValidationError("grids.community_or_all")
    with app.transaction() as conn:
        if all_:
            cids = grids.communities_without_plan(conn)
        else:
            cids = [grids.community_id_for(conn, community or "")]
        for cid in cids:
            vid = grids.auto_partition(conn, cid, seed=seed, params=_params(app), actor=actor,
                                       second_target=second_target)
            rows = grids.version_grids(conn, vid)
            if effective:
                grids.activate(conn, vid, effective=_date(effective), actor=actor,
                               rules=_rules(app))
            hh = sorted(r["households"] for r in rows)
            click.echo(f"community {cid}: version {vid}, {len(rows)} grid(s), households"
                       f" min {hh[0]} median {hh[len(hh) // 2]} max {hh[-1]}"
                       + (" (active)" if effective else " (draft)"))


@grids_group.command("rebalance")
@click.argument("version", type=int)
@click.option("--second-target", type=click.Choice(["cases", "patrol"]),
              help="Also even out workload (cases per month or patrol length).")
@click.option("--actor", default="cli", show_default=True)
@pass_app
@report_errors
def rebalance_cmd(app: AppContext, version: int, second_target: str | None, actor: str) -> None:
    """Move as few units as possible so every grid of draft VERSION is in range."""
    with app.transaction() as conn:
        res = grids.rebalance(conn, version, actor=actor, params=_params(app),
                              second_target=second_target)
    click.echo(f"{len(res['moves'])} unit move(s); lock_version {res['lock_version']}")
