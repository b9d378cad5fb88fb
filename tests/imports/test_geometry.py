"""Geometry repair shared by every importer: repaired, dropped and refused rows."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box

from gridmap.imports.geometry import REPAIRED, repair_geometries
from tests.fixtures.boundary_world import BOWTIE


def test_repair_geometries_repairs_drops_and_refuses_with_rows() -> None:
    flat = Polygon([(0, 0), (1, 0), (2, 0), (0, 0)])
    gdf = gpd.GeoDataFrame({"_row": [10, 11, 12, 13, 14]},
                           geometry=[box(0, 0, 1, 1), BOWTIE, flat, Point(0, 0), None], crs=4326)
    out, problems = repair_geometries(gdf)
    assert list(out["_row"]) == [10, 11]
    assert all(g.geom_type == "MultiPolygon" and g.is_valid for g in out.geometry)
    # the bow-tie keeps both triangles
    assert out.geometry.iloc[1].area == pytest.approx(2 * 0.5 * 0.01 * 0.005, rel=1e-6)
    by_row = {p.row: (p.severity, p.reason) for p in problems}
    assert by_row[11][0] == "warning" and "make_valid" in by_row[11][1]
    assert [p.row for p in problems if p.code == REPAIRED] == [11]
    assert by_row[12][0] == "warning" and "degenerate" in by_row[12][1]
    assert by_row[13][0] == "error" and "Point" in by_row[13][1]
    assert by_row[14][0] == "error" and "missing" in by_row[14][1]
    assert 10 not in by_row


def test_repair_geometries_keeps_polygons_of_a_collection() -> None:
    mixed = shapely.GeometryCollection([box(0, 0, 1, 1), shapely.LineString([(5, 5), (6, 6)])])
    out, problems = repair_geometries(gpd.GeoDataFrame(geometry=[mixed], crs=4326))
    assert problems == []
    assert out.geometry.iloc[0].equals(MultiPolygon([box(0, 0, 1, 1)]))
