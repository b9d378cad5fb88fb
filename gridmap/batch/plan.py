"""Jobs as the CLI starts them: partitions planned from the database or an input file, the
payloads of file partitions rebuilt from the file (checked by its SHA-256 on resume), then
:func:`gridmap.batch.runner.run_job`.

Batch entry points take an :class:`~sqlalchemy.engine.Engine`, not a connection: each
partition commits on its own (that is what makes a job resumable).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gridmap.batch import jobs
from gridmap.batch.coverage import street_partitions
from gridmap.batch.runner import ClusterParams, run_job
from gridmap.errors import Problem, ValidationError

FILE_KINDS = ("locate", "geocode")
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "locate": ("lon", "lat", "reported_at"), "geocode": ("address",)}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_input(kind: str, path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """The input file's needed columns, validated (every problem reported at once).

    Raises
    ------
    ValidationError
        Missing file or columns, unreadable coordinates or times.
    """
    from gridmap.imports.tables import read_table

    if not path.is_file():
        raise ValidationError("batch.file_not_found", params={"path": str(path)})
    frame = read_table(path).frame
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationError("batch.missing_columns", [
            Problem("batch.missing_column", {"column": c}, field=c) for c in missing],
            {"columns": ", ".join(missing)})
    out = pd.DataFrame({"row_no": np.arange(1, len(frame) + 1)})
    problems: list[Problem] = []
    if kind == "locate":
        for name, col in zip(("lon", "lat"), columns[:2], strict=True):
            out[name] = pd.to_numeric(frame[col], errors="coerce")
        out["at"] = pd.to_datetime(frame[columns[2]], errors="coerce", utc=True)
        bad = out[["lon", "lat", "at"]].isna().any(axis=1).to_numpy()
        problems += [Problem("batch.bad_point_row", row=int(r))
                     for r in out["row_no"][bad]]
    else:
        out["address"] = frame[columns[0]].astype(str)
    if problems:
        raise ValidationError("batch.bad_rows", problems, {"n": len(problems)})
    return out


def _chunk_payload(frame: pd.DataFrame, first: int, last: int) -> dict[str, Any]:
    part = frame.iloc[first:last]
    out: dict[str, Any] = {"row_no": part["row_no"].to_numpy()}
    for c in part.columns:
        if c == "at":
            out["at"] = [t.isoformat() for t in part["at"]]
        elif c != "row_no":
            out[c] = part[c].to_numpy()
    return out


def start_file_job(engine: Engine, kind: str, path: Path, cluster: ClusterParams, *,
                   columns: tuple[str, ...] | None = None, chunk_rows: int = 50_000,
                   actor: str | None = None) -> dict[str, Any]:
    """``gridmap batch locate|geocode FILE``: chunks of ``chunk_rows`` rows as partitions."""
    if chunk_rows < 1:
        raise ValidationError("batch.bad_chunk_rows", params={"n": chunk_rows})
    cols = columns or DEFAULT_COLUMNS[kind]
    frame = read_input(kind, path, cols)
    bounds = list(range(0, len(frame), chunk_rows))
    parts = [jobs.Partition(f"rows:{a + 1:09d}", i, {"first": a,
                                                     "last": min(a + chunk_rows, len(frame))})
             for i, a in enumerate(bounds)]
    params = {"path": str(path.resolve()), "sha256": _sha256(path), "columns": list(cols),
              "chunk_rows": chunk_rows, "rows": len(frame)}
    with engine.begin() as conn:
        job_id = jobs.create_job(conn, kind, params, parts, actor=actor)
    return run_job(engine, job_id, _file_payloads(frame, parts_params(engine, job_id)),
                   cluster)


def parts_params(engine: Engine, job_id: int) -> dict[str, Mapping[str, Any]]:
    """Open partitions of a job: key → params."""
    with engine.connect() as conn:
        return {p["part_key"]: p["params"] for p in jobs.partitions(conn, job_id,
                                                                   open_only=True)}


def _file_payloads(frame: pd.DataFrame, parts: Mapping[str, Mapping[str, Any]]
                   ) -> dict[str, dict[str, Any]]:
    return {k: _chunk_payload(frame, int(p["first"]), int(p["last"])) for k, p in parts.items()}


def start_db_job(engine: Engine, kind: str, cluster: ClusterParams, *,
                 options: Mapping[str, Any] | None = None, actor: str | None = None
                 ) -> dict[str, Any]:
    """``gridmap batch coverage|partition|ehsa``: one partition per street."""
    opts = dict(options or {})
    with engine.begin() as conn:
        if kind == "coverage":
            parts = [jobs.Partition(k, i, {"building_ids": ids, "speed": opts.get("speed", 60.0)})
                     for i, (k, ids) in enumerate(street_partitions(conn))]
        elif kind == "partition":
            parts = [jobs.Partition(k, i, {"community_ids": ids, "seed": opts.get("seed", 0)})
                     for i, (k, ids) in enumerate(_street_communities(conn, opts))]
        else:
            parts = [jobs.Partition(f"street:{s}", i, {"street_id": s, **_dates(opts)})
                     for i, s in enumerate(conn.execute(sa.text(
                         "SELECT id FROM street ORDER BY id")).scalars())]
        job_id = jobs.create_job(conn, kind, opts, parts, actor=actor)
    return run_job(engine, job_id, {}, cluster)


def _dates(opts: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v)
            for k, v in opts.items() if k in ("step", "start", "end", "today")}


def _street_communities(conn: Any, opts: Mapping[str, Any]) -> list[tuple[str, list[int]]]:
    rows = conn.execute(sa.text(
        "SELECT COALESCE('street:' || street_id, 'street:none'), array_agg(id ORDER BY id) "
        "FROM community WHERE CAST(:ids AS int[]) IS NULL OR id = ANY(:ids) GROUP BY 1 "
        "ORDER BY 1"), {"ids": opts.get("community_ids")}).all()
    return [(str(r[0]), [int(i) for i in r[1]]) for r in rows]


def resume(engine: Engine, job_id: int, cluster: ClusterParams) -> dict[str, Any]:
    """``gridmap batch resume JOB``: run the partitions that are not ``done``.

    Raises
    ------
    ValidationError
        The input file of a file job is gone or changed since the job started.
    """
    with engine.connect() as conn:
        info = jobs.job(conn, job_id)
    payloads: dict[str, dict[str, Any]] = {}
    if info["kind"] in FILE_KINDS:
        p = info["params"]
        path = Path(p["path"])
        if not path.is_file() or _sha256(path) != p["sha256"]:
            raise ValidationError("batch.file_changed", params={"path": str(path), "job": job_id})
        frame = read_input(info["kind"], path, tuple(p["columns"]))
        payloads = _file_payloads(frame, parts_params(engine, job_id))
    return run_job(engine, job_id, payloads, cluster)
