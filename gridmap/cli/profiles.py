"""``gridmap profile CODE`` (community or street profile and 体检报告) and
``gridmap access fca`` (2SFCA supply per 1,000): thin callers of gridmap.profiles and
gridmap.access.fca_report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from gridmap.cli.app import AppContext, current_lang, main, pass_app, report_errors


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@main.command("profile")
@click.argument("code")
@click.option("--xlsx", type=click.Path(dir_okay=False), default=None,
              help="Write the profile and check-up as an XLSX workbook.")
@click.option("--html", "html_out", type=click.Path(dir_okay=False), default=None,
              help="Write a printable HTML report (体检报告).")
@click.option("--sites", type=int, default=2, show_default=True,
              help="Candidate sites per facility type with a gap.")
@click.option("--json", "as_json", is_flag=True, help="Print the profile as JSON.")
@pass_app
@report_errors
def profile_cmd(app: AppContext, code: str, xlsx: str | None, html_out: str | None,
                sites: int, as_json: bool) -> None:
    """Profile (人/地/产/事/星级) and life-circle check-up of a community or street CODE."""
    from gridmap.profiles import ProfileParams, checkup, profile, profile_xlsx
    from gridmap.profiles.checkup import CheckupParams
    from gridmap.profiles.html import render_document
    from gridmap.profiles.labels import label

    lang = current_lang()
    with app.transaction() as conn:
        prof = profile(conn, code, params=ProfileParams.from_settings(app.settings))
        check = checkup(conn, code, params=CheckupParams.from_settings(
            app.settings, sites=sites)) if prof["services"].get("computed") else None
    if xlsx:
        Path(xlsx).write_bytes(profile_xlsx(prof, check, lang=lang))
    if html_out:
        Path(html_out).write_text(render_document(prof, check, lang), encoding="utf-8")
    if as_json:
        _echo_json({"profile": prof, "checkup": check})
        return
    p, t = prof["people"], prof["cases"]["totals"]
    score = prof["services"].get("score")
    click.echo(f"{prof['area']['name']} ({prof['area']['code']}): "
               f"{label('residents', lang)} {p['residents']}, {label('households', lang)} "
               f"{p['households']}, {label('grid_workers', lang)} {p['grid_workers']}, "
               f"{label('score', lang)} {'—' if score is None else f'{score:.1%}'}")
    click.echo(f"  {label('cases_total', lang)} {t['cases']}, {label('open', lang)} {t['open']}"
               f", {label('overdue', lang)} {t['overdue']}")
    for ty in (check or {}).get("types", []):
        if ty["status"] != "ok":
            share = "—" if ty["share"] is None else f"{ty['share']:.1%}"
            click.echo(f"  {ty['name_en'] if lang == 'en' else ty['name_zh']}: {share}, "
                       f"{label('affected', lang)} {ty['residents_affected']}")


@main.group("access")
def access_group() -> None:
    """Capacity-aware accessibility (2SFCA)."""


@access_group.command("fca")
@click.option("--type", "type_code", default=None,
              help="kindergarten | nursery | nursing_home | elderly_day_care (default: all).")
@click.option("--decay", type=click.Choice(["step", "gaussian"]), default=None,
              help="Distance decay (default: GRIDMAP_FCA_DECAY or step).")
@click.option("--catchment-m", type=float, default=None,
              help="Catchment radius (default: the type's walking radius).")
@click.option("--level", type=click.Choice(["building", "estate", "community"]),
              default="community", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
@report_errors
def fca_cmd(app: AppContext, type_code: str | None, decay: str | None,
            catchment_m: float | None, level: str, as_json: bool) -> None:
    """Supply per 1,000 residents of the target group (places, beds) per unit."""
    from gridmap.access.fca import FcaParams
    from gridmap.access.fca_report import fca_summary

    over: dict[str, Any] = {"catchment_m": catchment_m}
    if decay:
        over["decay"] = decay
    params = FcaParams.from_settings(app.settings, **over)
    with app.transaction() as conn:
        out = fca_summary(conn, level, type_code, params=params)
    if as_json:
        _echo_json(out)
        return
    for t in out:
        click.echo(f"{t['type']} ({t['group']}, {t['decay']}, {t['catchment_m']:.0f} m): "
                   f"{t['facilities']} facilities with capacity {t['capacity']:.0f} "
                   f"({t['facilities_without_capacity']} without), population "
                   f"{t['population']:.0f} ({t['estimated_share']:.0%} estimated), "
                   f"{t['per_1000']:.1f} per 1,000")
        for r in t["rows"][:15]:
            name = r.get("name") or r.get("code") or r["unit_id"]
            click.echo(f"  {name}: {r['per_1000']:.1f} per 1,000 of {r['population']:.0f}")
