"""Water and green areas in the OSM import and the basemap tiles (issue #16): a tiny OSM
file with a lake, a riverbank, a park, a lawn, a wood and a river."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.basemap import cache, labels, tiles
from gridmap.imports import osm
from gridmap.imports.osm.landcover import area_kinds, zh_first_name
from tests.basemap.test_tiles import tile_of
from tests.fixtures import mvt

LON, LAT = 116.3050, 39.9920
_D = 0.0008


def _way(wid: int, first_node: int, box: tuple[float, float, float, float] | None,
         line: list[tuple[float, float]] | None, tags: dict[str, str]) -> tuple[str, str]:
    pts = line or [(box[0], box[1]), (box[2], box[1]), (box[2], box[3]),  # type: ignore[index]
                   (box[0], box[3])]
    nodes = "".join(f'<node id="{first_node + i}" version="1" lat="{la:.7f}" lon="{lo:.7f}"/>'
                    for i, (lo, la) in enumerate(pts))
    refs = [first_node + i for i in range(len(pts))] + ([first_node] if box else [])
    body = "".join(f'<nd ref="{r}"/>' for r in refs) + "".join(
        f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
    return nodes, f'<way id="{wid}" version="1">{body}</way>'


def _box(i: int) -> tuple[float, float, float, float]:
    x = LON + i * 2 * _D
    return (x, LAT, x + _D, LAT + _D)


@pytest.fixture
def osm_file(tmp_path: Path) -> Path:
    parts = [
        _way(1, 100, _box(0), None, {"natural": "water", "name": "未名湖"}),
        _way(2, 110, _box(1), None, {"waterway": "riverbank"}),
        _way(3, 120, _box(2), None, {"leisure": "park", "name": "海淀公园"}),
        _way(4, 130, _box(3), None, {"landuse": "grass"}),
        _way(5, 140, _box(4), None, {"landuse": "forest"}),
        _way(6, 150, _box(5), None, {"landuse": "retail"}),  # neither water nor green
        _way(7, 160, None, [(LON, LAT - _D), (LON + 10 * _D, LAT - _D)],
             {"waterway": "river", "name": "万泉河"}),
        _way(8, 170, None, [(LON, LAT - 2 * _D), (LON + 10 * _D, LAT - 2 * _D)],
             {"highway": "residential", "name": "颐和园路"}),
    ]
    text = ('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">'
            + "".join(p[0] for p in parts) + "".join(p[1] for p in parts) + "</osm>")
    path = tmp_path / "tiny.osm"
    path.write_text(text, encoding="utf-8")
    return path


def test_area_kinds_first_rule_wins() -> None:
    tags = pd.DataFrame({"natural": ["water", None, "wood", None, None],
                         "leisure": [None, "park", None, "pitch", None],
                         "landuse": ["grass", None, None, None, "retail"],
                         "water": [None, None, None, None, None],
                         "waterway": [None] * 5})
    assert list(area_kinds(tags)) == ["water", "park", "wood", "grass", None]


def test_chinese_name_first() -> None:
    tags = pd.DataFrame({"name": ["Kunming Lake", "未名湖", None],
                         "name:zh": ["昆明湖", None, None]})
    assert zh_first_name(tags) == ["昆明湖", "未名湖", None]


def test_import_keeps_water_and_green_and_the_tile_draws_them(conn: Connection,
                                                              osm_file: Path) -> None:
    gen = cache.generation(conn)
    report = osm.import_osm(conn, osm_file)
    assert report.inserted["landcover"] == 5 and report.inserted["waterway"] == 1
    kinds = dict(conn.execute(sa.text(
        "SELECT osm_id, kind FROM landcover WHERE import_id = :i"),
        {"i": report.import_id}).all())
    assert kinds == {"way/1": "water", "way/2": "water", "way/3": "park", "way/4": "grass",
                     "way/5": "wood"}
    assert cache.generation(conn) > gen  # cached tiles are drawn again

    x, y = tile_of(LON + 5 * _D, LAT, 14)  # one tile holds the whole file
    layers = mvt.read(tiles.tile(conn, 14, x, y))
    assert "未名湖" in layers["water"]["strings"] and layers["water"]["features"] == 2
    assert {"park", "grass", "wood"} <= set(layers["green"]["strings"])
    assert "万泉河" in layers["waterways"]["strings"]
    order = [k for k in layers if k in tiles.LAYERS]
    assert order.index("green") < order.index("roads") and order.index("water") < order.index(
        "roads")
    # at zoom 12 rivers, parks, woods and lakes show; lawns not yet
    x, y = tile_of(LON + 5 * _D, LAT, 12)
    low = mvt.read(tiles.tile(conn, 12, x, y))
    assert "grass" not in low["green"]["strings"] and "park" in low["green"]["strings"]
    assert "water" in low and "waterways" in low

    again = osm.import_osm(conn, osm_file)
    assert again.inserted["landcover"] == 0 and again.skipped_existing["landcover"] == 5


def test_lake_and_park_names_are_labels_from_zoom_15(conn: Connection, osm_file: Path) -> None:
    osm.import_osm(conn, osm_file)
    bbox = (LON - _D, LAT - 3 * _D, LON + 12 * _D, LAT + 2 * _D)
    conn.execute(sa.text(  # a second polygon of the same park: still one label
        "INSERT INTO landcover (osm_id, kind, name, geom) SELECT 'x/2', kind, name,"
        " ST_Multi(ST_Translate(geom, 0, 0.0002)) FROM landcover WHERE name = '海淀公园'"))
    found = [(lb.kind, lb.name) for lb in labels.labels(conn, bbox, 15)]
    assert {("water", "未名湖"), ("park", "海淀公园")} <= set(found)
    assert found.count(("park", "海淀公园")) == 1
    assert not {k for k, _ in labels.labels(conn, bbox, 14)} & {"water", "park"}
