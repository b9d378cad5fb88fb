"""OSM import fixes on real data (issue #15 item 10): files recognised by content, the read
line, reasons of dropped lines, readable names of unnamed estates, street blocks that stay a
partition when a larger extract updates a smaller one, idempotent re-runs."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError
from gridmap.imports import osm
from gridmap.imports.osm import names
from gridmap.imports.osm.read import decode_geometries
from tests.conftest import SHARED_GEO

CAU = SHARED_GEO / "beijing-haidian-osm" / "beijing_cau_qinghuadonglu_2026.osm"
PKU = SHARED_GEO / "beijing-haidian-osm" / "beijing_pku_tsinghua_2017.osm"
TABLES = ("osm_line", "building", "estate", "street_block", "facility")


def _counts(conn: Connection) -> dict[str, int]:
    return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()  # noqa: S608
            for t in TABLES}


def clip_osm(src: Path, dst: Path, max_lon: float) -> None:
    """An OSM API-style extract of ``src`` west of ``max_lon``: the nodes there, every way
    with a node there (complete, as the API hands them out), relations left out."""
    tree = ET.parse(src)
    root = tree.getroot()
    inside = {n.get("id") for n in root.iter("node") if float(n.get("lon", "0")) < max_lon}
    ways = [w for w in root.findall("way")
            if any(nd.get("ref") in inside for nd in w.findall("nd"))]
    needed = {nd.get("ref") for w in ways for nd in w.findall("nd")} | inside
    for el in list(root):
        if el.tag == "relation" or (el.tag == "way" and el not in ways) or (
                el.tag == "node" and el.get("id") not in needed):
            root.remove(el)
    tree.write(dst, encoding="utf-8", xml_declaration=True)


def _overlapping_blocks(conn: Connection) -> tuple[int, float]:
    return tuple(conn.execute(sa.text(
        """SELECT count(*), coalesce(sum(ST_Area(ST_Intersection(a.geom, b.geom)::geography)), 0)
           FROM street_block a JOIN street_block b
             ON a.id < b.id AND a.geom && b.geom AND ST_Intersects(a.geom, b.geom)
           WHERE ST_Area(ST_Intersection(a.geom, b.geom)::geography) > 1""")).one())


def test_osm_xml_named_anything_is_read_by_content(conn: Connection, tmp_path: Path) -> None:
    xml = tmp_path / "map.osm.xml"  # the name of a raw openstreetmap.org export
    shutil.copy(CAU, xml)
    report = osm.import_osm(conn, xml)
    assert report.inserted["building"] == 257
    # the read line counts what the file holds (before anything is dropped)
    assert report.read["lines"] >= report.inserted["osm_line"] == 302
    assert "before dropping" in report.lines()[1]


def test_file_without_osm_content_is_refused_whatever_its_name(
        conn: Connection, tmp_path: Path) -> None:
    before = _counts(conn)
    fake = tmp_path / "roads.osm.pbf"
    fake.write_text("name,lon,lat\n学清路,116.35,40.0\n", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        osm.import_osm(conn, fake)
    assert [p.code for p in err.value.problems] == ["layers.osm_not_osm"]
    assert "neither OSM XML nor OSM PBF" in str(err.value.problems[0])
    assert _counts(conn) == before


def test_dropped_lines_get_a_line_reason() -> None:
    one_point = shapely.to_wkb(shapely.linestrings([[0, 0], [0, 0]]))
    broken = one_point[:-8]  # truncated WKB: GDAL hands such lines over at the clip edge
    _geoms, _rep, dropped = decode_geometries(
        np.array([broken, one_point], dtype=object), np.array(["way/1", "way/2"]), "lines")
    reasons = {d["osm_id"]: d["reason"] for d in dropped}
    assert "line" in reasons["way/1"] and "ring" not in reasons["way/1"]
    assert "line" in reasons["way/2"] and "area" not in reasons["way/2"]


def test_unnamed_estates_get_readable_names(conn: Connection) -> None:
    report = osm.import_osm(conn, CAU)
    rows = conn.execute(sa.text(
        "SELECT name, name_source, derived_from FROM estate WHERE import_id = :i"),
        {"i": report.import_id}).all()
    assert not [r for r in rows if r.name.startswith(("住宅区 ", "街坊 "))]
    by_source = {r.name_source for r in rows}
    assert {"osm", "road", "building"} <= by_source
    road = next(r.name for r in rows if r.name_source == "road")
    assert road.endswith("街坊") and "学清路以东" in road  # the landuse east of 学清路
    assert ("学生公寓", "building", "street_block") in [tuple(r) for r in rows]


def test_name_rules() -> None:
    assert names.strip_building_number("双泉嘉苑3号楼") == "双泉嘉苑"
    assert names.strip_building_number("静淑苑 12栋2单元") == "静淑苑"
    assert names.strip_building_number("1号楼") == ""
    assert names.strip_building_number("第一教学楼") == "第一教学楼"
    assert names.strip_gate("富润家园北门") == "富润家园"
    assert names.strip_gate("南门") == ""
    a = shapely.box(0, 100, 50, 150)  # north-east of two roads
    roads = {"学清路": shapely.LineString([(-10, 50), (200, 50)]),
             "清华东路": shapely.LineString([(-20, -10), (-20, 300)])}
    out = names._numbered(["x", "x", None, "y"])
    assert out == ["x", "x 2", None, "y"]
    sides = [names._side(*d) for d in ((0, 10), (0, -10), (10, 0), (-10, 0))]
    assert sides == ["北", "南", "东", "西"]
    assert a.centroid.y > roads["学清路"].coords[0][1]


def test_update_from_a_larger_extract_keeps_blocks_a_partition(
        conn: Connection, tmp_path: Path) -> None:
    small = tmp_path / "west.osm"
    clip_osm(PKU, small, 116.3200)
    first = osm.import_osm(conn, small)
    assert first.inserted["street_block"] > 5
    assert _overlapping_blocks(conn)[0] == 0
    left_alone = osm.import_osm(conn, PKU)  # without --update: overlapping faces left out
    assert _overlapping_blocks(conn)[0] == 0
    assert any("--update rebuilds them" in n for n in left_alone.notes)
    update = osm.import_osm(conn, PKU, params=osm.OsmImportParams(update_existing=True))
    assert update.updated.get("street_block", 0) > 0
    assert _overlapping_blocks(conn) == (0, 0)
    again = osm.import_osm(conn, PKU, params=osm.OsmImportParams(update_existing=True))
    assert all(v == 0 for v in again.inserted.values())
    assert not any(again.updated.values())


def test_reimport_adds_nothing_on_the_shared_database(conn: Connection) -> None:
    # the leftover of the earlier version: a second run on the shared test database (after
    # rolled-back imports of other tests) added street blocks; blocks now match by overlap
    osm.import_osm(conn, PKU)
    before = _counts(conn)
    again = osm.import_osm(conn, PKU)
    assert _counts(conn) == before
    assert all(v == 0 for v in again.inserted.values())


def test_osm_rows_carry_their_source_and_licence(conn: Connection) -> None:
    report = osm.import_osm(conn, CAU)
    lic = conn.execute(sa.text("SELECT DISTINCT licence FROM facility WHERE import_id = :i"),
                       {"i": report.import_id}).scalars().all()
    assert lic == ["ODbL 1.0"]
    src = conn.execute(sa.text("SELECT DISTINCT source FROM osm_line WHERE import_id = :i"),
                       {"i": report.import_id}).scalars().all()
    assert src == [f"osm:{CAU.name}"]
