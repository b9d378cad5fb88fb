"""Basemap tile and label API: content type, gzip, ETag/304, cache headers, bad z/x/y → 400."""

from __future__ import annotations

import gzip

import pytest
import sqlalchemy as sa

from gridmap.db import make_engine
from tests.basemap.test_tiles import tile_of
from tests.fixtures import mvt
from tests.fixtures.web import login, seed_network

pytest_plugins = ["tests.fixtures.web"]


@pytest.fixture
def officer(client, web_db):
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        seed_network(conn)
    eng.dispose()
    return login(client, "officer")


def _url(z: int, lon: float = 116.4045, lat: float = 39.9055) -> str:
    x, y = tile_of(lon, lat, z)
    return f"/api/tiles/base/{z}/{x}/{y}.pbf"


def test_tile_needs_login(client) -> None:
    assert client.get(_url(17)).status_code == 401


def test_tile_gzip_etag_and_304(officer) -> None:
    r = officer.get(_url(17), headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.mimetype == "application/vnd.mapbox-vector-tile"
    assert r.headers["Content-Encoding"] == "gzip"
    assert r.headers["Cache-Control"] == "private, max-age=300"
    layers = mvt.read(gzip.decompress(r.data))
    assert {"roads", "buildings", "estates"} <= set(layers)
    etag = r.headers["ETag"]
    again = officer.get(_url(17), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    plain = officer.get(_url(17))
    assert "Content-Encoding" not in plain.headers and mvt.read(plain.data) == layers


def test_empty_and_low_zoom_tiles(officer) -> None:
    r = officer.get(_url(17, 0.5, 0.5))
    assert r.status_code == 200 and r.data == b""
    assert officer.get("/api/tiles/base/3/6/3.pbf").data == b""


@pytest.mark.parametrize("path", ["23/0/0", "5/32/0", "5/0/32", "0/1/1", f"17/{2**17}/{2**17}"])
def test_bad_tile_address_is_400_json(officer, path: str) -> None:
    r = officer.get(f"/api/tiles/base/{path}.pbf")
    assert r.status_code == 400
    assert r.get_json()["code"] == "basemap.bad_tile"
    r = officer.get(f"/api/tiles/base/{path}.pbf", headers={"If-None-Match": '"base-1"'})
    assert r.status_code == 400


def test_labels(officer) -> None:
    r = officer.get("/api/tiles/base/labels?bbox=116.400,39.900,116.412,39.912&zoom=17")
    assert r.status_code == 200
    names = {lb["name"] for lb in r.get_json()["labels"]}
    assert {"甲小区", "测试路2"} <= names
    bad = officer.get("/api/tiles/base/labels?bbox=116.5,39.9,116.4,39.8&zoom=17")
    assert bad.status_code == 400
    assert officer.get("/api/tiles/base/labels?zoom=17").status_code == 400
