"""Database access: engine and URL, the project-local cluster, migrations, bulk COPY.

The package's public API is re-exported here; library code imports the submodule it needs."""

from gridmap.db.engine import (
    MIGRATIONS_DIR,
    alembic_config,
    check_connection,
    database_url,
    downgrade,
    engine_from_settings,
    free_port,
    local_cluster,
    make_engine,
    migrate,
    raw_psycopg,
)

__all__ = [
    "MIGRATIONS_DIR",
    "local_cluster",
    "free_port",
    "database_url",
    "make_engine",
    "engine_from_settings",
    "check_connection",
    "alembic_config",
    "migrate",
    "downgrade",
    "raw_psycopg",
]
