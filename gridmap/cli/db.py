"""``gridmap db …``: the embedded cluster, migrations and reference catalogues."""

from __future__ import annotations

import click

from gridmap.cli.app import AppContext, main, pass_app, report_errors, say
from gridmap.db.cluster import LocalCluster
from gridmap.db.engine import database_url, local_cluster
from gridmap.db.engine import downgrade as do_downgrade
from gridmap.db.engine import migrate as do_migrate
from gridmap.reference import catalogue


def _say_state(cluster: LocalCluster) -> None:
    say(f"cli.db.cluster_{cluster.state()}", {"port": cluster.port, "pgdata": cluster.pgdata})


@main.group()
def db() -> None:
    """Database: start/stop the embedded cluster, migrate, load catalogues."""


@db.command()
@pass_app
@report_errors
def start(app: AppContext) -> None:
    """Start the project-local PostGIS cluster (not used when DATABASE_URL is set)."""
    if app.settings.database_url:
        say("cli.db.external_not_started")
        return
    database_url(app.settings)
    _say_state(local_cluster(app.settings))


@db.command()
@pass_app
@report_errors
def stop(app: AppContext) -> None:
    """Stop the project-local cluster."""
    cluster = local_cluster(app.settings)
    cluster.stop()
    _say_state(cluster)


@db.command()
@pass_app
@report_errors
def status(app: AppContext) -> None:
    """Show which database is used and whether the local cluster runs."""
    if app.settings.database_url:
        say("cli.db.external")
    else:
        _say_state(local_cluster(app.settings))


@db.command()
@click.option("--revision", default="head", show_default=True)
@pass_app
@report_errors
def migrate(app: AppContext, revision: str) -> None:
    """Upgrade the schema (Alembic) and load the reference catalogues."""
    do_migrate(database_url(app.settings), revision)
    if revision == "head":
        with app.transaction() as conn:
            counts = catalogue.load_reference(conn)
        say("cli.db.migrated_head",
            {"counts": [f"{k} {v}" for k, v in counts.items()]})
    else:
        say("cli.db.schema_at", {"revision": revision})


@db.command()
@click.argument("revision", default="base")
@pass_app
@report_errors
def downgrade(app: AppContext, revision: str) -> None:
    """Downgrade the schema to REVISION (default: base, i.e. drop everything)."""
    do_downgrade(database_url(app.settings), revision)
    say("cli.db.schema_at", {"revision": revision})
