"""gridmap.crs against the published GCJ-02 vectors and the EPSG check values."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pyproj import Transformer

from gridmap import crs
from gridmap.errors import ValidationError
from tests.conftest import DATA_GEO

VECTORS = json.loads((DATA_GEO / "gcj02_test_vectors.json").read_text())


@pytest.mark.parametrize("vec", VECTORS["forward"], ids=lambda v: v["name"])
def test_wgs84_to_gcj02_matches_published_vectors(vec: dict) -> None:
    lon, lat = crs.wgs84_to_gcj02(np.array([vec["wgs84"]["lon"]]), np.array([vec["wgs84"]["lat"]]))
    tol = VECTORS["tolerances"]["forward_deg"]
    assert abs(lon[0] - vec["gcj02"]["lon"]) <= tol
    assert abs(lat[0] - vec["gcj02"]["lat"]) <= tol


@pytest.mark.parametrize("vec", VECTORS["forward"], ids=lambda v: v["name"])
def test_gcj02_iterative_inverse_recovers_wgs84(vec: dict) -> None:
    lon, lat = crs.gcj02_to_wgs84(np.array([vec["gcj02"]["lon"]]), np.array([vec["gcj02"]["lat"]]))
    tol = VECTORS["tolerances"]["iterative_inverse_deg"]
    assert abs(lon[0] - vec["wgs84"]["lon"]) <= tol
    assert abs(lat[0] - vec["wgs84"]["lat"]) <= tol


@pytest.mark.parametrize("vec", VECTORS["outside_box_unchanged"], ids=lambda v: v["name"])
def test_points_outside_china_are_unchanged(vec: dict) -> None:
    lon, lat = crs.wgs84_to_gcj02(np.array([vec["wgs84"]["lon"]]), np.array([vec["wgs84"]["lat"]]))
    assert lon[0] == vec["wgs84"]["lon"] and lat[0] == vec["wgs84"]["lat"]


def test_box_rule_shifts_singapore_as_documented() -> None:
    q = VECTORS["box_quirk"]
    lon, lat = crs.wgs84_to_gcj02(np.array([q["wgs84"]["lon"]]), np.array([q["wgs84"]["lat"]]))
    assert abs(lon[0] - q["gcj02_by_box_rule"]["lon"]) < 1e-9
    assert abs(lat[0] - q["gcj02_by_box_rule"]["lat"]) < 1e-9


@pytest.mark.parametrize("pt", VECTORS["bd09_from_gcj02"]["points"], ids=lambda v: v["name"])
def test_bd09_forward_and_back(pt: dict) -> None:
    lon, lat = crs.gcj02_to_bd09(np.array([pt["gcj02"]["lon"]]), np.array([pt["gcj02"]["lat"]]))
    assert abs(lon[0] - pt["bd09"]["lon"]) < 1e-9 and abs(lat[0] - pt["bd09"]["lat"]) < 1e-9
    glon, glat = crs.bd09_to_gcj02(lon, lat)
    # Approximate inverse: within 0.2 m (about 2e-6 degrees).
    assert abs(glon[0] - pt["gcj02"]["lon"]) < 2e-6 and abs(glat[0] - pt["gcj02"]["lat"]) < 2e-6


def test_to_wgs84_refuses_unknown_system() -> None:
    with pytest.raises(ValidationError, match="unknown coordinate system"):
        crs.to_wgs84(np.array([121.0]), np.array([31.0]), "mars")


def test_metric_crs_shanghai_is_gauss_kruger_cm120_and_matches_check_value() -> None:
    c = crs.metric_crs(121.46, 31.21, 121.49, 31.25)
    assert c.to_epsg() == 4549
    e, n = Transformer.from_crs(4490, c, always_xy=True).transform(121.4737, 31.2304)
    assert abs(e - 640412.315) < 0.01 and abs(n - 3457455.489) < 0.01


def test_metric_crs_outside_china_is_utm() -> None:
    assert crs.metric_crs(-74.014, 40.736, -73.99, 40.759).to_epsg() == 32618
    assert crs.metric_crs(151.1, -33.9, 151.3, -33.8).to_epsg() == 32756


def test_swapped_lat_lon_is_detected() -> None:
    flags = crs.looks_swapped(np.array([121.47, 31.23, 40.0]), np.array([31.23, 121.47, 100.0]))
    assert flags.tolist() == [False, True, True]
    region = (-74.02, 40.73, -73.98, 40.76)
    f2 = crs.looks_swapped_for_region(np.array([40.74, -74.0]), np.array([-74.0, 40.74]), region)
    assert f2.tolist() == [True, False]
