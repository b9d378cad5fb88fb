"""What the benchmarks share: a throwaway PostGIS cluster with a migrated database.

Not part of the library: the benchmarks import it as ``benchmarks.common`` (the repository
root is on ``sys.path`` when a benchmark runs as ``python benchmarks/bench_x.py``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from gridmap.db.cluster import LocalCluster
from gridmap.db.engine import free_port, make_engine, migrate
from gridmap.reference import catalogue


@contextmanager
def throwaway_database(prefix: str = "gridmap-", dbname: str = "bench", *,
                       durable: bool = False, port_from: int = 55432,
                       keep: bool = False) -> Iterator[tuple[LocalCluster, str]]:
    """A disposable cluster with one migrated database holding the catalogues.

    Started in a temporary directory (``cluster.data_dir.parent``) on the first free port
    from ``port_from`` on, stopped and deleted on exit (kept with ``keep``). Yields the
    cluster (to clone more databases from) and the URL. Unless ``durable``, fsync,
    synchronous commit and full-page writes are off (as in the tests).
    """
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(tmp, 0o755)  # the postgres user must reach it when running as root
    cluster = LocalCluster(tmp / "pg", port=free_port(port_from), fast=not durable)
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
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
