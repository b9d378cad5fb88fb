"""The one write path: create and bulk import (idempotent, dry run, chunked COPY, index
rebuild), located like a single assignment pass."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import incidents
from gridmap.errors import ValidationError
from gridmap.incidents import locate
from tests.fixtures.incident_world import GOOD, UTC, new_incident, write_csv


def test_create_locates_and_records_intake(conn: Connection, world: dict[str, int]) -> None:
    row = new_incident(conn, reporter_name="张三", reporter_phone="13812345678", source="hotline")
    assert row["grid_id"] == world["G2"] and row["community_id"] == world["C1"]
    assert row["status"] == "reported" and row["source"] == "hotline_12345"
    assert str(row["case_no"]).startswith("E010220251120")
    hist = incidents.history(conn, int(row["id"]))  # type: ignore[arg-type]
    assert [h["to_state"] for h in hist] == ["reported"] and hist[0]["actor"] == "tester"


def test_create_reports_every_problem(conn: Connection, world: dict[str, int]) -> None:
    with pytest.raises(ValidationError) as exc:
        incidents.create(conn, {"category": "X9999", "lat": 31.2, "urgency": "panic"}, actor="t")
    reasons = " | ".join(p.reason for p in exc.value.problems)
    assert "unknown category" in reasons and "coordinates" in reasons and "urgency" in reasons


def test_bulk_import_idempotent_and_dry_run(conn: Connection, world: dict[str, int],
                                            tmp_path: Path) -> None:
    frame = incidents.read_incident_file(write_csv(tmp_path, GOOD))
    dry = incidents.import_incidents(conn, frame, dry_run=True)
    assert dry["inserted"] == 2 and dry["dry_run"]
    assert conn.execute(sa.text("SELECT count(*) FROM incident")).scalar_one() == 0
    rep = incidents.import_incidents(conn, frame, actor="me")
    assert rep["inserted"] == 2 and rep["nearest_grid"] == 1  # A2 is in the hole of G1
    again = incidents.import_incidents(conn, frame)
    assert again["inserted"] == 0 and again["skipped_existing"] == 2
    row = conn.execute(sa.text("SELECT reported_at, grid_id FROM incident "
                               "WHERE external_id = 'A2'")).one()
    assert row[0] == dt.datetime(2025, 11, 20, 2, 0, tzinfo=UTC)  # naive = Beijing time
    assert row[1] == world["G1"]


def test_bulk_index_rebuild_path_keeps_indexes(conn: Connection, world: dict[str, int],
                                               tmp_path: Path) -> None:
    before = conn.execute(sa.text("SELECT count(*) FROM pg_indexes "
                                  "WHERE tablename IN ('incident', 'incident_event')")).scalar_one()
    frame = incidents.read_incident_file(write_csv(tmp_path, GOOD))
    rep = incidents.import_incidents(conn, frame, params=incidents.IntakeParams(
        rebuild_indexes_from_rows=1, rebuild_indexes_max_ratio=1e9))
    assert rep["inserted"] == 2
    after = conn.execute(sa.text("SELECT count(*) FROM pg_indexes "
                                 "WHERE tablename IN ('incident', 'incident_event')")).scalar_one()
    assert after == before
    with pytest.raises(sa.exc.IntegrityError):
        with conn.begin_nested():
            conn.execute(sa.text("UPDATE incident SET external_id = 'A1'"))
    with pytest.raises(sa.exc.IntegrityError, match="category"):  # the FK is back too
        with conn.begin_nested():
            conn.execute(sa.text("UPDATE incident SET category_code = 'NOPE'"))


def test_chunked_bulk_import_matches_one_pass_assignment(conn: Connection,
                                                         world: dict[str, int]) -> None:
    """A import larger than one COPY chunk (and big enough for the index-rebuild path): every
    row carries exactly what a single assign_points pass gives for its point, and the
    duplicate flags are those of the pure search."""
    rng = np.random.default_rng(7)
    n = incidents.COPY_CHUNK_ROWS + 7_321
    lon = np.round(rng.uniform(121.399, 121.441, n), 6)  # some points outside every grid
    lat = np.round(rng.uniform(31.199, 31.241, n), 6)
    t = pd.Timestamp("2025-11-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 30 * 86400, n),
                                                                 unit="s")
    frame = pd.DataFrame({"external_id": [f"CH-{i}" for i in range(n)],
                          "category_code": np.where(np.arange(n) % 3 == 0, "E0102", "E0501"),
                          "lon": lon.astype(str), "lat": lat.astype(str),
                          "reported_at": t.strftime("%Y-%m-%dT%H:%M:%SZ")})
    rep = incidents.import_incidents(conn, frame, params=incidents.IntakeParams(
        rebuild_indexes_from_rows=10_000, rebuild_indexes_max_ratio=1e9))
    assert rep["inserted"] == n
    got = pd.DataFrame(conn.execute(sa.text(
        "SELECT external_id, grid_id, community_id, street_id, estate_id, building_id, "
        "located_by, near_boundary, duplicate_of IS NOT NULL AS dup FROM incident "
        "WHERE external_id LIKE 'CH-%'")).all(),
        columns=["external_id", "grid_id", "community_id", "street_id", "estate_id",
                 "building_id", "located_by", "near_boundary", "dup"])
    got = got.set_index("external_id").loc[frame["external_id"]]
    want = locate.assign_points(conn, lon, lat, t.tz_localize(None).to_numpy())
    for col in ("grid_id", "community_id", "street_id", "estate_id", "building_id"):
        assert got[col].fillna(-1).astype(int).tolist() == want[col].fillna(-1).astype(int).tolist(), col
    assert got["located_by"].tolist() == want["located_by"].tolist()
    assert got["near_boundary"].tolist() == want["near_boundary"].tolist()
    assert int(got["dup"].sum()) == rep["duplicates"] > 0
    assert rep["nearest_grid"] == int((want["located_by"] == "nearest_grid").sum()) > 0


def test_bulk_import_into_a_table_with_cases_does_not_lock_readers_out(
        conn: Connection, world: dict[str, int], engine: sa.engine.Engine,
        tmp_path: Path) -> None:
    """Issue #12 (14): a big import into a table that already holds cases keeps the live
    indexes, so a web reader (lock_timeout 1 s) reads ``incident`` while the import's
    transaction is still open; no ACCESS EXCLUSIVE lock on ``incident``."""
    new_incident(conn)
    frame = incidents.read_incident_file(write_csv(tmp_path, GOOD))
    rep = incidents.import_incidents(conn, frame, params=incidents.IntakeParams(
        rebuild_indexes_from_rows=1, rebuild_indexes_max_ratio=1e9))
    assert rep["inserted"] == 2
    held = conn.execute(sa.text(
        "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid()"
        " AND relation IN ('incident'::regclass, 'incident_event'::regclass)")).scalars().all()
    assert "AccessExclusiveLock" not in held
    with engine.connect() as reader:
        reader.execute(sa.text("SET lock_timeout = '1s'"))
        assert reader.execute(sa.text("SELECT count(*) FROM incident")).scalar_one() >= 0
        reader.rollback()
