"""``gridmap batch …``: heavy work as dask.distributed task graphs (thin callers of
:mod:`gridmap.batch`). A LocalCluster by default (``--workers N``), or a running scheduler
(``--scheduler tcp://host:8786`` / ``GRIDMAP_BATCH_SCHEDULER``); see docs/batch.md."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from gridmap.cli.app import AppContext, main, pass_app, report_errors, say


def _cluster_options(func: Any) -> Any:
    for opt in reversed([
        click.option("--workers", type=click.IntRange(1, 256), default=None,
                     help="LocalCluster worker processes (default GRIDMAP_BATCH_WORKERS or 2)."),
        click.option("--scheduler", default=None, help="Address of a running dask scheduler "
                     "(tcp://host:8786; default GRIDMAP_BATCH_SCHEDULER, else a LocalCluster)."),
        click.option("--json", "as_json", is_flag=True, help="Print the job as JSON."),
        click.option("--nice", type=click.IntRange(0, 19), default=10, show_default=True,
                     help="CPU niceness of the work on the workers (keeps a web server on the "
                     "same machine responsive)."),
    ]):
        func = opt(func)
    return func


def _params(app: AppContext, workers: int | None, scheduler: str | None,
            nice: int = 10) -> Any:
    from gridmap.batch.runner import ClusterParams

    return ClusterParams(scheduler=scheduler or app.settings.batch_scheduler,
                         workers=workers or app.settings.batch_workers, nice=nice)


def _report(job: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(job, ensure_ascii=False, indent=2, default=str))
        return
    c = job["counts"]
    say("batch.job_report", {"job": job["id"], "kind": job["kind"], "state": job["state"],
                             "done": c["done"], "total": sum(c.values()), "rows": job["rows"]})
    if job["state"] != "done":
        say("batch.resume_hint", {"job": job["id"]})


@main.group("batch")
def batch_group() -> None:
    """Batch work on Dask: locate, geocode, coverage, partition, ehsa; resume, status."""


@batch_group.command("locate")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--lon", "lon_col", default="lon", show_default=True)
@click.option("--lat", "lat_col", default="lat", show_default=True)
@click.option("--time", "time_col", default="reported_at", show_default=True)
@click.option("--chunk-rows", type=int, default=50_000, show_default=True)
@_cluster_options
@pass_app
@report_errors
def locate(app: AppContext, file: Path, lon_col: str, lat_col: str, time_col: str,
           chunk_rows: int, workers: int | None, scheduler: str | None, as_json: bool,
           nice: int) -> None:
    """Incident points of FILE → street, community, estate, building, grid (job table
    batch_locate_result; export with `gridmap batch export JOB OUT.csv`)."""
    from gridmap.batch import plan

    _report(plan.start_file_job(app.engine, "locate", file,
                                _params(app, workers, scheduler, nice),
                                columns=(lon_col, lat_col, time_col), chunk_rows=chunk_rows,
                                actor="cli"), as_json)


@batch_group.command("geocode")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--column", default="address", show_default=True)
@click.option("--chunk-rows", type=int, default=50_000, show_default=True)
@_cluster_options
@pass_app
@report_errors
def geocode(app: AppContext, file: Path, column: str, chunk_rows: int, workers: int | None,
            scheduler: str | None, as_json: bool, nice: int) -> None:
    """Addresses of FILE geocoded against the register (batch_geocode_result)."""
    from gridmap.batch import plan

    _report(plan.start_file_job(app.engine, "geocode", file,
                                _params(app, workers, scheduler, nice),
                                columns=(column,), chunk_rows=chunk_rows, actor="cli"), as_json)


@batch_group.command("coverage")
@click.option("--speed", type=float, default=None, help="Walking speed in m/min.")
@_cluster_options
@pass_app
@report_errors
def coverage(app: AppContext, speed: float | None, workers: int | None, scheduler: str | None,
             as_json: bool, nice: int) -> None:
    """building_coverage recomputed per street (network buffer: exact at street edges)."""
    from gridmap.batch import plan

    spd = speed if speed is not None else app.settings.walking_speed_m_per_min
    _report(plan.start_db_job(app.engine, "coverage", _params(app, workers, scheduler, nice),
                              options={"speed": spd}, actor="cli"), as_json)


@batch_group.command("partition")
@click.option("--seed", type=int, default=0, show_default=True)
@_cluster_options
@pass_app
@report_errors
def partition(app: AppContext, seed: int, workers: int | None, scheduler: str | None,
              as_json: bool, nice: int) -> None:
    """Auto-partition draft plans of every community, one partition per street."""
    from gridmap.batch import plan

    _report(plan.start_db_job(app.engine, "partition", _params(app, workers, scheduler, nice),
                              options={"seed": seed}, actor="cli"), as_json)


@batch_group.command("ehsa")
@click.option("--step", type=click.Choice(["week", "month"]), default="week", show_default=True)
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None)
@_cluster_options
@pass_app
@report_errors
def ehsa(app: AppContext, step: str, start: dt.datetime | None, end: dt.datetime | None,
         workers: int | None, scheduler: str | None, as_json: bool, nice: int) -> None:
    """Emerging hot spots per street (batch_ehsa_result)."""
    from gridmap.batch import plan

    opts = {"step": step, "start": start.date().isoformat() if start else None,
            "end": end.date().isoformat() if end else None}
    _report(plan.start_db_job(app.engine, "ehsa", _params(app, workers, scheduler, nice),
                              options=opts, actor="cli"), as_json)


@batch_group.command("resume")
@click.argument("job_id", type=int)
@_cluster_options
@pass_app
@report_errors
def resume(app: AppContext, job_id: int, workers: int | None, scheduler: str | None,
           as_json: bool, nice: int) -> None:
    """Run the partitions of JOB that are not done (after a lost worker or client)."""
    from gridmap.batch import plan

    _report(plan.resume(app.engine, job_id, _params(app, workers, scheduler, nice)), as_json)


@batch_group.command("status")
@click.argument("job_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_app
@report_errors
def status(app: AppContext, job_id: int, as_json: bool) -> None:
    """The job and its partitions (state, worker, attempts, rows, error)."""
    from gridmap.batch import jobs

    with app.transaction() as conn:
        info = jobs.job(conn, job_id)
        parts = jobs.partitions(conn, job_id)
    if as_json:
        click.echo(json.dumps({**info, "partitions": parts}, ensure_ascii=False, indent=2,
                              default=str))
        return
    _report(info, False)
    for p in parts:
        click.echo(f"  {p['part_key']:24s} {p['state']:8s} {p['worker'] or '-':28s} "
                   f"x{p['attempts']} {p['rows_written'] if p['rows_written'] is not None else '-'}"
                   f" {p['error_code'] or ''}")


@batch_group.command("export")
@click.argument("job_id", type=int)
@click.argument("out", type=click.Path(path_type=Path))
@pass_app
@report_errors
def export(app: AppContext, job_id: int, out: Path) -> None:
    """The results of a locate job as CSV (UTF-8 with BOM, opens in Excel)."""
    from gridmap.batch import jobs

    with app.transaction() as conn:
        frame = jobs.locate_results(conn, job_id)
    frame.to_csv(out, index=False, encoding="utf-8-sig")
    say("batch.exported", {"rows": len(frame), "path": str(out)})
