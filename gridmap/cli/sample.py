"""``gridmap sample load`` / ``gridmap sample info``: the demo district (docs/sample-district.md)."""

from __future__ import annotations

import json

import click

from gridmap.cli.app import AppContext, main, pass_app, report_errors
from gridmap.cli.osm import TerminalProgress


@main.group("sample")
def sample_group() -> None:
    """The sample district: real OSM data (Chelsea extract) plus seeded synthetic administration."""


@sample_group.command("load")
@click.option("--seed", type=int, default=None, help="Seed of the synthetic parts.")
@click.option("--no-network", is_flag=True, help="Skip the walking network and coverage.")
@click.option("--no-coverage", is_flag=True, help="Build the network but skip coverage.")
@click.option("--incidents", type=int, default=None, help="Number of synthetic incidents.")
@click.option("--quiet", is_flag=True, help="No progress lines.")
@pass_app
@report_errors
def load_cmd(app: AppContext, seed: int | None, no_network: bool, no_coverage: bool,
             incidents: int | None, quiet: bool) -> None:
    """Load the sample district (idempotent: a second run loads nothing)."""
    from dataclasses import replace

    from gridmap.demo import sample
    from gridmap.imports import osm

    params = sample.SampleParams(with_network=not no_network, with_coverage=not no_coverage)
    if incidents is not None:
        params = replace(params, incidents=incidents)
    osm_params = osm.OsmImportParams.from_settings(app.settings, actor="sample")
    with app.transaction() as conn:
        report = sample.load_sample(
            conn, seed=sample.DEFAULT_SEED if seed is None else seed, params=params,
            osm_params=osm_params, progress=TerminalProgress(quiet))
    for line in report.lines():
        click.echo(line)


@sample_group.command("info")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
@report_errors
def info_cmd(app: AppContext, as_json: bool) -> None:
    """Show what the loaded sample holds."""
    from gridmap.demo import sample

    with app.engine.connect() as conn:
        info = sample.sample_info(conn)
    if info is None:
        click.echo("the sample district is not loaded (run: gridmap sample load)")
        return
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False))
        return
    for key, value in info.items():
        click.echo(f"{key}: {value}")
