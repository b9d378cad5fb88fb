"""Batch jobs on a real 2-worker LocalCluster against real PostGIS: a worker killed in
the middle of a partition, the job resumed, and the results equal to the one-process path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gridmap.batch import jobs, plan
from gridmap.batch.runner import ClusterParams
from gridmap.errors import ValidationError
from gridmap.incidents.locate import assign_points

COLUMNS = ["street_id", "community_id", "estate_id", "building_id", "grid_id",
           "grid_version_id", "located_by", "near_boundary"]


def _points_csv(engine: Engine, path: Path, n: int) -> pd.DataFrame:
    with engine.connect() as conn:
        x0, y0, x1, y1 = conn.execute(sa.text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) AS e FROM community) q")).one()
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({
        "lon": np.round(rng.uniform(x0 - 0.002, x1 + 0.002, n), 7),
        "lat": np.round(rng.uniform(y0 - 0.002, y1 + 0.002, n), 7),
        "reported_at": pd.Timestamp("2026-06-01T08:00:00Z")
        + pd.to_timedelta(rng.integers(0, 86400 * 30, n), unit="s")})
    frame.to_csv(path, index=False)
    return frame


def _kill_a_busy_worker(engine: Engine, client: Any, job_kind: str) -> str:
    """Wait for a partition in progress, kill its worker process (SIGKILL); its address."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            busy = conn.execute(sa.text(
                "SELECT p.worker FROM batch_partition p JOIN batch_job j ON j.id = p.job_id "
                "WHERE j.kind = :k AND p.state = 'running' AND p.worker LIKE 'tcp://%' "
                "ORDER BY j.id DESC LIMIT 1"), {"k": job_kind}).scalar()
        if busy:
            pid = client.run(os.getpid, workers=[busy])[busy]
            os.kill(pid, signal.SIGKILL)
            return str(busy)
        time.sleep(0.1)
    raise AssertionError("no partition started within 60 s")


def test_killed_worker_then_resume_gives_every_row_once_and_equals_one_process(
    sample_engine: Engine, dask_client: Any, tmp_path: Path,
) -> None:
    frame = _points_csv(sample_engine, tmp_path / "points.csv", 1200)
    cluster = ClusterParams(client=dask_client)
    result: dict[str, Any] = {}
    blocker = sample_engine.connect()
    blocker.begin()
    # writes of every partition wait here: the test kills a worker while it is mid-partition
    blocker.execute(sa.text("LOCK TABLE batch_locate_result IN SHARE MODE"))
    run = threading.Thread(target=lambda: result.update(plan.start_file_job(
        sample_engine, "locate", tmp_path / "points.csv", cluster, chunk_rows=300)))
    run.start()
    killed = _kill_a_busy_worker(sample_engine, dask_client, "locate")
    time.sleep(0.5)
    blocker.rollback()
    blocker.close()
    run.join(120)
    assert result["state"] == "failed" and result["error_code"] == "batch.worker_lost"
    assert 0 < result["counts"]["done"] < 4
    job_id = int(result["id"])
    with sample_engine.connect() as conn:
        lost = [p for p in jobs.partitions(conn, job_id) if p["state"] != "done"]
        assert any(p["worker"] == killed and p["error_code"] == "batch.worker_lost"
                   for p in lost)
        # the killed partition committed nothing
        assert conn.execute(sa.text(
            "SELECT count(*) FROM batch_locate_result WHERE job_id = :j AND part_key = ANY(:k)"),
            {"j": job_id, "k": [p["part_key"] for p in lost]}).scalar_one() == 0

    done = plan.resume(sample_engine, job_id, cluster)
    assert done["state"] == "done" and done["counts"]["done"] == 4 and done["rows"] == 1200

    with sample_engine.connect() as conn:
        got = pd.read_sql(sa.text(
            "SELECT * FROM batch_locate_result WHERE job_id = :j ORDER BY row_no"), conn,
            params={"j": job_id})
        attempts = {p["part_key"]: p["attempts"] for p in jobs.partitions(conn, job_id)}
        one = assign_points(conn, frame["lon"], frame["lat"],
                            pd.to_datetime(frame["reported_at"], utc=True).to_numpy())
    assert got["row_no"].tolist() == list(range(1, 1201))  # every row, once
    assert max(attempts.values()) == 2 and min(attempts.values()) == 1
    for c in COLUMNS:
        a = got[c].astype(object).where(got[c].notna(), None).tolist()
        b = one[c].astype(object).where(one[c].notna(), None).tolist()
        assert a == b, c
    assert one["grid_id"].notna().sum() > 100  # the points do land in grids


def test_coverage_per_street_equals_the_one_process_refresh(
    sample_engine: Engine, dask_client: Any,
) -> None:
    sql = ("SELECT building_id, type_code, network_m, euclid_m, covered, euclid_covered "
           "FROM building_coverage ORDER BY 1, 2")
    with sample_engine.connect() as conn:
        before = conn.execute(sa.text(sql)).all()
    with sample_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM building_coverage"))
    rep = plan.start_db_job(sample_engine, "coverage", ClusterParams(client=dask_client))
    assert rep["state"] == "done" and rep["counts"]["done"] >= 2
    with sample_engine.connect() as conn:
        after = conn.execute(sa.text(sql)).all()
    assert len(before) > 1000
    assert [r[:2] + r[4:] for r in after] == [r[:2] + r[4:] for r in before]
    for a, b in zip(after, before, strict=True):
        for x, y in ((a[2], b[2]), (a[3], b[3])):
            assert (x is None and y is None) or abs(x - y) < 1e-6


def test_resume_refuses_a_changed_file(sample_engine: Engine, dask_client: Any,
                                       tmp_path: Path) -> None:
    path = tmp_path / "few.csv"
    _points_csv(sample_engine, path, 10)
    rep = plan.start_file_job(sample_engine, "locate", path, ClusterParams(client=dask_client))
    assert rep["state"] == "done" and rep["rows"] == 10
    path.write_text(path.read_text() + "0,0,2026-01-01T00:00:00Z\n")
    with pytest.raises(ValidationError) as err:
        plan.resume(sample_engine, int(rep["id"]), ClusterParams(client=dask_client))
    assert err.value.code == "batch.file_changed"


def _plan_shapes(conn: Any, version_id: int) -> list[str]:
    return sorted(conn.execute(sa.text(
        "SELECT ST_AsText(ST_Normalize(geom)) FROM grid_geometry WHERE version_id = :v"),
        {"v": version_id}).scalars())


def test_auto_partition_per_street_equals_one_process(sample_engine: Engine,
                                                      dask_client: Any) -> None:
    from gridmap.grids.autopartition import auto_partition

    with sample_engine.connect() as conn:
        trans = conn.begin()  # the one-process plans are rolled back
        communities = conn.execute(sa.text(
            "SELECT id FROM community ORDER BY id LIMIT 3")).scalars().all()
        one = {c: _plan_shapes(conn, auto_partition(conn, c, seed=5)) for c in communities}
        trans.rollback()
    rep = plan.start_db_job(sample_engine, "partition", ClusterParams(client=dask_client),
                            options={"seed": 5, "community_ids": list(communities)})
    assert rep["state"] == "done" and rep["rows"] == len(communities)
    with sample_engine.connect() as conn:
        drafts: dict[int, int] = dict(conn.execute(sa.text(
            "SELECT community_id, id FROM grid_version WHERE created_by = :a"),
            {"a": f"batch:{rep['id']}"}).all())
        assert sorted(drafts) == sorted(communities)
        for c in communities:
            assert _plan_shapes(conn, drafts[c]) == one[c] and len(one[c]) >= 1


def _gridmap(engine: Engine, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DATABASE_URL=engine.url.render_as_string(hide_password=False),
               GRIDMAP_LANG="en")
    return subprocess.run([str(Path(sys.executable).parent / "gridmap"), *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_reports_every_bad_row_and_starts_nothing(sample_engine: Engine,
                                                      tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("lon,lat,reported_at\n-74.0,40.74,2026-06-01T08:00:00Z\n"
                   "x,40.74,2026-06-01T08:00:00Z\n-74.0,40.74,yesterday\n", encoding="utf-8")
    with sample_engine.connect() as conn:
        before = conn.execute(sa.text("SELECT count(*) FROM batch_job")).scalar_one()
    out = _gridmap(sample_engine, "batch", "locate", str(bad))
    assert out.returncode == 1
    assert "2 rows of the file cannot be processed" in out.stderr
    # data rows 2 and 3 (1-based, header not counted), each once; row 1 is fine
    assert out.stderr.count("row 2: longitude, latitude or time cannot be read") == 1
    assert "row 3: longitude" in out.stderr and "row 1:" not in out.stderr
    with sample_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM batch_job")).scalar_one() == before


def test_cli_status_and_export_of_a_finished_job(sample_engine: Engine, dask_client: Any,
                                                 tmp_path: Path) -> None:
    path = tmp_path / "pts.csv"
    _points_csv(sample_engine, path, 25)
    rep = plan.start_file_job(sample_engine, "locate", path, ClusterParams(client=dask_client),
                              chunk_rows=10)
    status = _gridmap(sample_engine, "batch", "status", str(rep["id"]))
    assert status.returncode == 0, status.stderr
    assert f"job {rep['id']} (locate): done, partitions done 3/3, 25 rows written" in status.stdout
    assert status.stdout.count("           done     tcp://") == 3  # each partition, its worker
    out = tmp_path / "located.csv"
    exported = _gridmap(sample_engine, "batch", "export", str(rep["id"]), str(out))
    assert exported.returncode == 0 and "25 rows exported" in exported.stdout
    frame = pd.read_csv(out, encoding="utf-8-sig")
    assert frame["row_no"].tolist() == list(range(1, 26))
    assert {"street_id", "community_id", "grid_id", "located_by"} <= set(frame.columns)


def test_ehsa_per_street_equals_one_process(sample_engine: Engine, dask_client: Any) -> None:
    import datetime as dt

    from gridmap.analysis import report
    from gridmap.demo import synth

    end = dt.datetime(2026, 6, 30, tzinfo=dt.UTC)
    with sample_engine.begin() as conn:
        synth.synthesise(conn, 600, seed=3, start=end - dt.timedelta(days=70), end=end)
    opts = {"step": "week", "start": "2026-04-27", "end": "2026-06-28", "today": "2026-07-01"}
    rep = plan.start_db_job(sample_engine, "ehsa", ClusterParams(client=dask_client),
                            options=opts)
    assert rep["state"] == "done", rep
    with sample_engine.connect() as conn:
        got: dict[int, str] = dict(conn.execute(sa.text(
            "SELECT grid_id, class FROM batch_ehsa_result WHERE job_id = :j"),
            {"j": rep["id"]}).all())
        streets = conn.execute(sa.text("SELECT id FROM street ORDER BY id")).scalars().all()
        one: dict[int, str] = {}
        for s in streets:
            run = report.run(conn, "week", dt.date(2026, 4, 27), dt.date(2026, 6, 28),
                             street_ids=[s], today=dt.date(2026, 7, 1))
            one.update({r["grid_id"]: r["class"] for r in report.rows(run)})
    assert got == one and len(got) > 10


def test_geocode_in_chunks_equals_one_process(sample_engine: Engine, dask_client: Any,
                                              tmp_path: Path) -> None:
    import json

    from gridmap.geocode.derive import derive_entries
    from gridmap.geocode.match import geocode
    from gridmap.geocode.register import load_index

    with sample_engine.begin() as conn:
        derive_entries(conn, actor="test")
        texts = conn.execute(sa.text(
            "SELECT text FROM address_entry WHERE valid_to IS NULL ORDER BY id LIMIT 24"
        )).scalars().all()
    texts = [*texts, "不存在的路999号", "", texts[0] + "旁边"]
    path = tmp_path / "addresses.csv"
    pd.DataFrame({"address": texts}).to_csv(path, index=False)
    rep = plan.start_file_job(sample_engine, "geocode", path, ClusterParams(client=dask_client),
                              chunk_rows=10)
    assert rep["state"] == "done" and rep["rows"] == len(texts)
    with sample_engine.connect() as conn:
        got = [json.loads(r) if isinstance(r, str) else r for r in conn.execute(sa.text(
            "SELECT result FROM batch_geocode_result WHERE job_id = :j ORDER BY row_no"),
            {"j": rep["id"]}).scalars()]
        one = geocode(load_index(conn), pd.read_csv(path, keep_default_na=False)["address"])
    assert len(got) == len(texts)
    def plain(v: Any) -> Any:
        return None if v is None or (not isinstance(v, str) and pd.isna(v)) else v

    for i, g in enumerate(got):
        for c in ("status", "level", "reason"):
            assert g[c] == plain(one.iloc[i][c]), (i, c)
        e = plain(one.iloc[i]["entry_id"])
        assert g["entry_id"] == (None if e is None else int(e))
    assert sum(g["status"] != "unmatched" for g in got) >= 3  # some register names are found
