"""One committed sample-district database and one 2-worker LocalCluster per module."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import Any

import dask
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gridmap.db import make_engine
from gridmap.db.cluster import LocalCluster
from gridmap.demo import sample

_n = itertools.count(1)


@pytest.fixture(scope="module")
def sample_engine(pg_cluster: LocalCluster) -> Iterator[Engine]:
    """The sample district (grids, network, coverage; no incidents), committed."""
    url = pg_cluster.ensure_database(f"gridmap_batch{os.getpid()}_{next(_n)}",
                                     template="gridmap_template")
    engine = make_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        sample.load_sample(conn, params=sample.SampleParams(incidents=0))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    """Two worker processes, one thread each; a task whose worker dies is not retried
    (allowed-failures 0), so the resume path is what finishes the job."""
    from distributed import Client
    from distributed import LocalCluster as DaskCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            DaskCluster(n_workers=2, threads_per_worker=1, processes=True,
                        dashboard_address=None) as cluster, Client(cluster) as client:
        yield client
