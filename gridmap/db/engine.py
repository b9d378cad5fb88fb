"""Database access: engine creation, the embedded default, migrations, COPY access.

Library functions receive an SQLAlchemy :class:`~sqlalchemy.engine.Connection`
as their first argument. Functions that write open a SAVEPOINT
(``conn.begin_nested()``) so that a failure leaves the database exactly as it
was, whatever transaction the caller holds; the caller commits.

The Alembic migrations are package data (``gridmap/db/migrations/``), found through
:mod:`importlib.resources`, so ``gridmap db migrate`` works from any directory and from
an installed package.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine

from gridmap.config import Settings, package_path
from gridmap.db.cluster import LocalCluster
from gridmap.errors import DatabaseUnavailable

MIGRATIONS = "gridmap.db:migrations"
"""Alembic ``script_location`` of the migrations, as a package resource."""
MIGRATIONS_DIR = package_path("db", "migrations")


def local_cluster(settings: Settings) -> LocalCluster:
    """The embedded cluster described by ``settings``.

    With ``local_db_port`` 0 the port is read from ``<data_dir>/port``; a new cluster takes
    the first free port from 54329 on and records it there.
    """
    data_dir = Path(settings.data_dir)
    if settings.local_db_port:
        return LocalCluster(data_dir, port=settings.local_db_port)
    port_file = data_dir / "port"
    if port_file.exists():
        return LocalCluster(data_dir, port=int(port_file.read_text().strip()))
    port = free_port(54329)
    data_dir.mkdir(parents=True, exist_ok=True)
    port_file.write_text(f"{port}\n")
    return LocalCluster(data_dir, port=port)


def free_port(start: int) -> int:
    """First TCP port from ``start`` on that nothing listens on at 127.0.0.1."""
    for port in range(start, start + 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise DatabaseUnavailable("db.no_free_port", {"first": start, "last": start + 199})


def database_url(settings: Settings, start: bool = True) -> str:
    """Return the URL to use: ``DATABASE_URL`` if set, else the embedded cluster's.

    With no ``DATABASE_URL`` the local cluster is initialised and started when
    ``start`` is true (never when a URL is configured).
    """
    if settings.database_url:
        url = settings.database_url
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    cluster = local_cluster(settings)
    if start:
        cluster.start()
        return cluster.ensure_database(settings.local_db_name)
    return cluster.url(settings.local_db_name)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` (psycopg 3 driver)."""
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


def engine_from_settings(settings: Settings) -> Engine:
    """Engine for the configured database, starting the embedded cluster if needed."""
    return make_engine(database_url(settings))


def check_connection(engine: Engine) -> None:
    """Raise :class:`DatabaseUnavailable` with a clear message if the DB is unreachable."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT postgis_version()"))
    except sa.exc.OperationalError as exc:
        raise DatabaseUnavailable("db.unreachable", {"error": str(exc.orig)}) from exc
    except sa.exc.ProgrammingError as exc:
        raise DatabaseUnavailable("db.no_postgis") from exc


def alembic_config(url: str) -> Config:
    """Alembic configuration pointing at the packaged migrations and ``url``."""
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the schema at ``url`` to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Downgrade the schema at ``url`` to ``revision``."""
    command.downgrade(alembic_config(url), revision)


def raw_psycopg(conn: Connection) -> Any:
    """The underlying psycopg 3 connection, for ``COPY``. Shares the transaction."""
    dbapi = conn.connection.dbapi_connection
    if dbapi is None:
        raise DatabaseUnavailable("db.connection_closed")
    return dbapi
