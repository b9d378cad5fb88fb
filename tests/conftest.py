"""Test fixtures: a real, throwaway PostGIS cluster for the whole session.

The cluster is started with the same :class:`gridmap.db.cluster.LocalCluster` the
embedded default uses, in a temporary directory on a free port. A template
database is migrated to head and loaded with the reference catalogues once;

- ``conn``: a connection to the shared test database inside a transaction that is
  rolled back after the test (library writes run in savepoints inside it);
- ``fresh_db_url``: a brand-new database cloned from the template, for tests that
  need committed data (CLI subprocesses, the web server, failure-in-the-middle).

If PostgreSQL/PostGIS is missing the session errors with the install line; it
never skips.
"""

from __future__ import annotations

import itertools
import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Shared browser/live-server fixtures: let pytest rewrite their asserts too.
pytest.register_assert_rewrite("tests.fixtures.web")

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import Connection, Engine  # noqa: E402

from gridmap import config  # noqa: E402
from gridmap.db import free_port, make_engine, migrate  # noqa: E402
from gridmap.db.cluster import LocalCluster  # noqa: E402
from gridmap.errors import DatabaseUnavailable  # noqa: E402
from gridmap.reference import catalogue  # noqa: E402

TEMPLATE_DB = "gridmap_template"
TEST_DB = "gridmap_test"
_db_counter = itertools.count(1)


def _started_cluster(attempts: int = 5) -> tuple[Path, LocalCluster]:
    """A started throwaway cluster. Parallel runs on one machine can pick the same free port
    between the check and the server's bind; such a start is retried on another port."""
    for attempt in range(attempts):
        tmp = Path(tempfile.mkdtemp(prefix="gridmap-test-"))
        os.chmod(tmp, 0o755)
        start = 55432 + random.randrange(0, 2000)
        cluster = LocalCluster(tmp, port=free_port(start), fast=True)
        try:
            cluster.start()
            return tmp, cluster
        except DatabaseUnavailable:
            shutil.rmtree(tmp, ignore_errors=True)
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[LocalCluster]:
    """A running throwaway cluster with a migrated template database."""
    tmp, cluster = _started_cluster()
    try:
        url = cluster.ensure_database(TEMPLATE_DB)
        migrate(url)
        engine = make_engine(url, poolclass=sa.pool.NullPool)
        with engine.begin() as conn:
            catalogue.load_reference(conn)
        engine.dispose()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def db_url(pg_cluster: LocalCluster) -> str:
    """URL of the shared test database (migrated, catalogues loaded)."""
    return pg_cluster.ensure_database(TEST_DB, template=TEMPLATE_DB)


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    """Connection in a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        trans = connection.begin()
        try:
            yield connection
        finally:
            if trans.is_active:
                trans.rollback()


@pytest.fixture
def fresh_db_url(pg_cluster: LocalCluster) -> str:
    """A new database cloned from the migrated template; committed writes are allowed."""
    name = f"gridmap_t{os.getpid()}_{next(_db_counter)}"
    return pg_cluster.ensure_database(name, template=TEMPLATE_DB)


@pytest.fixture
def empty_db_url(pg_cluster: LocalCluster) -> str:
    """A new database with PostGIS but no gridmap schema."""
    name = f"gridmap_e{os.getpid()}_{next(_db_counter)}"
    return pg_cluster.ensure_database(name)


@pytest.fixture
def cli_env(fresh_db_url: str) -> dict[str, str]:
    """Environment for running the ``gridmap`` CLI against ``fresh_db_url``."""
    env = dict(os.environ)
    env["DATABASE_URL"] = fresh_db_url
    env["GRIDMAP_LANG"] = "en"  # tests read the English texts; tests/cli checks the default zh
    return env


REPO = Path(__file__).resolve().parent.parent
SHARED_GEO = REPO.parent / "shared" / "geo"
DATA_GEO = config.DATA_GEO  # gridmap/data/, shipped in the package
