"""The register in PostGIS: import with every problem at once, versioning, derivation, loading."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError
from gridmap.geocode import derive, register
from gridmap.geocode.match import geocode
from tests.fixtures.address_world import load_world, register_rows
from tests.fixtures.incident_world import build_world


def _current(conn: Connection, source: str) -> pd.DataFrame:
    return pd.DataFrame(conn.execute(sa.text(
        "SELECT text, ST_X(geom) AS lon, valid_to FROM address_entry WHERE source = :s "
        "ORDER BY id"), {"s": source}).mappings().all())


def test_import_reports_every_problem_and_writes_nothing(conn: Connection) -> None:
    bad = pd.DataFrame([
        {"address": "兰溪路1号", "lon": 121.4, "lat": 31.2},
        {"address": "", "lon": 121.4, "lat": 31.2},
        {"address": "兰溪路2号", "lon": None, "lat": None},
        {"address": "兰溪路1號", "lon": 121.4, "lat": 31.2},       # same door written differently
        {"address": "兰溪路3号", "lon": 500, "lat": 31.2},
        {"address": "兰溪路4号", "building_id": 999999},
    ])
    with pytest.raises(ValidationError) as err:
        register.import_addresses(conn, bad, source="t")
    found = {(p.row, p.code) for p in err.value.problems}
    assert found == {(2, "geocode.missing_address"), (3, "geocode.no_point"),
                     (4, "geocode.duplicate_address"), (5, "geocode.bad_coordinates"),
                     (6, "geocode.unknown_building")}
    assert conn.execute(sa.text("SELECT count(*) FROM address_entry")).scalar_one() == 0


def test_moved_address_is_retired_not_deleted(conn: Connection) -> None:
    rows = pd.DataFrame([{"address": "兰溪路1号", "lon": 121.40, "lat": 31.21},
                         {"address": "兰溪路3号", "lon": 121.41, "lat": 31.21}])
    first = register.import_addresses(conn, rows, source="office")
    assert first["inserted"] == 2
    again = register.import_addresses(conn, rows, source="office")
    assert (again["inserted"], again["retired"]) == (0, 0)
    moved = pd.DataFrame([{"address": "兰溪路1号", "lon": 121.402, "lat": 31.21}])
    rep = register.import_addresses(conn, moved, source="office", retire_missing=True)
    assert (rep["inserted"], rep["retired"]) == (1, 2)  # 1号 moved, 3号 demolished
    hist = _current(conn, "office")
    assert len(hist) == 3 and hist["valid_to"].notna().sum() == 2
    now = register.load_register(conn)
    assert now["text"].tolist() == ["兰溪路1号"] and now["lon"].iloc[0] == pytest.approx(121.402)
    before = register.load_register(conn, at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    assert before.empty  # nothing was valid yesterday: validity is kept per row


def test_dry_run_writes_nothing(conn: Connection) -> None:
    rep = register.import_addresses(conn, pd.DataFrame(register_rows()), source="t", dry_run=True)
    assert rep["inserted"] > 0
    assert conn.execute(sa.text("SELECT count(*) FROM address_entry")).scalar_one() == 0


def test_entries_derived_from_data(conn: Connection) -> None:
    ids = build_world(conn)
    conn.execute(sa.text("UPDATE building SET name = '曹杨影城' WHERE id = :b"), {"b": ids["B1"]})
    conn.execute(sa.text("UPDATE estate SET name = '梅岭小区' WHERE id = :e"), {"e": ids["E1"]})
    conn.execute(sa.text("UPDATE community SET name = '兰溪社区' WHERE id = :c"), {"c": ids["C2"]})
    conn.execute(sa.text(
        "INSERT INTO osm_line (osm_id, highway, name, geom) VALUES "
        "('w1', 'residential', '兰溪路', ST_GeomFromText('LINESTRING(121.40 31.215, 121.42 31.215)', 4326)),"
        "('w2', 'residential', '兰溪路', ST_GeomFromText('LINESTRING(121.42 31.215, 121.50 31.215)', 4326)),"
        "('w3', 'footway', '小径', ST_GeomFromText('LINESTRING(121.40 31.2, 121.41 31.2)', 4326))"))
    rep = derive.derive_entries(conn, actor="t")
    assert rep["building"]["inserted"] == 1 and rep["estate"]["inserted"] == 1
    assert rep["road"]["inserted"] == 1  # two pieces of one road, footways left out
    idx = register.load_index(conn)
    out = geocode(idx, ["曹杨影城", "梅岭小区", "兰溪路", "兰溪社区"])
    assert out["level"].tolist() == ["place", "place", "road", "area"]
    assert out["building_id"].iloc[0] == ids["B1"]
    # middle of the merged road's part inside the district (121.40–121.44), not of 121.40–121.50
    assert out["lon"].iloc[2] == pytest.approx(121.42, abs=1e-3)
    again = derive.derive_entries(conn, actor="t")
    assert again["road"] == {"inserted": 0, "retired": 0, "unchanged": 1}


def test_osm_addr_tags_become_register_rows() -> None:
    from tests.conftest import REPO

    frame = derive.read_osm_addresses(REPO / "gridmap/data/osm/chelsea.osm.pbf")
    assert len(frame) > 1000
    assert frame["address"].str.match(r"^\d+[A-Za-z]? .+").mean() > 0.95


def test_load_index_from_database_places_the_fixture(conn: Connection) -> None:
    load_world(conn)
    out = geocode(register.load_index(conn), ["兰溪路138弄5号301室", "铜川路近真如路"])
    assert out["level"].tolist() == ["building", "road"]
    assert out["status"].tolist() == ["auto", "review"]
