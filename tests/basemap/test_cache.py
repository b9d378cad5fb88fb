"""Tile cache: a second request is served from the cache; an import invalidates it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.basemap import cache
from tests.basemap.test_tiles import tile_of
from tests.fixtures import mvt
from tests.fixtures.web import seed_district, seed_network


def test_cached_then_invalidated_by_an_import(conn: Connection) -> None:
    seed_district(conn)
    seed_network(conn)
    x, y = tile_of(116.4045, 39.9055, 17)
    first = cache.cached_tile(conn, 17, x, y)
    assert first.cached is False and first.data
    second = cache.cached_tile(conn, 17, x, y)
    assert second.cached is True and second.data == first.data
    assert second.generation == cache.generation(conn)
    # a road import changes the data: the generation moves on and the tile is drawn again
    conn.execute(sa.text(
        "INSERT INTO osm_line (id, osm_id, highway, name, geom) VALUES (999, 'w999', 'primary',"
        " '新大街', 'SRID=4326;LINESTRING(116.4035 39.9050, 116.4060 39.9060)')"))
    assert cache.generation(conn) == first.generation + 1
    third = cache.cached_tile(conn, 17, x, y)
    assert third.cached is False
    assert "新大街" in mvt.read(third.data)["roads"]["strings"]
    assert cache.cached_tile(conn, 17, x, y).cached is True


def test_low_zoom_tiles_are_not_stored(conn: Connection) -> None:
    assert cache.cached_tile(conn, 5, 26, 12).data == b""
    assert conn.execute(sa.text("SELECT count(*) FROM basemap_tile WHERE z = 5")).scalar() == 0
    assert cache.clear(conn) >= 0
