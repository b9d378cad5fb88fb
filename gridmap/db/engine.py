"""Database access: engine creation, the embedded default, migrations, COPY access.

Library functions receive an SQLAlchemy :class:`~sqlalchemy.engine.Connection`
as their first argument. Functions that write open a SAVEPOINT
(``conn.begin_nested()``) so that a failure leaves the database exactly as it
was, whatever transaction the caller holds; the caller commits.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from gridmap.config import PROJECT_ROOT, Settings
from gridmap.db.cluster import LocalCluster
from gridmap.errors import DatabaseUnavailable

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


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
    import socket

    for port in range(start, start + 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise DatabaseUnavailable(f"no free port found in {start}..{start + 199}")


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
        raise DatabaseUnavailable(f"database not reachable: {exc.orig}") from exc
    except sa.exc.ProgrammingError as exc:
        raise DatabaseUnavailable(
            "the database has no PostGIS extension; run CREATE EXTENSION postgis"
        ) from exc


def alembic_config(url: str) -> Any:
    """Alembic configuration pointing at ``migrations/`` and ``url``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the schema at ``url`` to ``revision``."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Downgrade the schema at ``url`` to ``revision``."""
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def raw_psycopg(conn: Connection) -> Any:
    """The underlying psycopg 3 connection, for ``COPY``. Shares the transaction."""
    dbapi = conn.connection.dbapi_connection
    if dbapi is None:
        raise DatabaseUnavailable("connection is closed")
    return dbapi


@contextmanager
def throwaway_database(prefix: str = "gridmap-", dbname: str = "bench", *,
                       durable: bool = False) -> Iterator[tuple[LocalCluster, str]]:
    """A disposable cluster with one migrated database holding the catalogues.

    Used by the benchmarks: started in a temporary directory on a free port, stopped and
    deleted on exit. Yields the cluster (to clone more databases from) and the URL. Unless
    ``durable``, fsync, synchronous commit and full-page writes are off (as in the tests).
    """
    from gridmap.reference import catalogue

    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(tmp, 0o755)  # the postgres user must reach it when running as root
    cluster = LocalCluster(tmp / "pg", port=free_port(55432), fast=not durable)
    try:
        cluster.start()
        url = cluster.ensure_database(dbname)
        migrate(url)
        engine = make_engine(url, poolclass=sa.pool.NullPool)
        with engine.begin() as conn:
            catalogue.load_reference(conn)
        engine.dispose()
        yield cluster, url
    finally:
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)
