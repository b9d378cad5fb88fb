"""Basemap vector tiles on the small test district (roads, estates, buildings, communities)."""

from __future__ import annotations

import math
import time

import pytest
from sqlalchemy.engine import Connection

from gridmap.basemap import tiles
from gridmap.errors import ValidationError
from tests.fixtures import mvt
from tests.fixtures.web import seed_district, seed_network


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


@pytest.fixture
def district(conn: Connection) -> Connection:
    seed_district(conn)
    seed_network(conn)
    return conn


def test_tile_at_zoom_17_has_roads_buildings_estates(district: Connection) -> None:
    x, y = tile_of(116.4045, 39.9055, 17)
    layers = mvt.read(tiles.tile(district, 17, x, y))
    assert {"roads", "buildings", "estates"} <= set(layers)
    assert layers["buildings"]["features"] >= 1
    assert "甲小区" in layers["estates"]["strings"]
    assert layers["roads"]["features"] >= 1
    assert "minor" in layers["roads"]["strings"]  # residential → class minor
    assert any(s.startswith("测试路") for s in layers["roads"]["strings"])


def test_zoom_decides_layers(district: Connection) -> None:
    x, y = tile_of(116.4045, 39.9055, 12)
    layers = mvt.read(tiles.tile(district, 12, x, y))
    assert "buildings" not in layers and "estates" not in layers
    assert "roads" not in layers  # residential roads only from zoom 13
    assert "communities" in layers
    x, y = tile_of(116.4045, 39.9055, 14)
    assert "buildings" in mvt.read(tiles.tile(district, 14, x, y))


def test_empty_tile_is_empty_and_fast(district: Connection) -> None:
    x, y = tile_of(0.5, 0.5, 17)  # the Gulf of Guinea
    t0 = time.perf_counter()
    assert tiles.tile(district, 17, x, y) == b""
    assert time.perf_counter() - t0 < 0.5
    assert tiles.tile(district, 3, 6, 3) == b""  # below the basemap's zoom: no query


def test_bad_tile_address_lists_every_problem(district: Connection) -> None:
    with pytest.raises(ValidationError) as err:
        tiles.tile(district, 5, 32, -1)
    assert err.value.code == "basemap.bad_tile"
    assert {p.field for p in err.value.problems} == {"x", "y"}
    with pytest.raises(ValidationError) as err:
        tiles.tile(district, 23, 0, 0)
    assert [p.field for p in err.value.problems] == ["z"]
