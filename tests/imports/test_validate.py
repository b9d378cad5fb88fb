"""Validation of a level: every problem reported at once with its row, hierarchy,
region, catalogue and building values."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely
import sqlalchemy as sa
from shapely.geometry import Point, box
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError
from gridmap.imports import boundaries
from gridmap.imports.boundaries import ImportRefused, IngestParams, import_boundaries, read_file
from gridmap.imports.geometry import REPAIRED
from tests.fixtures.boundary_world import (
    BOWTIE,
    COMM_1,
    COMM_3,
    DISTRICT,
    STREET,
    count,
    district_file,
    frame,
    seed_street,
)


def reasons(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[int | None, str, str]]:
    return [(p.row, p.field or "", p.reason) for p in exc.value.problems]


def test_every_problem_is_reported_at_once_with_rows(conn: Connection, tmp_path: Path) -> None:
    seed_street(conn, tmp_path)
    rows = frame([
        {"code": "310107005001", "name": "源园", "geometry": COMM_1},                 # 1 ok
        {"code": "310107005001", "name": "dup", "geometry": COMM_3},                  # 2 dup
        {"code": "310107005999", "name": "无此", "geometry": COMM_3},                 # 3 unknown
        {"code": "3101070050", "name": "short", "geometry": COMM_3},                  # 4 length
        {"code": "310107005003", "name": "swap",                                      # 5 swapped
         "geometry": shapely.transform(COMM_3, lambda xy: xy[:, ::-1])},
        {"code": "310107005004", "name": "far", "geometry": box(116.3, 39.9, 116.4, 40.0)},  # 6
        {"code": "310107005005", "name": "out",                                       # 7 outside
         "geometry": box(121.41, 31.25, 121.43, 31.27)},
        {"code": "310107005006", "name": "pt", "geometry": Point(121.39, 31.23)},     # 8 type
        {"code": "310107005007", "name": "bad parent", "parent_code": "310107004",    # 9 parent
         "geometry": COMM_1},
        {"code": "310107005009", "name": "bowtie", "geometry": BOWTIE},               # 10 warn
    ])
    with pytest.raises(ImportRefused) as exc:
        import_boundaries(conn, rows, level="community")
    found = reasons(exc)
    errors = {(p.row, p.field) for p in exc.value.problems if p.code != REPAIRED}

    def has(row: int, field: str, text: str) -> bool:
        return any(r == row and f == field and text in why for r, f, why in found)

    assert has(1, "code", "appears more than once") and has(2, "code", "appears more than once")
    assert has(3, "code", "not in the division code catalogue")
    assert has(4, "code", "must be 12 digits")
    assert has(5, "geometry", "look swapped")
    assert has(6, "geometry", "outside the expected region")
    assert has(7, "geometry", "lies outside its parent street 310107005")
    assert has(8, "geometry", "Point is not allowed")
    assert has(9, "parent_code", "does not match code")
    assert has(10, "geometry", "repaired with make_valid")
    assert (10, "geometry") not in errors
    assert exc.value.report.repaired == 1
    assert count(conn, "community") == 0


def test_child_slightly_outside_parent_is_tolerated(conn: Connection, tmp_path: Path) -> None:
    seed_street(conn, tmp_path)
    # sticks out by ~1e-6° (≈0.1 m) along one 2 km side: far below 1% / 50 m²
    sliver = box(121.38 - 1e-6, 31.22, 121.40, 31.24)
    report = import_boundaries(conn, frame([{"code": "310107005001", "name": "源园",
                                             "geometry": sliver}]), level="community")
    assert report.inserted == 1 and report.errors == []


def test_parent_must_exist(conn: Connection) -> None:
    with pytest.raises(ImportRefused, match="parent district 310107 is not in the database"):
        import_boundaries(conn, frame([{"code": "310107005", "name": "x", "geometry": STREET}]),
                          level="street")


def test_swapped_lonlat_from_a_csv_file_gives_a_hint(conn: Connection, tmp_path: Path) -> None:
    swapped = shapely.transform(DISTRICT, lambda xy: xy[:, ::-1])
    path = tmp_path / "swapped.csv"
    path.write_text(f"code,name,wkt\n310107,普陀区,\"{swapped.wkt}\"\n", encoding="utf-8")
    with pytest.raises(ImportRefused, match="put longitude first"):
        import_boundaries(conn, path, level="district", crs="EPSG:4326")


def test_region_can_be_configured(conn: Connection, tmp_path: Path) -> None:
    params = IngestParams(region=(121.0, 30.9, 121.3, 31.1))
    with pytest.raises(ImportRefused, match="outside the expected region"):
        import_boundaries(conn, district_file(tmp_path), level="district", params=params)


def test_unknown_code_is_a_warning_for_synthetic_data(conn: Connection, tmp_path: Path) -> None:
    seed_street(conn, tmp_path)
    report = import_boundaries(
        conn, frame([{"code": "310107005999", "name": "示例社区", "geometry": COMM_1}]),
        level="community", params=IngestParams(synthetic=True))
    assert report.inserted == 1 and len(report.warnings) == 1
    assert conn.execute(sa.text("SELECT synthetic FROM community")).scalar_one() is True


def test_building_values_must_be_whole_numbers(conn: Connection) -> None:
    rows = frame([{"households": "many", "geometry": box(121.40, 31.22, 121.4002, 31.2202)}])
    with pytest.raises(ImportRefused, match="households 'many' is not a non-negative whole"):
        import_boundaries(conn, rows, level="building")


def test_validate_reports_without_writing(conn: Connection, tmp_path: Path) -> None:
    gdf = read_file(district_file(tmp_path), level="district")
    gdf.loc[0, "code"] = "31010"
    report = boundaries.validate(conn, gdf, level="district")
    assert [(p.row, p.field) for p in report.errors] == [(1, "code")]
    assert report.rows_valid == 0 and count(conn, "district") == 0
