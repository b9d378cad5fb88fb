"""``gridmap dispatch …``: routing rules (import, export, list, activate, rerun) and case steps
through the dispatch engine (act, raise, raise-overdue).

Thin callers of :mod:`gridmap.dispatch` (rules, ruleio, levels) and, for case steps, of
:mod:`gridmap.accounts.scope` (the same area/unit/post rules as the API: unrestricted unless
``--user`` names an account).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from sqlalchemy.engine import Connection

from gridmap.accounts import scope as scopes
from gridmap.accounts import users
from gridmap.cli.app import AppContext, main, pass_app, report_errors, say
from gridmap.dispatch import levels, ruleio, rules
from gridmap.dispatch.params import DispatchParams
from gridmap.dispatch.units import unit_ids_by_code
from gridmap.errors import NotFound
from gridmap.incidents.intake import IntakeParams
from gridmap.supervision import notify

USER_HELP = "Act for this account: its area, units and posts (default: unrestricted)."


def _scope(conn: Connection, username: str | None) -> scopes.Scope:
    return scopes.ALL if username is None else scopes.scope_for(
        conn, users.by_username(conn, username))


@main.group("dispatch")
def dispatch_group() -> None:
    """Dispatch: routing rules and case steps (立案, 派遣, 接单, 回退, 分级响应)."""


@dispatch_group.group("rules")
def rules_group() -> None:
    """Routing rules: versioned sets, one active."""


@rules_group.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--activate", is_flag=True, help="Make the new set the active one.")
@click.option("--dry-run", is_flag=True, help="Validate only; store nothing.")
@click.option("--note")
@click.option("--actor", default="cli", show_default=True)
@pass_app
@report_errors
def import_cmd(app: AppContext, file: Path, activate: bool, dry_run: bool, note: str | None,
               actor: str) -> None:
    """Import rules from a CSV/XLSX FILE as a new rule set (all-or-nothing)."""
    with app.transaction() as conn:
        report = ruleio.import_rules(conn, file, actor=actor, note=note, activate=activate,
                                     dry_run=dry_run)
    say("dispatch.cli.dry_run" if dry_run else "dispatch.cli.imported", report)


@rules_group.command("export")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--set", "set_id", type=int, help="Rule set id (default: the active one).")
@pass_app
@report_errors
def export_cmd(app: AppContext, file: Path, set_id: int | None) -> None:
    """Write a rule set to FILE (.csv or .xlsx)."""
    with app.transaction() as conn:
        n = ruleio.export_rules(conn, file, set_id)
    say("dispatch.cli.exported", {"n": n, "path": str(file)})


@rules_group.command("list")
@click.option("--set", "set_id", type=int, help="Show this set's rules (default: active).")
@pass_app
@report_errors
def list_cmd(app: AppContext, set_id: int | None) -> None:
    """The rule sets (history) and the rules of the active (or given) set."""
    with app.transaction() as conn:
        sets = rules.list_sets(conn)
        shown = set_id if set_id is not None else rules.active_set_id(conn)
        rows = rules.get_rules(conn, shown) if shown is not None else []
    for s in sets:
        say("dispatch.cli.set_line", {**s, "mark": "*" if s["active"] else " ",
                                      "created_at": f"{s['created_at']:%Y-%m-%d %H:%M}",
                                      "note": s["note"] or ""})
    for r in rows:
        say("dispatch.cli.rule_line", {k: ("|".join(v) if isinstance(v, list) else
                                            ("-" if v is None else v)) for k, v in r.items()})


@rules_group.command("activate")
@click.argument("set_id", type=int)
@pass_app
@report_errors
def activate_cmd(app: AppContext, set_id: int) -> None:
    """Make rule set SET_ID the active one."""
    with app.transaction() as conn:
        rules.activate_set(conn, set_id)
    say("dispatch.cli.activated", {"id": set_id})


@rules_group.command("rerun")
@click.option("--set", "set_id", type=int, help="Match this set (default: the active one).")
@click.option("--dry-run", is_flag=True, help="Report the changes; keep nothing.")
@pass_app
@report_errors
def rerun_cmd(app: AppContext, set_id: int | None, dry_run: bool) -> None:
    """Re-propose units for every open case; list the changed proposals."""
    with app.transaction() as conn:
        changed = rules.rerun(conn, set_id=set_id, dry_run=dry_run)
    for c in changed:
        say("dispatch.cli.rerun_line", {"id": c["id"], "unit": c["unit_id"],
                                        "reason": c["reason"]})
    say("dispatch.cli.rerun", {"n": len(changed), "dry_run": dry_run})


@dispatch_group.command("act")
@click.argument("incident_id", type=int)
@click.argument("to_state")
@click.option("--unit", "unit_code", help="派遣 to this unit (code) instead of the proposal.")
@click.option("--note", help="Note; the reason of an override or a 回退.")
@click.option("--version", type=int, help="Expected lock version (optimistic locking).")
@click.option("--actor", default="cli", show_default=True)
@click.option("--user", "username", help=USER_HELP)
@pass_app
@report_errors
def act_cmd(app: AppContext, incident_id: int, to_state: str, unit_code: str | None,
            note: str | None, version: int | None, actor: str, username: str | None) -> None:
    """Move case INCIDENT_ID to TO_STATE through the dispatch engine (filed, dispatched,
    handling = 接单, returned, handled, closed …)."""
    with app.transaction() as conn:
        unit_id = None
        if unit_code is not None:
            unit_id = unit_ids_by_code(conn, [unit_code]).get(unit_code)
            if unit_id is None:
                raise NotFound("dispatch.unknown_unit", {"value": unit_code})
        v = scopes.dispatch_act(
            conn, _scope(conn, username), incident_id, to_state, actor=actor, note=note,
            unit_id=unit_id, expected_version=version,
            params=DispatchParams.from_settings(app.settings),
            intake=IntakeParams.from_settings(app.settings), notify=notify.send)
    say("dispatch.cli.acted", {"id": incident_id, "state": v["state"], "level": v["level"],
                               "unit": v["unit_code"] or "-",
                               "proposed": v["proposed_unit_code"] or "-"})


@dispatch_group.command("raise")
@click.argument("incident_id", type=int)
@click.option("--note")
@click.option("--actor", default="cli", show_default=True)
@click.option("--user", "username", help=USER_HELP)
@pass_app
@report_errors
def raise_cmd(app: AppContext, incident_id: int, note: str | None, actor: str,
              username: str | None) -> None:
    """社区呼叫: raise case INCIDENT_ID one handling level."""
    with app.transaction() as conn:
        r = scopes.raise_level(conn, _scope(conn, username), incident_id, actor=actor,
                               note=note, params=DispatchParams.from_settings(app.settings),
                               notify=notify.send)
    say("dispatch.cli.raised", {"id": incident_id, "frm": r["from_level"], "to": r["to_level"],
                                "unit": r["unit_id"]})


@dispatch_group.command("raise-overdue")
@pass_app
@report_errors
def raise_overdue_cmd(app: AppContext) -> None:
    """Raise every case whose 接单 or handling time ran out (the 督办 scan calls the same)."""
    with app.transaction() as conn:
        out = levels.raise_overdue(conn, dt.datetime.now(dt.UTC),
                                   params=DispatchParams.from_settings(app.settings))
    for r in out:
        say("dispatch.cli.raised", {"id": r["incident_id"], "frm": r["from_level"],
                                    "to": r["to_level"], "unit": r["unit_id"]})
    say("dispatch.cli.raised_overdue", {"n": len(out)})
