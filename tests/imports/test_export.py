"""Export: GeoPackage/GeoJSON in EPSG:4326 with codes and names, and the round trip
export → import into a fresh database giving the same rows."""

from __future__ import annotations

import subprocess
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
import sqlalchemy as sa
from shapely.geometry import Point, box
from sqlalchemy.engine import Connection

from gridmap.db import make_engine
from gridmap.errors import ValidationError
from gridmap.imports.boundaries import import_boundaries
from gridmap.imports.export import export_level, read_level
from tests.conftest import REPO
from tests.fixtures.boundary_world import COMM_1, COMM_3, DISTRICT, STREET, frame

GRIDMAP = str(REPO / ".venv" / "bin" / "gridmap")
# a non-rectangular community with a hole, to make the geometry comparison meaningful
COMM_HOLE = shapely.Polygon(
    [(121.4, 31.24), (121.42, 31.24), (121.42, 31.2583333333), (121.4012345678, 31.26)],
    holes=[[(121.405, 31.245), (121.41, 31.245), (121.41, 31.25), (121.405, 31.245)]])
LEVEL_ORDER = ("district", "street", "community", "estate", "building")


def load_sample(conn: Connection) -> None:
    import_boundaries(conn, frame([{"code": "310107", "name": "普陀区", "geometry": DISTRICT}]),
                      level="district")
    import_boundaries(conn, frame([{"code": "310107005", "name": "曹杨新村街道",
                                    "geometry": STREET}]), level="street")
    import_boundaries(conn, frame([
        {"code": "310107005001", "name": "源园居委会", "geometry": COMM_1},
        {"code": "310107005003", "name": "花溪园居委会", "geometry": COMM_3},
        {"code": "310107005004", "name": "金岭园居委会", "geometry": COMM_HOLE},
    ]), level="community")
    import_boundaries(conn, frame([{"name": "曹杨一村", "geometry": box(121.401, 31.225,
                                                                       121.41, 31.235)}]),
                      level="estate")
    import_boundaries(conn, frame([
        {"code": "B1", "name": "1号楼", "households": 24, "residents": 60, "levels": 6,
         "geometry": box(121.401, 31.226, 121.4012, 31.2262)},
        {"code": "B2", "geometry": box(121.385, 31.226, 121.3852, 31.2262)},
    ]), level="building")


def same_geometries(a: gpd.GeoSeries, b: gpd.GeoSeries) -> bool:
    return bool(shapely.equals_exact(shapely.normalize(a.values), shapely.normalize(b.values),
                                     tolerance=1e-9).all())


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson"])
def test_round_trip_into_a_fresh_database(
    conn: Connection, fresh_db_url: str, tmp_path: Path, suffix: str
) -> None:
    load_sample(conn)
    files = {}
    for level in LEVEL_ORDER:
        files[level] = tmp_path / f"{level}{suffix}"
        assert export_level(conn, level, files[level]) == len(read_level(conn, level))
    engine = make_engine(fresh_db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as target:
            for level in LEVEL_ORDER:
                report = import_boundaries(target, files[level], level=level)
                assert report.errors == [] and report.dropped == 0
        with engine.connect() as target:
            for level in LEVEL_ORDER:
                before, after = read_level(conn, level), read_level(target, level)
                keys = ["code", "name"] + {
                    "street": ["parent_code"], "community": ["parent_code"],
                    "estate": ["community_code"],
                    "building": ["estate_name", "community_code", "households", "residents",
                                 "levels", "population_source"]}.get(level, [])
                assert before[keys].astype(object).fillna("").values.tolist() == \
                    after[keys].astype(object).fillna("").values.tolist(), level
                assert same_geometries(before.geometry, after.geometry), level
    finally:
        engine.dispose()


def test_export_grid_and_facility_layers(conn: Connection, tmp_path: Path) -> None:
    load_sample(conn)
    comm = conn.execute(sa.text("SELECT id FROM community WHERE code = '310107005001'")).scalar()
    grid_id = conn.execute(sa.text(
        "INSERT INTO grid (community_id, grid_seq, grid_code, name, responsible_party)"
        " VALUES (:c, 1, '310107005001001', '一网格', '张三') RETURNING id"), {"c": comm}).scalar()
    for generation, status, geom in ((1, "retired", COMM_3), (2, "active", COMM_1)):
        version = conn.execute(sa.text(
            "INSERT INTO grid_version (community_id, generation, status) VALUES (:c, :g, :s)"
            " RETURNING id"), {"c": comm, "g": generation, "s": status}).scalar()
        conn.execute(sa.text(
            "INSERT INTO grid_geometry (version_id, grid_id, geom)"
            " VALUES (:v, :g, ST_Multi(ST_GeomFromText(:wkt, 4326)))"),
            {"v": version, "g": grid_id, "wkt": geom.wkt})
    out = tmp_path / "grid.gpkg"
    assert export_level(conn, "grid", out) == 1
    grids = gpd.read_file(out, layer="grid")
    assert grids.loc[0, "code"] == "310107005001001"
    assert grids.loc[0, "community_code"] == "310107005001"
    assert grids.loc[0, "responsible_party"] == "张三"
    assert shapely.equals_exact(shapely.normalize(grids.geometry.iloc[0]),
                                shapely.normalize(shapely.MultiPolygon([COMM_1])), 1e-9)

    type_code = conn.execute(sa.text("SELECT code FROM facility_type ORDER BY code LIMIT 1")
                             ).scalar_one()
    for geom in (Point(121.39, 31.23), box(121.391, 31.231, 121.392, 31.232)):
        conn.execute(sa.text(
            "INSERT INTO facility (type_code, name, geom, location) VALUES (:t, '站点',"
            " ST_GeomFromText(:wkt, 4326), ST_PointOnSurface(ST_GeomFromText(:wkt, 4326)))"),
            {"t": type_code, "wkt": geom.wkt})
    out = tmp_path / "facility.geojson"
    assert export_level(conn, "facility", out) == 2
    facilities = gpd.read_file(out)
    assert list(facilities["type_code"]) == [type_code, type_code]
    assert sorted(facilities.geom_type) == ["Point", "Polygon"]


def test_export_empty_level_and_overwrite(conn: Connection, tmp_path: Path) -> None:
    out = tmp_path / "estate.gpkg"
    assert export_level(conn, "estate", out) == 0
    info = pyogrio.read_info(out, layer="estate")
    assert info["features"] == 0 and info["crs"] == "EPSG:4326"
    load_sample(conn)
    assert export_level(conn, "estate", out) == 1  # replaces the file, no second layer
    assert [name for name, _ in pyogrio.list_layers(out)] == ["estate"]
    assert list(tmp_path.iterdir()) == [out]  # no temporary files left behind


def test_export_refuses_bad_targets(conn: Connection, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="unsupported export format"):
        export_level(conn, "district", tmp_path / "x.shp")
    with pytest.raises(ValidationError, match="unknown level"):
        export_level(conn, "province", tmp_path / "x.gpkg")
    with pytest.raises(ValidationError, match="does not exist"):
        export_level(conn, "district", tmp_path / "no" / "x.gpkg")


def test_cli_export_writes_a_standard_geopackage(cli_env: dict[str, str], tmp_path: Path) -> None:
    src = tmp_path / "d.geojson"
    frame([{"code": "310107", "name": "普陀区", "geometry": DISTRICT}]).to_file(src)
    run = [GRIDMAP, "import", "boundaries", "district", str(src)]
    assert subprocess.run(run, env=cli_env, capture_output=True, timeout=120).returncode == 0
    out = tmp_path / "district.gpkg"
    proc = subprocess.run([GRIDMAP, "export", "district", str(out)], env=cli_env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "exported 1 district" in proc.stdout
    info = pyogrio.read_info(out, layer="district")
    assert info["crs"] == "EPSG:4326" and info["geometry_type"] == "MultiPolygon"
    assert info["driver"] == "GPKG" and {"code", "name"} <= set(info["fields"])
    bad = subprocess.run([GRIDMAP, "export", "district", str(tmp_path / "d.txt")], env=cli_env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and bad.stderr.startswith("error: unsupported export format")
