"""Reading and validating incident input: every problem at once, Open311 columns, GeoJSON and
GCJ-02 input, report time zones."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import incidents
from gridmap.crs import wgs84_to_gcj02
from gridmap.errors import ValidationError
from gridmap.incidents import intake
from tests.fixtures.incident_world import GOOD, write_csv


def test_bulk_import_reports_bad_rows_and_writes_nothing(conn: Connection, world: dict[str, int],
                                                         tmp_path: Path) -> None:
    bad = GOOD + [
        {"service_request_id": "B1", "service_code": "E0102", "long": "", "lat": "",
         "requested_datetime": "2025-11-20 10:00"},
        {"service_request_id": "B2", "service_code": "E0102", "long": 31.205, "lat": 121.415,
         "requested_datetime": "2025-11-20 10:00"},
        {"service_request_id": "B3", "service_code": "E0102", "long": 116.4, "lat": 39.9,
         "requested_datetime": "2025-11-20 10:00"},
        {"service_request_id": "B4", "service_code": "ZZ01", "long": 121.415, "lat": 31.205,
         "requested_datetime": "2025-11-20 10:00"},
        {"service_request_id": "B5", "service_code": "E0102", "long": 121.415, "lat": 31.205,
         "requested_datetime": "yesterday-ish"},
    ]
    frame = incidents.read_incident_file(write_csv(tmp_path, bad))
    with pytest.raises(ValidationError) as exc:
        incidents.import_incidents(conn, frame)
    by_row = {(p.row, p.reason.split(";")[0]) for p in exc.value.problems}
    assert (3, "missing or non-numeric coordinates") in by_row
    assert (4, "longitude and latitude look swapped") in by_row
    assert (5, "point is outside the district") in by_row
    assert (6, "unknown category 'ZZ01'") in by_row
    assert (7, "unreadable report time") in by_row
    assert {p.row for p in exc.value.problems} == {3, 4, 5, 6, 7}
    assert conn.execute(sa.text("SELECT count(*) FROM incident")).scalar_one() == 0


def test_geojson_and_gcj02_input(conn: Connection, world: dict[str, int], tmp_path: Path) -> None:
    gx, gy = wgs84_to_gcj02([121.415], [31.205])
    p = tmp_path / "i.geojson"
    p.write_text(pd.io.json.ujson_dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [gx[0], gy[0]]},
         "properties": {"service_code": "E0102", "requested_datetime": "2025-11-20T09:00Z"}}]}))
    rep = incidents.import_incidents(conn, incidents.read_incident_file(p), coords="gcj02")
    assert rep["inserted"] == 1
    lon = conn.execute(sa.text("SELECT ST_X(geom) FROM incident")).scalar_one()
    assert lon == pytest.approx(121.415, abs=1e-5)


@pytest.mark.parametrize("values", [
    ["2025-11-20T09:00:00+08:00", "2025-11-20 09:00", "2025-11-20T01:00:00Z",
     "2025-11-20 01:00:00 UTC", "不是时间", None],  # mixed: row by row
    ["2025-11-20T09:00:00+08:00", "2025-11-20T09:00:00+08:00", "不是时间", None],  # one zone
])
def test_report_times_zone_rules(values: list[str | None]) -> None:
    got = intake._parse_times(intake._stripped(pd.Series(values, dtype="object")))
    nine_beijing = pd.Timestamp("2025-11-20 01:00", tz="UTC")
    assert (got.iloc[:-2] == nine_beijing).all()  # zoned, naive (= Beijing) and UTC agree
    assert got.iloc[-2:].isna().all()  # unreadable and missing are NaT (reported per row)


def test_naive_report_times_fast_path_are_beijing_time() -> None:
    got = intake._parse_times(pd.Series(["2025-11-20 09:00:00"] * 3, dtype="object"))
    assert (got == pd.Timestamp("2025-11-20 01:00", tz="UTC")).all()


def test_every_intake_path_checks_text_with_one_set_of_limits(
        conn: Connection, world: dict[str, int], tmp_path: Path) -> None:
    """A file import (the CLI's path) and a single create refuse the same bad texts: NUL,
    lone surrogates, text over its gridmap.inputs limit; nothing is written."""
    rows = [dict(GOOD[0], service_request_id="T1", description="a\x00b"),
            dict(GOOD[0], service_request_id="T2", description="长" * 4001),
            dict(GOOD[0], service_request_id="T3", address_string="路" * 501),
            dict(GOOD[0], service_request_id="x" * 129)]
    frame = pd.DataFrame(rows).fillna("").astype(str)
    with pytest.raises(ValidationError) as exc:
        incidents.import_incidents(conn, frame)
    got = {(p.row, p.field, p.code) for p in exc.value.problems}
    assert got == {(1, "description", "input.nul_character"),
                   (2, "description", "input.too_long"),
                   (3, "address", "input.too_long"),
                   (4, "external_id", "input.too_long")}
    long = next(p for p in exc.value.problems if p.row == 2)
    assert long.params["max"] == 4000 and long.params["length"] == 4001
    assert "最多 4000" in long.render("zh")
    point = {"category": "E0102", "lon": 121.415, "lat": 31.205}
    for bad, code in (({"description": "\ud800"}, "input.invalid_unicode"),
                      ({"description": ["x"]}, "input.not_text"),
                      ({"category": {"code": "E0102"}}, "input.not_text"),
                      ({"reporter_phone": "1" * 41}, "input.too_long")):
        with pytest.raises(ValidationError) as exc:
            incidents.create(conn, {**point, **bad}, actor="t")
        assert [p.code for p in exc.value.problems] == [code], bad  # not also "missing"
    assert conn.execute(sa.text("SELECT count(*) FROM incident")).scalar_one() == 0


def test_a_single_create_starts_at_reported(conn: Connection, world: dict[str, int]) -> None:
    point = {"category": "E0102", "lon": 121.415, "lat": 31.205}
    for bad in ({"state": "closed"}, {"status": "evaluated"}, {"status": "filed"},
                {"state": 3}):
        with pytest.raises(ValidationError) as exc:
            incidents.create(conn, {**point, **bad}, actor="t")
        assert [p.code for p in exc.value.problems] == ["input.state_not_allowed"]
    assert incidents.create(conn, {**point, "status": "open"}, actor="t")["status"] == "reported"
    assert intake.starting_state_only({"state": "reported", "a": 1}) == {"a": 1}
