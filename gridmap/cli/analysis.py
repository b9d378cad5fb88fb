"""``gridmap analysis ehsa`` (emerging hot spots), ``gridmap analysis pai`` (PAI and hit
rate of last period's hot spots) and the workload-balanced grid plans (``partition``,
``rebalance``, ``balance``: households and a second target). Thin callers of
:mod:`gridmap.analysis` and :mod:`gridmap.grids`; printed in ``GRIDMAP_LANG`` (default zh),
``--json`` for machines."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from gridmap import grids, messages
from gridmap.analysis import accuracy, report
from gridmap.analysis.ehsa import CLASSES
from gridmap.cli.app import AppContext, current_lang, main, pass_app, report_errors, say
from gridmap.errors import ValidationError
from gridmap.grids import workload
from gridmap.grids.partition import PartitionParams


def _day(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError("analysis.not_a_date", params={"name": name, "value": value}
                              ) from exc


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f}%"


@main.group("analysis")
def analysis_group() -> None:
    """Space-time analysis of cases: emerging hot spots, PAI and hit rate."""


@analysis_group.command("ehsa")
@click.option("--step", type=click.Choice(["week", "month"]), default="week", show_default=True)
@click.option("--from", "start", help="A day in the first step (default: 104 weeks / 24 months back).")
@click.option("--to", "end", help="A day in the last step (default: the last whole step).")
@click.option("--street", "streets", multiple=True, help="Street division code (repeatable).")
@click.option("--category", "categories", multiple=True,
              help="Only cases of this category code (a 大类 code takes its sub-classes).")
@click.option("--time-lag", type=int, help="Previous steps in the space-time neighbourhood.")
@click.option("--alpha", type=float, help="Significance (FDR-corrected Gi* and trend).")
@click.option("--xlsx", type=click.Path(path_type=Path), help="Write one row per grid here.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary and rows as JSON.")
@pass_app
@report_errors
def ehsa_cmd(app: AppContext, step: str, start: str | None, end: str | None,
             streets: tuple[str, ...], categories: tuple[str, ...], time_lag: int | None,
             alpha: float | None, xlsx: Path | None, as_json: bool) -> None:
    """Emerging hot spots of the active grids (Gi*, FDR, Mann-Kendall, ESRI classes)."""
    lang = current_lang()
    params = report.params_from(app.settings, time_lag=time_lag, alpha=alpha)
    with app.engine.connect() as conn:
        street_ids = report.street_ids_for(conn, list(streets)) if streets else None
        run = report.run(conn, step, _day(start, "--from"), _day(end, "--to"),
                         street_ids=street_ids, params=params,
                         filters={"categories": list(categories)} if categories else None)
    summ = report.summary(run)
    if as_json:
        click.echo(json.dumps({"summary": summ, "grids": report.rows(run)},
                              ensure_ascii=False, indent=1))
    else:
        say("analysis.cli_summary", {**summ, "step_label": messages.render(
            f"analysis.step_{step}", None, lang)})
        for code in CLASSES:
            if summ["classes"][code]:
                say("analysis.cli_class_line", {"label": messages.render(
                    f"analysis.class.{code}", None, lang), "n": summ["classes"][code]})
    if xlsx is not None:
        labels = {c: messages.render(f"analysis.class.{c}", None, lang) for c in CLASSES}
        headers = messages.render("analysis.xlsx_headers", None, lang).split("|")
        report.write_xlsx(run, xlsx, labels, headers)
        say("analysis.cli_written", {"path": str(xlsx)}, err=as_json)


@analysis_group.command("pai")
@click.option("--method", "methods", type=click.Choice(["gi", "ehsa"]), multiple=True,
              help="Hotspot map(s) to score (default: both).")
@click.option("--step", type=click.Choice(["week", "month"]), default="week", show_default=True)
@click.option("--to", "end", help="A day in the scored period (default: the last whole one).")
@click.option("--street", "streets", multiple=True, help="Street division code (repeatable).")
@click.option("--json", "as_json", is_flag=True)
@pass_app
@report_errors
def pai_cmd(app: AppContext, methods: tuple[str, ...], step: str, end: str | None,
            streets: tuple[str, ...], as_json: bool) -> None:
    """PAI and hit rate of last period's hot spots for this period's cases."""
    lang = current_lang()
    out: list[dict[str, Any]] = []
    with app.engine.connect() as conn:
        street_ids = report.street_ids_for(conn, list(streets)) if streets else None
        for m in methods or accuracy.METHODS:
            out.append(accuracy.hotspot_accuracy(
                conn, m, step, _day(end, "--to"), street_ids=street_ids,
                params=report.params_from(app.settings)))
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    for r in out:
        say("analysis.cli_pai", {
            **r, "method_label": messages.render(f"analysis.method_{r['method']}", None, lang),
            "area_share": _pct(r["area_share"]), "hit_rate": _pct(r["hit_rate"]),
            "pai": "—" if r["pai"] is None else f"{r['pai']:.2f}"})


# --------------------------------------------------------------------------- workload


def _partition_params(app: AppContext) -> PartitionParams:
    s = app.settings
    return PartitionParams(households_min=s.grid_households_min,
                           households_max=s.grid_households_max)


def _say_balance(bal: dict[str, Any], lang: str) -> None:
    h, w = bal["households"], bal["workload"]
    say("analysis.cli_balance_households", {**h, "grids": bal["grids"],
                                            "lo": h["range"][0], "hi": h["range"][1]})
    say("analysis.cli_balance_workload", {**w, "target_label": messages.render(
        f"analysis.target_{w['target']}", None, lang)})


TARGET = click.option("--target", type=click.Choice(["cases", "patrol"]), required=True,
                      help="Second target: cases per month (last 12 months) or patrol length.")


@analysis_group.command("partition")
@click.argument("community")
@TARGET
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--actor", default="cli", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
@report_errors
def partition_cmd(app: AppContext, community: str, target: str, seed: int, actor: str,
                  as_json: bool) -> None:
    """Draft plan for COMMUNITY (code) balanced on households and a second target."""
    with app.transaction() as conn:
        cid = grids.community_id_for(conn, community)
        vid = grids.auto_partition(conn, cid, seed=seed, params=_partition_params(app),
                                   actor=actor, second_target=target)
        bal = workload.plan_balance(conn, vid, target, _partition_params(app))
    _report_balance(vid, bal, as_json)


@analysis_group.command("rebalance")
@click.argument("version", type=int)
@TARGET
@click.option("--actor", default="cli", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
@report_errors
def rebalance_cmd(app: AppContext, version: int, target: str, actor: str,
                  as_json: bool) -> None:
    """Rebalance draft VERSION on households (hard range) and a second target."""
    with app.transaction() as conn:
        res = grids.rebalance(conn, version, actor=actor, params=_partition_params(app),
                              second_target=target)
        bal = workload.plan_balance(conn, version, target, _partition_params(app))
    if not as_json:
        say("analysis.cli_moves", {"n": len(res["moves"])})
    _report_balance(version, bal, as_json)


@analysis_group.command("balance")
@click.argument("version", type=int)
@TARGET
@click.option("--json", "as_json", is_flag=True)
@pass_app
@report_errors
def balance_cmd(app: AppContext, version: int, target: str, as_json: bool) -> None:
    """Both balances of plan VERSION: households and the second target, per grid."""
    with app.engine.connect() as conn:
        bal = workload.plan_balance(conn, version, target, _partition_params(app))
    _report_balance(version, bal, as_json)


def _report_balance(version: int, bal: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"version": version, **bal}, ensure_ascii=False, indent=1))
        return
    lang = current_lang()
    say("analysis.cli_version", {"version": version})
    _say_balance(bal, lang)
    for g in bal["per_grid"]:
        say("analysis.cli_grid_line", g)
