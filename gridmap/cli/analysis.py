"""``gridmap analysis ehsa`` (emerging hot spots) and ``gridmap analysis pai`` (PAI and hit
rate of last period's hot spots). Thin callers of :mod:`gridmap.analysis`; printed in
``GRIDMAP_LANG`` (default zh), ``--json`` for machines."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from gridmap import messages
from gridmap.analysis import accuracy, report
from gridmap.analysis.ehsa import CLASSES
from gridmap.cli.app import AppContext, current_lang, main, pass_app, report_errors, say
from gridmap.errors import ValidationError


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
@click.option("--time-lag", type=int, help="Previous steps in the space-time neighbourhood.")
@click.option("--alpha", type=float, help="Significance (FDR-corrected Gi* and trend).")
@click.option("--xlsx", type=click.Path(path_type=Path), help="Write one row per grid here.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary and rows as JSON.")
@pass_app
@report_errors
def ehsa_cmd(app: AppContext, step: str, start: str | None, end: str | None,
             streets: tuple[str, ...], time_lag: int | None, alpha: float | None,
             xlsx: Path | None, as_json: bool) -> None:
    """Emerging hot spots of the active grids (Gi*, FDR, Mann-Kendall, ESRI classes)."""
    lang = current_lang()
    params = report.params_from(app.settings, time_lag=time_lag, alpha=alpha)
    with app.engine.connect() as conn:
        street_ids = report.street_ids_for(conn, list(streets)) if streets else None
        run = report.run(conn, step, _day(start, "--from"), _day(end, "--to"),
                         street_ids=street_ids, params=params)
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
