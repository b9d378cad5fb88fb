"""What tabular imports share on the command line: ``--map`` and reading options, the
problem summary (by reason, then the first rows; never a silent cut), ``--report FILE`` and
``--reject-file FILE``; and the commands ``gridmap import inspect FILE``,
``gridmap import category-map FILE`` (``gridmap export category-map FILE`` is in
:mod:`gridmap.cli.ingest`).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from gridmap import messages
from gridmap.cli.app import AppContext, current_lang, pass_app, report_errors, say
from gridmap.cli.ingest import import_
from gridmap.errors import Problem, ValidationError

FIRST_ROWS = 20
"""Problems listed one by one after the summary (the full list: ``--report FILE``)."""


def table_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--map``, ``--sheet``, ``--encoding``, ``--separator`` and ``--report``."""
    options = [
        click.option("--map", "profile", help="Import profile: a YAML/TOML/JSON file or a "
                     "built-in name (open311, hotline-12345). See `gridmap import inspect`."),
        click.option("--sheet", help="Workbook sheet name or 0-based index (default first)."),
        click.option("--encoding", help="Text encoding (default detected: UTF-8 with or "
                     "without BOM, GB18030/GBK …)."),
        click.option("--separator", help="Field separator (default detected: , ; tab |)."),
        click.option("--report", "report_file", type=click.Path(path_type=Path),
                     help="Write every problem (row, field, code, reason, value) to this CSV."),
    ]
    command = func
    for option in reversed(options):
        command = option(command)
    return command


def print_summary(problems: Sequence[Problem], lang: str, *, err: bool = True) -> None:
    """Problems by reason (count, first rows), then the first :data:`FIRST_ROWS` one by one."""
    from gridmap.imports.problems import summarise

    if not problems:
        return
    click.echo(messages.render("tables.cli.summary_head", {"n": len(problems)}, lang), err=err)
    for r in summarise(problems):
        severity = messages.render(f"core.severity.{r.severity}", None, lang)
        rows = ", ".join(str(x) for x in r.rows) + (" …" if r.count > len(r.rows) else "")
        text = r.example.render(lang) if not r.rows else messages.render(
            "tables.cli.reason_rows", {"reason": r.example.render(lang), "rows": rows}, lang)
        click.echo(f"  {r.count:>7} × [{severity}] {r.code}: {text}", err=err)
    shown = sorted(problems, key=lambda p: (p.row is None, p.row or 0))[:FIRST_ROWS]
    click.echo(messages.render("tables.cli.first_rows", {"n": len(shown)}, lang), err=err)
    for p in shown:
        click.echo(f"  - {p.describe(lang)}", err=err)
    if len(problems) > len(shown):
        click.echo(messages.render("tables.cli.more", {"n": len(problems) - len(shown)}, lang),
                   err=err)


def handle_problems(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for import commands taking ``report_file``: on a ValidationError print the
    headline and the summary (not thousands of lines), write ``--report``, exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValidationError as exc:
            lang = current_lang()
            click.echo(f"{messages.render('core.error', None, lang)}: "
                       f"{exc.render(lang, limit=0)}", err=True)
            print_summary(exc.problems, lang)
            write_report(exc.problems, kwargs.get("report_file"), lang)
            sys.exit(1)

    return wrapper


def write_report(problems: Sequence[Problem], report_file: Path | None, lang: str,
                 values: Any = None, columns: Any = None) -> None:
    """Write ``--report`` (also when there is nothing to report: an empty list is news)."""
    from gridmap.imports.problems import write_problem_report

    if report_file is None:
        return
    n = write_problem_report(problems, report_file, lang=lang, values=values, columns=columns)
    click.echo(messages.render("tables.cli.report_written", {"n": n, "path": str(report_file)},
                               lang), err=True)


@import_.command("inspect")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--sheet", help="Workbook sheet name or 0-based index.")
@click.option("--encoding", help="Text encoding (default detected).")
@click.option("--separator", help="Field separator (default detected).")
@click.option("--rows", "n_rows", type=int, default=5, show_default=True,
              help="Sample rows to print.")
@click.option("--kind", type=click.Choice(["incidents"]), default="incidents",
              show_default=True, help="What the draft profile maps the columns to.")
@click.option("--out", type=click.Path(path_type=Path), help="Write the draft profile here.")
@report_errors
def inspect_cmd(file: Path, sheet: str | None, encoding: str | None, separator: str | None,
                n_rows: int, kind: str, out: Path | None) -> None:
    """Print FILE's columns, a sample, the detected encoding/separator/sheet and a draft
    profile (YAML) to edit and pass as --map."""
    from gridmap.imports.draft import inspect_table

    lang = current_lang()
    text = inspect_table(file, sheet=sheet, encoding=encoding, separator=separator,
                         rows=n_rows, lang=lang)
    click.echo(text.summary)
    if out is not None:
        out.write_text(text.profile_yaml, encoding="utf-8")
        say("tables.cli.profile_written", {"path": str(out)})
    else:
        click.echo(text.profile_yaml)


@import_.command("category-map")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and count; write nothing.")
@pass_app
@report_errors
def import_category_map_cmd(app: AppContext, file: Path, dry_run: bool) -> None:
    """Store a category mapping file (external category text or code → catalogue code)."""
    from gridmap.imports.category_map import import_category_map

    with app.transaction() as conn:
        rep = import_category_map(conn, file, dry_run=dry_run)
    say("tables.cli.category_map_dry_run" if dry_run else "tables.cli.category_map_imported",
        rep)
