"""``gridmap import facilities``: an Amap-style POI export (GCJ-02, Amap types, Chinese
headers; UTF-8, GB18030 and XLSX) matched through the catalogue's amap_types and name hints,
de-duplicated against OSM facilities, provenance kept per row."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import crs as gcrs
from gridmap.errors import ValidationError
from gridmap.imports import osm
from gridmap.imports.layers.facilities import FacilityImportParams, import_facilities
from tests.fixtures import office_layers as world

AMAP = FacilityImportParams(source="高德POI导出 2025-06", licence="高德开放平台服务条款",
                            coords="gcj02")


def _facilities(conn: Connection) -> int:
    return int(conn.execute(sa.text("SELECT count(*) FROM facility")).scalar_one())


@pytest.mark.parametrize("variant", ["utf8-bom", "gb18030", "xlsx"])
def test_amap_export_in_every_encoding(conn: Connection, tmp_path: Path, variant: str) -> None:
    pois = world.amap_pois()
    if variant == "xlsx":
        path = tmp_path / "poi.xlsx"
        pois.to_excel(path, index=False)
    else:
        path = tmp_path / "poi.csv"
        pois.to_csv(path, index=False, encoding="utf-8-sig" if variant == "utf8-bom"
                    else "gb18030")
    rep = import_facilities(conn, path, params=AMAP)
    assert rep.rows_read == len(pois)
    assert rep.counts["kindergarten"] >= 1 and rep.counts["convenience_store"] >= 10
    assert rep.counts["nursery"] == 1  # 托育: no Amap category, found by its name
    # what OSM lacks: by type and name hint, never by the generic restaurant type
    assert rep.counts["community_health_station"] == 1 and "community_health_centre" not in (
        rep.counts)
    assert rep.counts["elderly_day_care"] == 1 and rep.counts["community_canteen"] == 1
    assert rep.unmatched["金融保险服务;银行;银行"] >= 1
    row = conn.execute(sa.text(
        """SELECT source, licence, ext_id, ST_X(location), ST_Y(location) FROM facility
           WHERE import_id = :i AND name = '学清路社区卫生服务站'"""),
        {"i": rep.import_id}).one()
    assert row[0] == "poi:高德POI导出 2025-06" and row[1] == "高德开放平台服务条款"
    assert row[2] == "B0X0"
    # stored in WGS84: the GCJ-02 offset (hundreds of metres) is removed
    assert abs(row[3] - 116.3512) < 1e-5 and abs(row[4] - 40.0021) < 1e-5


def test_duplicates_of_osm_facilities_are_reported_and_reruns_add_nothing(
        conn: Connection, tmp_path: Path) -> None:
    osm.import_osm(conn, world.CAU)
    path = tmp_path / "poi.csv"
    world.amap_pois().to_csv(path, index=False, encoding="gb18030")
    rep = import_facilities(conn, path, params=AMAP)
    dups = {k: v for k, v in rep.counts.items() if k.startswith("duplicate:")}
    assert dups.get("duplicate:convenience_store", 0) >= 10  # same shops as in OSM
    assert all(p.code == "layers.poi_duplicate" and p.params["distance"] <= 30
               for p in rep.warnings if p.code == "layers.poi_duplicate")
    assert rep.counts["elderly_day_care"] == 1
    before = _facilities(conn)
    again = import_facilities(conn, path, params=AMAP)
    assert again.inserted == 0 and again.unchanged == rep.inserted
    assert _facilities(conn) == before
    # wider de-duplication distance: more duplicates, never an OSM row labelled as POI
    assert conn.execute(sa.text(
        "SELECT count(*) FROM facility WHERE source LIKE 'poi:%' AND osm_id IS NOT NULL"
    )).scalar_one() == 0


def test_explicit_mapping_of_amap_codes(conn: Connection, tmp_path: Path) -> None:
    pois = world.amap_pois().drop(columns=["类型"])
    path = tmp_path / "codes.csv"
    pois.to_csv(path, index=False)
    rep = import_facilities(conn, path, params=AMAP)
    # codes need a mapping; only the types found by name alone (养老, 托育, 食堂) match
    assert rep.unmatched["060200"] >= 10
    assert set(rep.counts) == {"elderly_day_care", "nursery", "community_canteen"}
    profile = tmp_path / "amap.yaml"
    profile.write_text("name: amap-codes\ncoords: gcj02\nvalues:\n  typecode:\n"
                       "    '060200': convenience_store\n    '141204': kindergarten\n",
                       encoding="utf-8")
    rep = import_facilities(conn, path, profile=str(profile), params=FacilityImportParams(
        source="amap-codes", licence="terms"))
    assert rep.counts["convenience_store"] >= 10 and rep.counts["kindergarten"] >= 1


def test_bad_rows_and_an_osm_label_refuse_the_file(conn: Connection, tmp_path: Path) -> None:
    pois = world.amap_pois()
    pois.loc[2, "经纬度"] = "abc,40.0"
    pois.loc[5, "经纬度"] = "2.35,48.85"  # Paris is outside the GCJ-02 box
    path = tmp_path / "bad.csv"
    pois.to_csv(path, index=False)
    before = _facilities(conn)
    with pytest.raises(ValidationError) as err:
        import_facilities(conn, path, params=FacilityImportParams(
            source="OpenStreetMap 导出", coords="gcj02"))
    found = sorted((p.row or 0, p.code) for p in err.value.problems
                   if p.severity == "error")
    assert found == [(0, "layers.poi_labelled_osm"), (3, "layers.poi_bad_coordinates"),
                     (6, "layers.poi_bad_coordinates")]
    assert _facilities(conn) == before


def test_cli_dry_run(cli_env: dict[str, str], tmp_path: Path) -> None:
    gridmap = [str(Path(sys.executable).parent / "gridmap")]
    path = tmp_path / "poi.csv"
    world.amap_pois().to_csv(path, index=False, encoding="gb18030")
    out = subprocess.run([*gridmap, "import", "facilities", str(path), "--coords", "gcj02",
                          "--source", "高德", "--licence", "terms", "--dry-run"],
                         env=cli_env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "dry run of facilities" in out.stdout and "matched nothing" in out.stdout
    assert gcrs.in_china(116.35, 40.0)


def test_capacity_column_places_and_beds(conn: Connection, tmp_path: Path) -> None:
    # 床位/学位 (issue #17, 2SFCA): imported as facility.capacity; a bad cell is a problem of
    # its row; a re-import of the same source updates the capacity of the rows it has
    pois = world.amap_pois()
    day_care = pois.index[pois["名称"] == "东升镇社区养老服务驿站"][0]  # elderly day care
    pois["床位数"] = ""
    pois.loc[day_care, "床位数"] = "35"
    path = tmp_path / "beds.csv"
    pois.to_csv(path, index=False)
    rep = import_facilities(conn, path, params=AMAP)
    cap = "SELECT capacity FROM facility WHERE import_id = :i AND type_code = 'elderly_day_care'"
    assert conn.execute(sa.text(cap), {"i": rep.import_id}).scalar_one() == 35
    pois.loc[day_care, "床位数"] = "40"
    pois.to_csv(path, index=False)
    import_facilities(conn, path, params=AMAP)
    assert conn.execute(sa.text(cap), {"i": rep.import_id}).scalar_one() == 40
    pois.loc[day_care, "床位数"] = "很多"
    pois.to_csv(path, index=False)
    with pytest.raises(ValidationError) as err:
        import_facilities(conn, path, params=AMAP)
    assert [p.field for p in err.value.problems if p.severity == "error"] == ["capacity"]
