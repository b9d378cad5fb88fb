"""``gridmap city generate``, ``gridmap db partitions ensure|list``, ``gridmap incidents
archive|rollups`` (issue #18; docs/city.md)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from gridmap.cli.app import AppContext, main, pass_app, report_errors, say
from gridmap.cli.db import db
from gridmap.cli.incidents import incidents_group


@main.group("city")
def city_group() -> None:
    """A synthetic city (tests, benchmarks, demos)."""


@city_group.command("generate")
@click.option("--preset", type=click.Choice(["tiny", "district", "shanghai"]), default="tiny",
              show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--years", type=int, default=None, help="Years of incidents (preset's default).")
@click.option("--incidents-per-year", type=int, default=None)
@pass_app
@report_errors
def generate_cmd(app: AppContext, preset: str, seed: int, years: int | None,
                 incidents_per_year: int | None) -> None:
    """Generate the city into the database (one transaction)."""
    from gridmap import city

    with app.transaction() as conn:
        report = city.generate(conn, preset, seed, years=years,
                               incidents_per_year=incidents_per_year,
                               progress=lambda stage, s: say("city.stage_done", {
                                   "stage": stage, "seconds": round(s, 1)}))
    say("city.generated", {"communities": report.communities, "buildings": report.buildings,
                           "grids": report.grids, "edges": report.network_edges,
                           "incidents": report.incidents, "import_id": report.import_id})


@db.group("partitions")
def partitions_group() -> None:
    """Monthly partitions of the incident tables."""


@partitions_group.command("ensure")
@click.option("--months-ahead", type=int, default=3, show_default=True)
@pass_app
@report_errors
def ensure_cmd(app: AppContext, months_ahead: int) -> None:
    """Create this month's partitions and the next ones."""
    from gridmap.db import partitions

    with app.transaction() as conn:
        made = partitions.ensure_ahead(conn, months=months_ahead)
        waiting = partitions.default_rows(conn)
    say("city.partitions_ensured", {"created": made, "default_rows": waiting})


@partitions_group.command("list")
@pass_app
@report_errors
def list_cmd(app: AppContext) -> None:
    """List the partitions with their row estimates."""
    from gridmap.db import partitions

    with app.engine.connect() as conn:
        for table in partitions.PARTITIONED:
            for p in partitions.list_partitions(conn, table):
                click.echo(f"{p.name}\t{p.month or 'default'}\t{p.rows}")


@incidents_group.command("archive")
@click.option("--before", required=True, help="YYYY-MM-DD: months ending by this date.")
@click.option("--to", "directory", type=click.Path(path_type=Path), default=Path("archive"),
              show_default=True)
@click.option("--dry-run", is_flag=True)
@pass_app
@report_errors
def archive_cmd(app: AppContext, before: str, directory: Path, dry_run: bool) -> None:
    """Move whole months of cases into gzip CSV files (rollups keep their counts)."""
    from gridmap.errors import ValidationError
    from gridmap.incidents import archive

    try:
        day = dt.date.fromisoformat(before)
    except ValueError:
        raise ValidationError("city.bad_date", params={"value": before}) from None
    with app.transaction() as conn:
        report = archive.archive(conn, day, directory, dry_run=dry_run)
    click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=1))


@incidents_group.group("rollups")
def rollups_group() -> None:
    """Case count rollups (day × area × category × state, day × H3 cell)."""


@rollups_group.command("rebuild")
@pass_app
@report_errors
def rebuild_cmd(app: AppContext) -> None:
    """Recompute the rollups from the stored cases."""
    from gridmap.incidents import rollups

    with app.transaction() as conn:
        counts = rollups.rebuild(conn)
    say("city.rollups_rebuilt", {"day_rows": counts["incident_rollup_day"],
                                 "h3_rows": counts["incident_rollup_h3"]})
