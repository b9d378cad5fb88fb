"""Incidents with an address: geocoded at import and in the single create, queued when
unsure (never placed silently), flagged when the reported point is far from the address."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError
from gridmap.imports import cases
from gridmap.incidents import addressing
from tests.fixtures.address_world import LANE_138, load_world
from tests.fixtures.incident_world import build_world

ROWS = [
    # placed from its door plate
    {"external_id": "H1", "category_code": "E0102", "reported_at": "2025-11-20 09:00",
     "address": "上海市普陀区曹杨新村街道兰溪路138弄5号301室"},
    # a tie between two 小区: queued
    {"external_id": "H2", "category_code": "E0102", "reported_at": "2025-11-20 09:10",
     "address": "枫x小区1号楼"},
    # "near": queued
    {"external_id": "H3", "category_code": "E0102", "reported_at": "2025-11-20 09:20",
     "address": "铜川路近真如路"},
    # coordinates 2 km from its address: written where reported, flagged
    {"external_id": "H4", "category_code": "E0102", "reported_at": "2025-11-20 09:30",
     "address": "兰溪路138弄5号", "lon": 121.405, "lat": 31.202},
    # coordinates next to its address: not flagged
    {"external_id": "H5", "category_code": "E0102", "reported_at": "2025-11-20 09:40",
     "address": "兰溪路138弄5号", "lon": 121.4151, "lat": 31.2166},
]


def _csv(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    p = tmp_path / "hotline.csv"
    pd.DataFrame(rows).to_csv(p, index=False)
    return p


@pytest.fixture
def world(conn: Connection) -> Connection:
    build_world(conn)
    load_world(conn)
    return conn


def _incidents(conn: Connection) -> pd.DataFrame:
    return pd.DataFrame(conn.execute(sa.text(
        "SELECT external_id, ST_X(geom) AS lon, ST_Y(geom) AS lat, geocode_level, "
        "geocode_status, address_far, address_distance_m FROM incident ORDER BY external_id"))
        .mappings().all()).set_index("external_id")


def test_import_places_queues_and_flags(world: Connection, tmp_path: Path) -> None:
    res = cases.import_cases(world, cases.read_cases(_csv(tmp_path, ROWS)), cases.CaseOptions(),
                             actor="t")
    assert (res.report["inserted"], res.report["geocoded"], res.report["queued"],
            res.report["address_far"]) == (3, 1, 2, 1)
    inc = _incidents(world)
    assert list(inc.index) == ["H1", "H4", "H5"]  # H2, H3 are not on the map
    assert inc.loc["H1", "lon"] == pytest.approx(LANE_138[5][0], abs=1e-6)
    assert (inc.loc["H1", "geocode_level"], inc.loc["H1", "geocode_status"]) == ("building", "auto")
    assert bool(inc.loc["H4", "address_far"]) and inc.loc["H4", "address_distance_m"] > 1500
    assert not inc.loc["H5", "address_far"] and pd.isna(inc.loc["H5", "geocode_status"])
    queue = world.execute(sa.text(
        "SELECT address, status, jsonb_array_length(candidates) AS n FROM address_queue "
        "ORDER BY id")).mappings().all()
    assert [(q["address"], q["status"]) for q in queue] == [("枫x小区1号楼", "pending"),
                                                          ("铜川路近真如路", "pending")]
    assert all(q["n"] >= 1 for q in queue)


def test_queued_rows_are_still_validated(world: Connection, tmp_path: Path) -> None:
    rows = [dict(ROWS[1], category_code="NOPE"), dict(ROWS[0], external_id="H9")]
    with pytest.raises(ValidationError) as err:
        cases.import_cases(world, cases.read_cases(_csv(tmp_path, rows)), cases.CaseOptions(),
                           actor="t")
    rows_codes = {(p.row, p.code) for p in err.value.problems if p.row is not None}
    assert rows_codes == {(1, "incidents.unknown_category")}  # no "no coordinates" anywhere
    assert world.execute(sa.text("SELECT count(*) FROM address_queue")).scalar_one() == 0


def test_dry_run_queues_nothing(world: Connection, tmp_path: Path) -> None:
    res = cases.import_cases(world, cases.read_cases(_csv(tmp_path, ROWS)), cases.CaseOptions(),
                             actor="t", dry_run=True)
    assert res.report["queued"] == 2 and res.report["queue_ids"] == []
    assert world.execute(sa.text("SELECT count(*) FROM address_queue")).scalar_one() == 0


def test_without_register_a_missing_point_stays_an_error(conn: Connection,
                                                         tmp_path: Path) -> None:
    build_world(conn)
    with pytest.raises(ValidationError) as err:
        cases.import_cases(conn, cases.read_cases(_csv(tmp_path, ROWS[:1])),
                           cases.CaseOptions(), actor="t")
    assert {p.code for p in err.value.problems} == {"incidents.no_coordinates"}


def test_single_create_places_or_queues(world: Connection) -> None:
    base = {"category": "E0102", "reported_at": "2025-11-20T09:00:00+08:00"}
    placed = addressing.create_or_queue(world, {**base, "address": "兰溪路138弄5号"}, actor="t")
    assert placed["incident"]["geocode_status"] == "auto"
    far = addressing.create_or_queue(world, {**base, "address": "兰溪路138弄5号", "lon": 121.405,
                                             "lat": 31.202}, actor="t")
    assert far["incident"]["address_far"] and far["incident"]["address_distance_m"] > 1500
    from gridmap.incidents.query import get
    assert get(world, far["incident"]["id"])["address_far"]  # every reader sees the flag
    queued = addressing.create_or_queue(world, {**base, "address": "曹杨影城附近"}, actor="t",
                                        channel="open311")
    assert queued["queued"] > 0 and queued["candidates"][0]["label"] == "曹杨影城"
    with pytest.raises(ValidationError):
        addressing.create_or_queue(world, {"category": "E0102"}, actor="t")  # nothing at all
