"""The batch job table: one ``batch_job`` row per run, one ``batch_partition`` row per
partition (state, worker, attempts, started/finished, rows written, error code).

A partition's results and its ``done`` mark are committed together (:func:`finish` runs in
the worker's write transaction after :func:`lock_open`), so ``done`` always means "its rows
are there" and anything else means "none of its rows are there".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import NotFound, ValidationError

KINDS: tuple[str, ...] = ("locate", "geocode", "coverage", "partition", "ehsa")
STATES: tuple[str, ...] = ("pending", "running", "done", "failed")


@dataclass(frozen=True)
class Partition:
    """One partition of a job: its key, order and parameters (what the task receives)."""

    key: str
    seq: int
    params: Mapping[str, Any]


def create_job(conn: Connection, kind: str, params: Mapping[str, Any],
               partitions: Sequence[Partition], *, actor: str | None = None) -> int:
    """Record a new job and its partitions (all ``pending``); returns the job id.

    Raises
    ------
    ValidationError
        Unknown kind.
    """
    if kind not in KINDS:
        raise ValidationError("batch.unknown_kind", params={"kind": kind, "kinds": ", ".join(KINDS)})
    with conn.begin_nested():
        job_id = int(conn.execute(sa.text(
            "INSERT INTO batch_job (kind, params, created_by) VALUES (:k, CAST(:p AS jsonb), :a)"
            " RETURNING id"), {"k": kind, "p": json.dumps(dict(params)), "a": actor}).scalar_one())
        if partitions:
            conn.execute(sa.text(
                "INSERT INTO batch_partition (job_id, part_key, seq, params) "
                "SELECT :j, k, s, CAST(p AS jsonb) FROM unnest(CAST(:keys AS text[]), "
                "CAST(:seqs AS int[]), CAST(:ps AS text[])) AS t(k, s, p)"
            ), {"j": job_id, "keys": [p.key for p in partitions],
                "seqs": [p.seq for p in partitions],
                "ps": [json.dumps(dict(p.params)) for p in partitions]})
    return job_id


def job(conn: Connection, job_id: int) -> dict[str, Any]:
    """The job row with partition counts per state.

    Raises
    ------
    NotFound
        No such job.
    """
    row = conn.execute(sa.text(
        "SELECT j.id, j.kind, j.params, j.state, j.scheduler, j.created_at, j.started_at, "
        "j.finished_at, j.error_code, "
        "(SELECT jsonb_object_agg(state, n) FROM (SELECT state, count(*) AS n FROM batch_partition"
        " WHERE job_id = j.id GROUP BY state) s) AS counts, "
        "(SELECT COALESCE(sum(rows_written), 0) FROM batch_partition WHERE job_id = j.id) AS rows "
        "FROM batch_job j WHERE j.id = :j"), {"j": job_id}).mappings().first()
    if row is None:
        raise NotFound("batch.no_such_job", {"job": job_id})
    out = dict(row)
    out["counts"] = {s: int((row["counts"] or {}).get(s, 0)) for s in STATES}
    out["rows"] = int(out["rows"])
    return out


def partitions(conn: Connection, job_id: int, *, open_only: bool = False) -> list[dict[str, Any]]:
    """The job's partitions in order (``open_only``: those not ``done``)."""
    return [dict(r) for r in conn.execute(sa.text(
        "SELECT part_key, seq, params, state, worker, attempts, started_at, finished_at, "
        "rows_written, error_code, error_params FROM batch_partition WHERE job_id = :j "
        "AND (NOT :open OR state <> 'done') ORDER BY seq, part_key"),
        {"j": job_id, "open": open_only}).mappings().all()]


def set_job_state(conn: Connection, job_id: int, state: str, *, scheduler: str | None = None,
                  error_code: str | None = None) -> None:
    """Move the job to ``state`` (``running`` stamps the start, ``done``/``failed`` the end)."""
    conn.execute(sa.text(
        "UPDATE batch_job SET state = :s, scheduler = COALESCE(:sch, scheduler), "
        "error_code = :e, started_at = CASE WHEN :s = 'running' THEN now() ELSE started_at END, "
        "finished_at = CASE WHEN :s IN ('done', 'failed') THEN now() ELSE NULL END "
        "WHERE id = :j"), {"s": state, "sch": scheduler, "e": error_code, "j": job_id})


def mark_running(conn: Connection, job_id: int, key: str, worker: str) -> None:
    """A worker starts a partition (committed on its own, before the work)."""
    conn.execute(sa.text(
        "UPDATE batch_partition SET state = 'running', worker = :w, attempts = attempts + 1, "
        "started_at = now(), finished_at = NULL, error_code = NULL, error_params = NULL "
        "WHERE job_id = :j AND part_key = :k AND state <> 'done'"),
        {"j": job_id, "k": key, "w": worker})


def lock_open(conn: Connection, job_id: int, key: str) -> bool:
    """Lock the partition row for this transaction; False when it is already ``done`` (a
    second execution of the same task after a lost acknowledgement writes nothing)."""
    state = conn.execute(sa.text(
        "SELECT state FROM batch_partition WHERE job_id = :j AND part_key = :k FOR UPDATE"),
        {"j": job_id, "k": key}).scalar()
    return state is not None and state != "done"


def finish(conn: Connection, job_id: int, key: str, rows: int) -> None:
    """Mark the partition done with the rows it wrote (in the write transaction)."""
    conn.execute(sa.text(
        "UPDATE batch_partition SET state = 'done', rows_written = :n, finished_at = now() "
        "WHERE job_id = :j AND part_key = :k"), {"j": job_id, "k": key, "n": rows})


def fail(conn: Connection, job_id: int, key: str, code: str,
         params: Mapping[str, Any] | None = None) -> None:
    """Record a failed partition (its write transaction was rolled back)."""
    conn.execute(sa.text(
        "UPDATE batch_partition SET state = 'failed', error_code = :c, "
        "error_params = CAST(:p AS jsonb), finished_at = now() "
        "WHERE job_id = :j AND part_key = :k AND state <> 'done'"),
        {"j": job_id, "k": key, "c": code, "p": json.dumps(dict(params or {}), default=str)})


def locate_results(conn: Connection, job_id: int) -> Any:
    """The rows of a locate job in input order (a pandas DataFrame)."""
    import pandas as pd

    return pd.read_sql(sa.text(
        "SELECT row_no, lon, lat, reported_at, street_id, community_id, estate_id, building_id,"
        " grid_id, grid_version_id, located_by, grid_distance_m, near_boundary "
        "FROM batch_locate_result WHERE job_id = :j ORDER BY row_no"), conn, params={"j": job_id})
