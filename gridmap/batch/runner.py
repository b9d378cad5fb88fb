"""Run a job's open partitions as a dask.distributed task graph.

One task per partition; a task opens its own connection (the database URL travels with
the graph, or the worker's own ``DATABASE_URL`` when none is given), marks the partition
``running`` with its worker address, then writes the partition and its ``done`` mark in one
transaction (:mod:`gridmap.batch.work`). The client only submits, gathers and records the
job's state: with ``LocalCluster`` by default (``workers`` processes, one thread each), or any
scheduler address (``tcp://host:8786``) of a multi-node cluster.

A worker that dies takes its partition's uncommitted transaction with it. Dask retries the
task on another worker up to ``allowed_failures`` times; beyond that the job ends ``failed``
and :func:`run_job` on the same job (``gridmap batch resume JOB``) runs exactly the partitions
that are not ``done``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gridmap.batch import jobs
from gridmap.batch.work import WORK
from gridmap.errors import GridmapError

_ENGINES: dict[str, Engine] = {}


@dataclass(frozen=True)
class ClusterParams:
    """Where the tasks run.

    Attributes
    ----------
    scheduler:
        Address of a running ``dask scheduler`` (``tcp://host:8786``); None = a LocalCluster.
    workers:
        Worker processes of the LocalCluster (one thread each).
    allowed_failures:
        Times a task may lose its worker before the job stops (dask
        ``distributed.scheduler.allowed-failures``; LocalCluster only, a real scheduler
        has its own configuration).
    """

    scheduler: str | None = None
    workers: int = 2
    allowed_failures: int = 3
    client: Any = None
    """An existing ``distributed.Client`` to use instead (tests, benchmarks)."""
    nice: int = 10
    """CPU niceness of the task threads (0-19; only ever raised): on a machine that also
    serves the web app, requests keep their latency while a job runs."""


@contextmanager
def client(params: ClusterParams) -> Iterator[Any]:
    """A ``dask.distributed.Client`` on the given scheduler or a new LocalCluster."""
    import dask
    from distributed import Client, LocalCluster

    if params.client is not None:
        yield params.client
        return
    if params.scheduler:
        with Client(params.scheduler) as c:
            yield c
        return
    with dask.config.set({"distributed.scheduler.allowed-failures": params.allowed_failures}), \
            LocalCluster(n_workers=params.workers, threads_per_worker=1, processes=True,
                         dashboard_address=None) as cluster, Client(cluster) as c:
        yield c


def _engine(url: str | None) -> Engine:
    """This worker process's engine for ``url`` (the worker's own settings when None)."""
    from gridmap.config import Settings
    from gridmap.db.engine import database_url, make_engine

    key = url or ""
    if key not in _ENGINES:
        target = url or database_url(Settings.load(), start=False)
        # a killed client is noticed by the server within 2 s (its open transaction ends)
        _ENGINES[key] = make_engine(target, pool_size=2, connect_args={
            "options": "-c client_connection_check_interval=2000"})
    return _ENGINES[key]


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except ValueError:
        return f"pid:{os.getpid()}"


def _lower_priority(nice: int) -> None:
    """Raise this thread's niceness to ``nice`` (Linux: per thread; never lowered)."""
    try:
        now = os.getpriority(os.PRIO_PROCESS, 0)
        if nice > now:
            os.setpriority(os.PRIO_PROCESS, 0, min(nice, 19))
    except OSError:
        pass


def run_partition(url: str | None, job_id: int, kind: str, key: str,
                  params: Mapping[str, Any], payload: Mapping[str, Any],
                  nice: int = 0) -> dict[str, Any]:
    """The task: one partition, written exactly once. Returns its key, state and rows."""
    _lower_priority(nice)
    engine = _engine(url)
    with engine.begin() as conn:
        jobs.mark_running(conn, job_id, key, _worker_name())
    try:
        with engine.begin() as conn:
            if not jobs.lock_open(conn, job_id, key):
                return {"key": key, "state": "done", "rows": 0, "skipped": True}
            rows = WORK[kind](conn, job_id, key, params, payload)
            jobs.finish(conn, job_id, key, rows)
    except GridmapError as exc:
        with engine.begin() as conn:
            jobs.fail(conn, job_id, key, exc.code, exc.params)
        return {"key": key, "state": "failed", "rows": 0, "error": exc.code}
    except Exception as exc:  # noqa: BLE001 (recorded on the partition, then reported)
        with engine.begin() as conn:
            jobs.fail(conn, job_id, key, "batch.partition_crashed",
                      {"error": f"{type(exc).__name__}: {exc}"[:500]})
        return {"key": key, "state": "failed", "rows": 0, "error": "batch.partition_crashed"}
    return {"key": key, "state": "done", "rows": rows, "skipped": False}


def run_job(engine: Engine, job_id: int, payloads: Mapping[str, Mapping[str, Any]],
            params: ClusterParams, *, url: str | None = None) -> dict[str, Any]:
    """Run the open partitions of ``job_id`` on the cluster and record the job's state.

    Parameters
    ----------
    engine:
        The client's engine (job table).
    payloads:
        Per partition key, the data that travels with its task (file rows); ``{}`` for
        partitions that read everything from the database.
    url:
        The database URL the workers use (None: their own ``DATABASE_URL``).

    Returns
    -------
    dict
        The job (:func:`gridmap.batch.jobs.job`) after the run.
    """
    from distributed import wait

    with engine.begin() as conn:
        info = jobs.job(conn, job_id)
        todo = jobs.partitions(conn, job_id, open_only=True)
        jobs.set_job_state(conn, job_id, "running", scheduler=params.scheduler or "local")
    url = url if url is not None else engine.url.render_as_string(hide_password=False)
    lost = False
    with client(params) as c:
        futures = [c.submit(run_partition, url, job_id, info["kind"], p["part_key"],
                            p["params"], payloads.get(p["part_key"], {}), params.nice,
                            key=f"batch-{job_id}-{p['part_key']}-{p['attempts']}", pure=False)
                   for p in todo]
        wait(futures)
        lost = any(f.status != "finished" for f in futures)
    with engine.begin() as conn:
        if lost:
            conn.execute(sa.text(
                "UPDATE batch_partition SET state = 'failed', error_code = 'batch.worker_lost' "
                "WHERE job_id = :j AND state = 'running'"), {"j": job_id})
        open_left = len(jobs.partitions(conn, job_id, open_only=True))
        jobs.set_job_state(conn, job_id, "done" if open_left == 0 else "failed",
                           error_code=None if open_left == 0 else
                           ("batch.worker_lost" if lost else "batch.partitions_failed"))
        return jobs.job(conn, job_id)
