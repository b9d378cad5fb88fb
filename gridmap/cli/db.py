"""``gridmap db …``: the embedded cluster, migrations and reference catalogues."""

from __future__ import annotations

import click

from gridmap.cli import AppContext, main, pass_app, report_errors


@main.group()
def db() -> None:
    """Database: start/stop the embedded cluster, migrate, load catalogues."""


@db.command()
@pass_app
@report_errors
def start(app: AppContext) -> None:
    """Start the project-local PostGIS cluster (not used when DATABASE_URL is set)."""
    from gridmap.db import database_url, local_cluster

    if app.settings.database_url:
        click.echo("DATABASE_URL is set: using that server, no local cluster started")
        return
    database_url(app.settings)
    click.echo(f"local database {local_cluster(app.settings).status()}")


@db.command()
@pass_app
@report_errors
def stop(app: AppContext) -> None:
    """Stop the project-local cluster."""
    from gridmap.db import local_cluster

    cluster = local_cluster(app.settings)
    cluster.stop()
    click.echo(f"local database {cluster.status()}")


@db.command()
@pass_app
@report_errors
def status(app: AppContext) -> None:
    """Show which database is used and whether the local cluster runs."""
    from gridmap.db import local_cluster

    if app.settings.database_url:
        click.echo("using DATABASE_URL (external server)")
    else:
        click.echo(f"local database {local_cluster(app.settings).status()}")


@db.command()
@click.option("--revision", default="head", show_default=True)
@pass_app
@report_errors
def migrate(app: AppContext, revision: str) -> None:
    """Upgrade the schema (Alembic) and load the reference catalogues."""
    from gridmap.db import database_url
    from gridmap.db import migrate as do_migrate
    from gridmap.reference import catalogue

    do_migrate(database_url(app.settings), revision)
    if revision == "head":
        with app.transaction() as conn:
            counts = catalogue.load_reference(conn)
        click.echo("schema at head; catalogues: "
                   + ", ".join(f"{k} {v}" for k, v in counts.items()))
    else:
        click.echo(f"schema at {revision}")


@db.command()
@click.argument("revision", default="base")
@pass_app
@report_errors
def downgrade(app: AppContext, revision: str) -> None:
    """Downgrade the schema to REVISION (default: base, i.e. drop everything)."""
    from gridmap.db import database_url
    from gridmap.db import downgrade as do_downgrade

    do_downgrade(database_url(app.settings), revision)
    click.echo(f"schema at {revision}")
