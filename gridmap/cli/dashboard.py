"""``gridmap dashboard kpis``: the district dashboard's KPIs (一屏观天下) on the command line.

The same library function as ``/api/dashboard/summary``
(:func:`gridmap.dashboard.first_paint`): ``--json`` prints that payload whole.
"""

from __future__ import annotations

import json
from typing import Any

import click

from gridmap import dashboard
from gridmap.accounts import scope as scopes
from gridmap.accounts import users
from gridmap.cli.app import AppContext, main, pass_app, report_errors, say
from gridmap.config import params_from_settings


@main.group("dashboard")
def dashboard_group() -> None:
    """一屏观天下: the district dashboard's KPIs."""


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}%"


@dashboard_group.command("kpis")
@click.option("--area", help="Street, community or grid code (default: the whole area).")
@click.option("--user", "username", help="Act for this account: its area only.")
@click.option("--json", "as_json", is_flag=True, help="Print the dashboard payload as JSON.")
@pass_app
@report_errors
def kpis_cmd(app: AppContext, area: str | None, username: str | None, as_json: bool) -> None:
    """KPIs of an area: open, overdue, 结案率, 按期结案率, 小事不出网格, satisfaction."""
    params = params_from_settings(dashboard.DashboardParams, app.settings,
                                  dashboard_cache_seconds=0)
    with app.engine.connect() as conn:
        scope = scopes.ALL
        if username is not None:
            user = users.by_username(conn, username)
            dashboard.check_view(conn, user)
            scope = scopes.scope_for(conn, user)
        out = dashboard.first_paint(conn, scope, area, params)
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    k: dict[str, Any] = out["kpis"]
    a = out["area"]
    when = {"days": out["period_days"], "as_of": out["as_of"][:16]}
    if a["level"] == "district":
        say("dashboard.cli.district", when)
    else:
        say("dashboard.cli.area", {"name": a["name"] or a["code"], **when})
    say("dashboard.cli.open", {"open": k["open"], "overdue": k["overdue"],
                               "urgent": k["open_urgent"], "reported": k["reported"]})
    say("dashboard.cli.close", {"close_rate": _pct(k["close_rate"]),
                                "on_time_rate": _pct(k["on_time_rate"]), "due": k["due"],
                                "closed": k["closed"]})
    say("dashboard.cli.grid", {"rate": _pct(k["grid_rate"]), "closed": k["closed_any"],
                               "grid": k["closed_grid"]})
    say("dashboard.cli.satisfaction", {"rate": _pct(k["satisfaction_rate"]), "rated": k["rated"],
                                       "mean": "–" if k["mean_satisfaction"] is None
                                       else k["mean_satisfaction"]})
