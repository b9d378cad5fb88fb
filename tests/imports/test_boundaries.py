"""Boundary import: reading, validation (every problem at once), upsert, linking,
all-or-nothing writes, and the CLI on bad input.

Geometries sit around Caoyang Xincun street (曹杨新村街道, 310107005) in Putuo district
(普陀区, 310107), Shanghai; codes are real entries of data/geo/admin-codes.
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa
from shapely.geometry import MultiPolygon, Point, Polygon, box
from sqlalchemy.engine import Connection

from gridmap import crs as gcrs
from gridmap.db import make_engine
from gridmap.errors import InputTooLarge, ValidationError
from gridmap.imports import boundaries, write
from gridmap.imports.boundaries import ImportRefused, IngestParams, import_boundaries, read_file
from tests.conftest import REPO

GRIDMAP = str(REPO / ".venv" / "bin" / "gridmap")

DISTRICT = box(121.35, 31.20, 121.46, 31.30)
STREET = box(121.38, 31.22, 121.42, 31.26)
COMM_1 = box(121.38, 31.22, 121.40, 31.24)   # 310107005001 源园居委会
COMM_3 = box(121.40, 31.22, 121.42, 31.24)   # 310107005003 花溪园居委会
BOWTIE = Polygon([(121.38, 31.24), (121.39, 31.25), (121.39, 31.24), (121.38, 31.25)])


def frame(rows: list[dict[str, object]], crs: object = 4326) -> gpd.GeoDataFrame:
    geoms = [r.pop("geometry") for r in rows]
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=crs)


def save(gdf: gpd.GeoDataFrame, path: Path) -> Path:
    gdf.to_file(path)
    return path


def district_file(tmp_path: Path) -> Path:
    return save(frame([{"code": "310107", "name": "普陀区", "geometry": DISTRICT}]),
                tmp_path / "district.geojson")


def seed_street(conn: Connection, tmp_path: Path) -> None:
    import_boundaries(conn, district_file(tmp_path), level="district")
    import_boundaries(conn, frame([{"code": "310107005", "name": "曹杨新村街道",
                                    "geometry": STREET}]), level="street")


def count(conn: Connection, table: str) -> int:
    return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608


def reasons(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[int | None, str, str]]:
    return [(p.row, p.field or "", p.reason) for p in exc.value.problems]


# --- repair primitive (pure) -----------------------------------------------------------

def test_repair_geometries_repairs_drops_and_refuses_with_rows() -> None:
    flat = Polygon([(0, 0), (1, 0), (2, 0), (0, 0)])
    gdf = gpd.GeoDataFrame({"_row": [10, 11, 12, 13, 14]},
                           geometry=[box(0, 0, 1, 1), BOWTIE, flat, Point(0, 0), None], crs=4326)
    out, problems = boundaries.repair_geometries(gdf)
    assert list(out["_row"]) == [10, 11]
    assert all(g.geom_type == "MultiPolygon" and g.is_valid for g in out.geometry)
    # the bow-tie keeps both triangles
    assert out.geometry.iloc[1].area == pytest.approx(2 * 0.5 * 0.01 * 0.005, rel=1e-6)
    by_row = {p.row: (p.severity, p.reason) for p in problems}
    assert by_row[11][0] == "warning" and "make_valid" in by_row[11][1]
    assert by_row[12][0] == "warning" and "degenerate" in by_row[12][1]
    assert by_row[13][0] == "error" and "Point" in by_row[13][1]
    assert by_row[14][0] == "error" and "missing" in by_row[14][1]
    assert 10 not in by_row


def test_repair_geometries_keeps_polygons_of_a_collection() -> None:
    mixed = shapely.GeometryCollection([box(0, 0, 1, 1), shapely.LineString([(5, 5), (6, 6)])])
    out, problems = boundaries.repair_geometries(gpd.GeoDataFrame(geometry=[mixed], crs=4326))
    assert problems == []
    assert out.geometry.iloc[0].equals(MultiPolygon([box(0, 0, 1, 1)]))


# --- reading ------------------------------------------------------------------------------

def test_read_geojson_maps_fields_and_numeric_codes(tmp_path: Path) -> None:
    gdf = frame([{"CODE": 310107, "名称": "普陀区", "geometry": DISTRICT}])
    out = read_file(save(gdf, tmp_path / "d.geojson"), level="district")
    assert out.loc[0, "code"] == "310107" and out.loc[0, "name"] == "普陀区"
    assert out.crs.to_epsg() == 4326 and out.loc[0, "source_crs"] == "EPSG:4326"


def test_read_csv_needs_crs_then_reads_wkt_and_lonlat(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(f"code,name,wkt\n310107,普陀区,\"{DISTRICT.wkt}\"\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="declares no coordinate reference system"):
        read_file(path, level="district")
    out = read_file(path, level="district", crs="EPSG:4326")
    assert out.geometry.iloc[0].equals(DISTRICT)

    pts = tmp_path / "p.csv"
    pts.write_text("name,lon,lat\nA,121.40,31.23\nB,abc,31.2\n", encoding="gb18030")
    out = read_file(pts, level="building", crs="EPSG:4326")
    assert list(out["name"]) == ["A"] and out.geometry.iloc[0].equals(Point(121.40, 31.23))
    assert [(p.row, p.reason) for p in out.attrs["problems"]] == [(2, "lon/lat is not a number")]


def test_read_zipped_shapefile_and_refuse_one_without_prj(tmp_path: Path) -> None:
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    save(frame([{"code": "310107", "name": "普陀区", "geometry": DISTRICT}]),
         shp_dir / "district.shp")
    with_prj = tmp_path / "district.zip"
    no_prj = tmp_path / "noprj.zip"
    with zipfile.ZipFile(with_prj, "w") as zf, zipfile.ZipFile(no_prj, "w") as zn:
        for f in shp_dir.iterdir():
            zf.write(f, f.name)
            if f.suffix != ".prj":
                zn.write(f, f.name)
    out = read_file(with_prj, level="district")
    assert out.loc[0, "code"] == "310107" and out.geometry.iloc[0].equals(DISTRICT)
    with pytest.raises(ValidationError, match="no coordinate reference system; pass --crs"):
        read_file(no_prj, level="district")
    assert read_file(no_prj, level="district", crs="EPSG:4326").geometry.iloc[0].equals(DISTRICT)


def test_read_gauss_kruger_and_cgcs2000(tmp_path: Path) -> None:
    gk = frame([{"code": "310107", "name": "普陀区", "geometry": DISTRICT}]).to_crs(4549)
    out = read_file(save(gk, tmp_path / "gk.gpkg"), level="district")
    assert out.geometry.iloc[0].equals_exact(DISTRICT, tolerance=1e-7)
    assert out.loc[0, "source_crs"] == "EPSG:4549"

    cgcs = frame([{"code": "310107", "name": "普陀区", "geometry": DISTRICT}], crs=4490)
    out = read_file(save(cgcs, tmp_path / "cgcs.gpkg"), level="district")
    assert out.crs.to_epsg() == 4326 and out.geometry.iloc[0].equals(DISTRICT)
    assert out.loc[0, "source_crs"] == "EPSG:4490"


def test_read_gcj02_is_converted_and_recorded(tmp_path: Path) -> None:
    path = save(frame([{"code": "310107", "name": "普陀区", "geometry": DISTRICT}]),
                tmp_path / "gcj.geojson")
    out = read_file(path, level="district", coords="gcj02")
    x, y = np.array(DISTRICT.exterior.coords).T
    ex, ey = gcrs.gcj02_to_wgs84(x, y)
    got = np.array(out.geometry.iloc[0].exterior.coords)
    assert np.allclose(got[:, 0], ex, atol=1e-9) and np.allclose(got[:, 1], ey, atol=1e-9)
    assert abs(got[0, 0] - x[0]) > 1e-3  # GCJ-02 offsets are hundreds of metres
    assert out.loc[0, "source_crs"] == "EPSG:4326 (gcj02)"


@pytest.mark.parametrize(("content", "name", "message"), [
    (b"", "empty.geojson", "is empty"),
    (b"this is not json", "bad.geojson", "cannot read bad.geojson"),
    (b'{"type": "FeatureCollection", "features": []}', "none.geojson", "contains no features"),
    (b"a,b\n1,2\n", "nogeom.csv", "neither a WKT column"),
    (b"x", "file.kml", "unsupported file type"),
])
def test_read_refuses_unusable_files(tmp_path: Path, content: bytes, name: str,
                                     message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValidationError, match=message):
        read_file(path, level="district", crs="EPSG:4326")


def test_multi_layer_geopackage_layer_choice(tmp_path: Path) -> None:
    path = tmp_path / "estates.gpkg"
    frame([{"name": "旧小区", "geometry": box(121.38, 31.22, 121.39, 31.23)}]).to_file(
        path, layer="estates_2024")
    frame([{"name": "新小区", "geometry": box(121.39, 31.22, 121.40, 31.23)},
           {"name": "二期", "geometry": box(121.40, 31.22, 121.41, 31.23)}]).to_file(
        path, layer="estates_2025")
    first = read_file(path, level="estate")
    assert first["name"].tolist() == ["旧小区"]
    assert any("estates_2025" in p.reason and "--layer" in p.reason
               for p in first.attrs["problems"])
    chosen = read_file(path, level="estate", fields=boundaries.FieldMap(layer="estates_2025"))
    assert chosen["name"].tolist() == ["新小区", "二期"]
    with pytest.raises(ValidationError, match="no layer 'estates_2026'.*estates_2024, "
                                              "estates_2025"):
        read_file(path, level="estate", fields=boundaries.FieldMap(layer="estates_2026"))


def test_read_refuses_too_large_and_missing_files(tmp_path: Path) -> None:
    path = district_file(tmp_path)
    with pytest.raises(InputTooLarge, match="over the limit of 100 bytes"):
        read_file(path, level="district", max_bytes=100)
    with pytest.raises(ValidationError, match="does not exist"):
        read_file(tmp_path / "nope.gpkg", level="district")


def test_read_reports_crs_conflict_and_missing_mapped_column_together(tmp_path: Path) -> None:
    path = district_file(tmp_path)
    with pytest.raises(ValidationError) as exc:
        read_file(path, level="district", crs="EPSG:3857",
                  fields=boundaries.FieldMap(code="xzqdm"))
    fields = {p.field for p in exc.value.problems}
    assert fields == {"crs", "xzqdm"}


# --- validation (library) -----------------------------------------------------------------

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
    errors = {(r, f) for r, f, _ in found if "repaired" not in _}

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


# --- writing ------------------------------------------------------------------------------

def test_reimport_upserts_by_code(conn: Connection, tmp_path: Path) -> None:
    seed_street(conn, tmp_path)
    comms = frame([{"code": "310107005001", "name": None, "geometry": COMM_1},
                   {"code": "310107005003", "name": "花溪园", "geometry": COMM_3}])
    first = import_boundaries(conn, comms, level="community")
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    again = import_boundaries(conn, comms, level="community")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    comms.loc[1, "name"] = "花溪园居委会"
    third = import_boundaries(conn, comms, level="community")
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 1)
    rows = conn.execute(sa.text(
        "SELECT c.code, c.name, s.code FROM community c JOIN street s ON s.id = c.street_id"
        " ORDER BY c.code")).all()
    # a missing name is filled from the division catalogue
    assert [tuple(r) for r in rows] == [("310107005001", "源园居委会", "310107005"),
                                        ("310107005003", "花溪园居委会", "310107005")]
    run = conn.execute(sa.text("SELECT kind, report FROM import_run WHERE id = :id"),
                       {"id": third.import_id}).one()
    assert run.kind == "boundaries:community" and run.report["updated"] == 1


def test_on_existing_skip_and_error(conn: Connection, tmp_path: Path) -> None:
    import_boundaries(conn, district_file(tmp_path), level="district")
    renamed = frame([{"code": "310107", "name": "改名", "geometry": DISTRICT}])
    skipped = import_boundaries(conn, renamed, level="district",
                                params=IngestParams(on_existing="skip"))
    assert skipped.skipped == 1
    assert conn.execute(sa.text("SELECT name FROM district")).scalar_one() == "普陀区"
    with pytest.raises(ImportRefused, match="already exists in the database"):
        import_boundaries(conn, renamed, level="district",
                          params=IngestParams(on_existing="error"))


def test_dry_run_counts_and_writes_nothing(conn: Connection, tmp_path: Path) -> None:
    runs = count(conn, "import_run")
    report = import_boundaries(conn, district_file(tmp_path), level="district", dry_run=True)
    assert report.dry_run and report.inserted == 1 and report.import_id is None
    assert count(conn, "district") == 0 and count(conn, "import_run") == runs


def test_estates_and_buildings_are_linked_spatially(conn: Connection, tmp_path: Path) -> None:
    seed_street(conn, tmp_path)
    import_boundaries(conn, frame([{"code": "310107005001", "name": "源园", "geometry": COMM_1},
                                   {"code": "310107005003", "name": "花溪", "geometry": COMM_3}]),
                      level="community")
    # mostly in community 003, a little in 001
    estate = box(121.399, 31.225, 121.41, 31.235)
    rep = import_boundaries(conn, frame([{"name": "曹杨一村", "geometry": estate}]),
                            level="estate")
    assert rep.inserted == 1 and rep.unlinked == 0
    again = import_boundaries(conn, frame([{"name": "曹杨一村", "geometry": estate}]),
                              level="estate")
    assert again.inserted == 0 and again.unchanged == 1  # code-less rows match by geometry
    buildings = frame([
        {"code": "B1", "households": 24, "levels": 6,
         "geometry": box(121.401, 31.226, 121.4012, 31.2262)},        # in the estate
        {"code": "B2", "geometry": box(121.385, 31.226, 121.3852, 31.2262)},  # community 001
        {"code": "B3", "geometry": box(121.30, 31.21, 121.3002, 31.2102)},    # in no community
    ])
    rep = import_boundaries(conn, buildings, level="building")
    assert rep.inserted == 3 and rep.unlinked == 1  # B3 lies in no community
    rows = {r.code: r for r in conn.execute(sa.text(
        "SELECT b.code, e.name AS estate, c.code AS community, b.households,"
        " b.population_source, b.residential, b.footprint_m2, b.source_crs"
        " FROM building b LEFT JOIN estate e ON e.id = b.estate_id"
        " LEFT JOIN community c ON c.id = b.community_id"))}
    assert rows["B1"].estate == "曹杨一村" and rows["B1"].community == "310107005003"
    assert rows["B1"].households == 24 and rows["B1"].population_source == "imported"
    assert rows["B1"].residential and 300 < rows["B1"].footprint_m2 < 500
    assert rows["B2"].estate is None and rows["B2"].community == "310107005001"
    assert rows["B2"].population_source == "none"
    assert rows["B3"].community is None and rows["B3"].source_crs == "EPSG:4326"
    assert conn.execute(sa.text(
        "SELECT c.code FROM estate e JOIN community c ON c.id = e.community_id")
    ).scalar_one() == "310107005003"


def test_buildings_and_estates_imported_first_are_linked_when_communities_arrive(
        conn: Connection, tmp_path: Path) -> None:
    seed_street(conn, tmp_path)
    # an OSM-style order: buildings and estates first, no community boundaries yet
    b = import_boundaries(conn, frame([
        {"code": "B1", "geometry": box(121.401, 31.226, 121.4012, 31.2262)},
        {"code": "B2", "geometry": box(121.385, 31.226, 121.3852, 31.2262)},
        {"code": "B3", "geometry": box(121.30, 31.21, 121.3002, 31.2102)}]), level="building")
    assert b.unlinked == 3
    est = import_boundaries(conn, frame([{"name": "曹杨一村",
                                          "geometry": box(121.399, 31.225, 121.41, 31.235)}]),
                            level="estate")
    assert est.linked == {"building": 1}  # B1 lies in the estate
    rep = import_boundaries(conn, frame([
        {"code": "310107005001", "name": "源园", "geometry": COMM_1},
        {"code": "310107005003", "name": "花溪", "geometry": COMM_3}]), level="community")
    assert rep.linked == {"building": 2, "estate": 1, "street_block": 0}
    assert any("linked where missing: 2 building(s)" in line for line in rep.summary_lines())
    got = dict(conn.execute(sa.text(
        "SELECT b.code, c.code FROM building b LEFT JOIN community c ON c.id = b.community_id")
    ).all())
    assert got == {"B1": "310107005003", "B2": "310107005001", "B3": None}
    assert conn.execute(sa.text("SELECT b.code FROM building b JOIN estate e "
                                "ON e.id = b.estate_id")).scalar_one() == "B1"


def test_building_values_must_be_whole_numbers(conn: Connection) -> None:
    rows = frame([{"households": "many", "geometry": box(121.40, 31.22, 121.4002, 31.2202)}])
    with pytest.raises(ImportRefused, match="households 'many' is not a non-negative whole"):
        import_boundaries(conn, rows, level="building")


def test_failure_in_the_middle_leaves_database_unchanged(
    fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(fresh_db_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        import_boundaries(conn, district_file(tmp_path), level="district")

    def snapshot() -> tuple[object, ...]:
        with engine.connect() as c:
            return tuple(c.execute(sa.text(
                "SELECT (SELECT count(*) FROM district), (SELECT count(*) FROM street),"
                " (SELECT count(*) FROM import_run),"
                " (SELECT string_agg(md5(code || name || ST_AsEWKB(geom)::text), ',')"
                "  FROM district)")).one())

    before = snapshot()

    def boom(conn: Connection, report: boundaries.ImportReport) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(write, "finish_run", boom)
    streets = frame([{"code": "310107005", "name": "曹杨新村街道", "geometry": STREET}])
    renamed = frame([{"code": "310107", "name": "改名", "geometry": DISTRICT}])
    for rows, level in ((streets, "street"), (renamed, "district")):
        with pytest.raises(RuntimeError, match="disk full"), engine.begin() as conn:
            import_boundaries(conn, rows, level=level)
        assert snapshot() == before
    # the same failure inside a caller's longer transaction: the savepoint is undone,
    # the caller's own earlier work survives
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO import_run (kind) VALUES ('caller')"))
        with pytest.raises(RuntimeError):
            import_boundaries(conn, streets, level="street")
    after = snapshot()
    assert after[:2] == before[:2] and after[2] == before[2] + 1 and after[3] == before[3]
    engine.dispose()


def test_progress_reports_stages(conn: Connection, tmp_path: Path) -> None:
    seen: list[tuple[str, int, int | None]] = []
    import_boundaries(conn, district_file(tmp_path), level="district",
                      progress=lambda s, d, t: seen.append((s, d, t)))
    stages = [s for s, _, _ in seen]
    for stage in ("read", "validate", "load", "link", "write", "done"):
        assert stage in stages
    assert ("load", 1, 1) in seen


# --- CLI ------------------------------------------------------------------------------

def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GRIDMAP, *args], env=env, capture_output=True, text=True, timeout=120)


def db_counts(url: str) -> tuple[int, int]:
    engine = make_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as c:
        row = c.execute(sa.text(
            "SELECT (SELECT count(*) FROM district), (SELECT count(*) FROM import_run)")).one()
    engine.dispose()
    return int(row[0]), int(row[1])


def test_cli_import_dry_run_then_real(cli_env: dict[str, str], tmp_path: Path) -> None:
    path = district_file(tmp_path)
    dry = run_cli(cli_env, "import", "boundaries", "district", str(path), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run (nothing written)" in dry.stdout and "would insert 1" in dry.stdout
    assert db_counts(cli_env["DATABASE_URL"]) == (0, 0)
    real = run_cli(cli_env, "import", "boundaries", "district", str(path))
    assert real.returncode == 0, real.stderr
    assert "inserted 1" in real.stdout
    assert db_counts(cli_env["DATABASE_URL"]) == (1, 1)


def test_cli_bad_inputs_exit_1_with_one_line_and_change_nothing(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    swapped = shapely.transform(DISTRICT, lambda xy: xy[:, ::-1])
    csv_swapped = tmp_path / "swapped.csv"
    csv_swapped.write_text(f"code,name,wkt\n310107,普陀区,\"{swapped.wkt}\"\n", encoding="utf-8")
    dup = save(frame([{"code": "310107", "name": "a", "geometry": DISTRICT},
                      {"code": "310107", "name": "b", "geometry": DISTRICT}]),
               tmp_path / "dup.geojson")
    point = save(frame([{"code": "310107", "name": "a", "geometry": Point(121.4, 31.2)}]),
                 tmp_path / "point.geojson")
    garbage = tmp_path / "garbage.gpkg"
    garbage.write_bytes(b"not a geopackage at all")
    big = district_file(tmp_path)
    cases = [
        ([str(csv_swapped)], {}, "declares no coordinate reference system"),
        ([str(csv_swapped), "--crs", "EPSG:4326"], {}, "look swapped"),
        ([str(dup)], {}, "appears more than once"),
        ([str(point)], {}, "Point is not allowed"),
        ([str(garbage)], {}, "cannot read garbage.gpkg"),
        ([str(tmp_path / "missing.geojson")], {}, "does not exist"),
        ([str(big)], {"GRIDMAP_MAX_UPLOAD_BYTES": "64"}, "over the limit of 64 bytes"),
    ]
    for args, extra_env, message in cases:
        proc = run_cli({**cli_env, **extra_env}, "import", "boundaries", "district", *args)
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        first = proc.stderr.splitlines()[0]
        assert first.startswith("error: ") and message in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
    assert db_counts(cli_env["DATABASE_URL"]) == (0, 0)


def test_import_report_is_json_serialisable(conn: Connection, tmp_path: Path) -> None:
    report = import_boundaries(conn, district_file(tmp_path), level="district")
    data = json.loads(json.dumps(report.as_dict()))
    assert data["inserted"] == 1 and data["region"] is not None


def test_cli_hierarchy_region_and_catalogue_problems_all_reported(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    seed = [("district", frame([{"code": "310107", "name": "普陀区", "geometry": DISTRICT}])),
            ("street", frame([{"code": "310107005", "name": "曹杨新村街道", "geometry": STREET}]))]
    for level, gdf in seed:
        proc = run_cli(cli_env, "import", "boundaries", level,
                       str(save(gdf, tmp_path / f"{level}.gpkg")))
        assert proc.returncode == 0, proc.stderr
    bad = save(frame([
        {"code": "310107005999", "name": "无此", "geometry": COMM_1},
        {"code": "310107005005", "name": "out", "geometry": box(121.41, 31.25, 121.43, 31.27)},
        {"code": "310107005006", "name": "x", "parent_code": "310107004", "geometry": COMM_3},
        {"code": "310107005007", "name": "far", "geometry": box(116.3, 39.9, 116.4, 40.0)},
        {"code": "310108001001", "name": "no street", "geometry": COMM_3},
    ]), tmp_path / "communities.gpkg")
    proc = run_cli(cli_env, "import", "boundaries", "community", str(bad))
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: community import refused: 6 problem(s)")
    lines = proc.stderr.splitlines()[1:]
    for row, text in [(1, "not in the division code catalogue"),
                      (2, "lies outside its parent street 310107005"),
                      (3, "does not match code"), (4, "outside the expected region"),
                      (5, "parent street 310108001 is not in the database"),
                      (5, "310108001001 is not in the division code catalogue")]:
        assert any(f"row {row}," in line and text in line for line in lines), (row, proc.stderr)
    engine = make_engine(cli_env["DATABASE_URL"], poolclass=sa.pool.NullPool)
    with engine.connect() as c:
        assert count(c, "community") == 0 and count(c, "import_run") == 2
    engine.dispose()


def test_validate_reports_without_writing(conn: Connection, tmp_path: Path) -> None:
    gdf = read_file(district_file(tmp_path), level="district")
    gdf.loc[0, "code"] = "31010"
    report = boundaries.validate(conn, gdf, level="district")
    assert [(p.row, p.field) for p in report.errors] == [(1, "code")]
    assert report.rows_valid == 0 and count(conn, "district") == 0


def test_terminal_progress_renders_stage_rows_and_rate(capsys: pytest.CaptureFixture[str]) -> None:
    from gridmap.cli.ingest import TerminalProgress

    progress = TerminalProgress(enabled=True)
    progress("load", 0, 10)
    progress("load", 10, 10)
    progress.close()
    err = capsys.readouterr().err
    assert "load: 10/10 rows" in err and "rows/s" in err
    silent = TerminalProgress(enabled=False)
    silent("load", 10, 10)
    assert capsys.readouterr().err == ""


def test_names_with_csv_special_characters_survive_the_bulk_load(conn: Connection) -> None:
    names = ['曹杨"一村", 东区', "两行\n名称", "back\\slash\ttab"]
    rows = frame([{"name": n, "geometry": box(121.40 + i * 0.001, 31.22, 121.4005 + i * 0.001,
                                               31.2205)} for i, n in enumerate(names)])
    assert import_boundaries(conn, rows, level="estate").inserted == 3
    stored = conn.execute(sa.text("SELECT name FROM estate ORDER BY id")).scalars().all()
    assert stored == names
