"""Reading boundary files: every format, CRSs, GCJ-02, layers, and unusable files refused."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import Point, box

from gridmap import crs as gcrs
from gridmap.errors import InputTooLarge, ValidationError
from gridmap.imports import boundaries
from gridmap.imports.boundaries import read_file
from tests.fixtures.boundary_world import (
    DISTRICT,
    district_file,
    frame,
    save,
)


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


def test_read_csv_saved_by_a_chinese_excel(tmp_path: Path) -> None:
    """GB18030 with ';' separators (a European-locale or hand-edited export) reads too."""
    path = tmp_path / "街道.csv"
    path.write_bytes(f"code;name;wkt\n310107;普陀区;{DISTRICT.wkt}\n".encode("gb18030"))
    out = read_file(path, level="district", crs="EPSG:4326")
    assert out.loc[0, "name"] == "普陀区" and out.geometry.iloc[0].equals(DISTRICT)


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
