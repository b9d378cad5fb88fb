"""``gridmap ratings …``: committee star ratings (星级测评). Thin callers of :mod:`gridmap.ratings`.

The command line acts as the system operator (both rating levels, every committee) unless
``--user`` names an account, whose rights (:mod:`gridmap.ratings.raters`) then apply.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
import yaml
from sqlalchemy.engine import Connection

from gridmap import ratings
from gridmap.accounts import users
from gridmap.cli.app import AppContext, current_lang, main, pass_app, report_errors, say
from gridmap.errors import ValidationError
from gridmap.ratings import export, results, scheme

ROUND = click.Choice(ratings.ROUNDS)
LEVEL_NAMES = {"street": {"zh": "街道", "en": "street"}, "district": {"zh": "区", "en": "district"}}
USER_HELP = "Act as this account (its rating level and area); default: the system operator."


def _rater(conn: Connection, username: str | None) -> ratings.Rater:
    if username is None:
        return ratings.OPERATOR
    return ratings.rater_for(conn, users.by_username(conn, username))


@main.group("ratings")
def ratings_group() -> None:
    """Committee star ratings (星级测评): scheme, compute, enter, confirm, export, report."""


@ratings_group.group("scheme")
def scheme_group() -> None:
    """The rating scheme of a year (criteria, weights, thresholds)."""


@scheme_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--year", type=int, required=True)
@click.option("--dry-run", is_flag=True, help="Validate only; store nothing.")
@pass_app
@report_errors
def scheme_import(app: AppContext, file: Path, year: int, dry_run: bool) -> None:
    """Validate a scheme (YAML/JSON; every problem at once) and store it for YEAR."""
    sch = scheme.load_text(file.read_text(encoding="utf-8"))
    with app.transaction() as conn:
        scheme.check_categories(conn, sch)
        if not dry_run:
            scheme.store(conn, year, sch, actor="cli", source=file.name)
    say("ratings.cli_scheme_checked" if dry_run else "ratings.cli_scheme_stored",
        {"year": year, "criteria": len(sch.criteria)})


@scheme_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--year", type=int, help="The stored scheme of this year (default: the shipped one).")
@pass_app
@report_errors
def scheme_export(app: AppContext, file: Path, year: int | None) -> None:
    """Write a scheme as YAML (edit it, then import it for a year)."""
    if year is None:
        sch = scheme.default_scheme()
    else:
        with app.engine.connect() as conn:
            sch = scheme.scheme_for(conn, year)[1]
    file.write_text(yaml.safe_dump(sch.as_dict(), allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    say("ratings.cli_wrote", {"path": str(file)})


@scheme_group.command("show")
@click.option("--year", type=int, help="Default: the shipped scheme.")
@pass_app
@report_errors
def scheme_show(app: AppContext, year: int | None) -> None:
    """Print the criteria with kind, source, weight or cap, and tags."""
    if year is None:
        sch = scheme.default_scheme()
    else:
        with app.engine.connect() as conn:
            sch = scheme.scheme_for(conn, year)[1]
    lang = current_lang()
    click.echo(f"{sch.name}  [{sch.source}]")
    for c in sch.criteria:
        extra = f"w={c.weight:g}" if c.kind == "score" else f"cap={c.cap_stars}★"
        click.echo(f"  {c.code:22} {c.name(lang)}  {c.kind}/{c.source}"
                   f"{'/' + c.measure if c.measure else ''}  {extra}  [{c.tag}]")
    click.echo("  stars: " + ", ".join(f"{k}★≥{v:g}" for k, v in sch.min_score.items())
               + f"  [{sch.tags.get('stars')}]")


def _when(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError("ratings.bad_time", params={"value": value}) from exc
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))


@ratings_group.command("compute")
@click.option("--year", type=int, required=True)
@click.option("--round", "round_code", type=ROUND, required=True)
@click.option("--street", "street_code", help="Only the committees of this street.")
@click.option("--as-of", "as_of", help="Measure as of this instant (ISO; default now).")
@click.option("--dry-run", is_flag=True, help="Compute and print; store nothing.")
@pass_app
@report_errors
def compute_cmd(app: AppContext, year: int, round_code: str, street_code: str | None,
                as_of: str | None, dry_run: bool) -> None:
    """Compute the drafts of every committee (confirmed ratings stay frozen)."""
    with app.transaction() as conn:
        res = ratings.compute(conn, year, round_code, street_code=street_code,
                              as_of=_when(as_of), write=not dry_run)
    counts = {k: sum(1 for r in res if r.stars == k) for k in range(1, 6)}
    say("ratings.cli_computed_dry" if dry_run else "ratings.cli_computed", {
        "n": len(res), "counts": " ".join(f"{k}★:{v}" for k, v in counts.items()),
        "incomplete": sum(1 for r in res if not r.complete)})


@ratings_group.command("enter")
@click.option("--year", type=int, required=True)
@click.option("--round", "round_code", type=ROUND, required=True)
@click.option("--committee", "code", required=True, help="Committee (community) code.")
@click.option("--criterion", required=True)
@click.option("--value", type=float, required=True,
              help="Score 0–100, or for a condition 1 (met) / 0 (not met).")
@click.option("--evidence", required=True, help="Evidence note (依据).")
@click.option("--user", "username", help=USER_HELP)
@pass_app
@report_errors
def enter_cmd(app: AppContext, year: int, round_code: str, code: str, criterion: str,
              value: float, evidence: str, username: str | None) -> None:
    """Enter a rater's value for an entered criterion (who, when and evidence are kept)."""
    with app.transaction() as conn:
        res = ratings.enter(conn, _rater(conn, username), year, round_code, code, criterion,
                            value, evidence)
    say("ratings.cli_entered", {"community": code, "criterion": criterion,
                                "stars": res.stars, "score": res.score})


@ratings_group.command("confirm")
@click.argument("codes", nargs=-1, required=True)
@click.option("--year", type=int, required=True)
@click.option("--round", "round_code", type=ROUND, required=True)
@click.option("--stars", type=click.IntRange(1, 5), help="Give these stars instead (needs --note).")
@click.option("--note")
@click.option("--user", "username", help=USER_HELP)
@pass_app
@report_errors
def confirm_cmd(app: AppContext, codes: tuple[str, ...], year: int, round_code: str,
                stars: int | None, note: str | None, username: str | None) -> None:
    """Confirm the drafts of the committees CODES: frozen with the cases behind them."""
    with app.transaction() as conn:
        done = ratings.confirm(conn, _rater(conn, username), year, round_code, list(codes),
                               stars=stars, note=note)
    for d in done:
        say("ratings.cli_confirmed", {**d, "level": LEVEL_NAMES[d["level"]]})


@ratings_group.command("export")
@click.option("--xlsx", "out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--year", type=int, required=True)
@click.option("--round", "round_code", type=ROUND, required=True)
@click.option("--street", "street_code")
@pass_app
@report_errors
def export_cmd(app: AppContext, out: Path, year: int, round_code: str,
               street_code: str | None) -> None:
    """Write the ratings and the distribution against the target as XLSX."""
    with app.engine.connect() as conn:
        n = export.write_xlsx(conn, year, round_code, out, street_code=street_code,
                              lang=current_lang())
    say("ratings.cli_exported", {"n": n, "path": str(out)})


@ratings_group.command("report")
@click.option("--street", "street_code", required=True)
@click.option("--year", type=int, required=True)
@click.option("--round", "round_code", type=ROUND, required=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@pass_app
@report_errors
def report_cmd(app: AppContext, street_code: str, year: int, round_code: str, out: Path) -> None:
    """Write the printable HTML report of one street (A4 landscape)."""
    with app.engine.connect() as conn:
        text = export.street_report(conn, year, round_code, street_code, lang=current_lang())
    out.write_text(text, encoding="utf-8")
    say("ratings.cli_wrote", {"path": str(out)})


@ratings_group.command("show")
@click.option("--year", type=int, required=True)
@click.option("--round", "round_code", type=ROUND, required=True)
@click.option("--street", "street_code")
@click.option("--json", "as_json", is_flag=True)
@pass_app
@report_errors
def show_cmd(app: AppContext, year: int, round_code: str, street_code: str | None,
             as_json: bool) -> None:
    """The ranking: stars, score, status, change and reasons per committee."""
    with app.engine.connect() as conn:
        rows = results.table(conn, year, round_code, street_code=street_code,
                             lang=current_lang())
    if as_json:
        click.echo(json.dumps([{k: r[k] for k in ("rank", "code", "name", "stars", "score",
                                                  "status", "change", "reason_texts")}
                               for r in rows], ensure_ascii=False, default=str))
        return
    for r in rows:
        click.echo(f"{r['rank'] or '-':>4} {r['code']} {r['name']} "
                   f"{'★' * int(r['stars'] or 0):5} {r['score'] if r['score'] is not None else '-'}"
                   f" {r['status'] or '-'}  {'；'.join(r['reason_texts'])}")
