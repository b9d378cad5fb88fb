"""``gridmap import osm FILE``: OpenStreetMap extract in, report out."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from gridmap.cli.app import AppContext, pass_app, report_errors
from gridmap.cli.ingest import import_


class TerminalProgress:
    """Progress on stderr: stage, rows and rate (rows per second since the stage began)."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.stage = ""
        self.stage_start = time.monotonic()

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        if stage != self.stage:
            self.stage, self.stage_start = stage, now
        elapsed = max(now - self.stage_start, 1e-6)
        of = f"/{total}" if total is not None else ""
        rate = f" {done / elapsed:,.0f} rows/s" if done and elapsed > 0.01 else ""
        click.echo(f"  {stage:<11} {done:>8,}{of} rows{rate}", err=True)
        sys.stderr.flush()


@import_.command("osm")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option("--quiet", is_flag=True, help="No progress lines.")
@click.option("--update", is_flag=True,
              help="Update stored objects (same OSM id) whose tags or geometry changed.")
@pass_app
@report_errors
def import_osm_cmd(app: AppContext, file: Path, dry_run: bool, quiet: bool,
                   update: bool) -> None:
    """Import streets, buildings, estates, street blocks and facilities from an OSM FILE
    (.osm.pbf or .osm)."""
    from gridmap.imports import osm

    params = osm.OsmImportParams.from_settings(app.settings, actor="cli",
                                               update_existing=update)
    with app.transaction() as conn:
        report = osm.import_osm(conn, file, params=params, dry_run=dry_run,
                                progress=TerminalProgress(quiet))
    for line in report.lines():
        click.echo(line)
