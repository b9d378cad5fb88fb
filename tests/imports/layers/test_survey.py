"""``gridmap import buildings|streets|estates``: survey layers of any format and CRS, merged
with OSM (by key or within the file's extent), idempotent, all-or-nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError
from gridmap.imports import osm
from gridmap.imports.layers.report import LayerImportParams
from gridmap.imports.layers.survey import import_layer
from tests.fixtures import office_layers as world

TABLES = ("building", "estate", "osm_line", "import_run")


def _counts(conn: Connection) -> dict[str, int]:
    return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()  # noqa: S608
            for t in TABLES}


def test_cgcs2000_gpkg_buildings_with_floors_and_households(
        conn: Connection, tmp_path: Path) -> None:
    survey = world.survey_buildings()
    gpkg = world.write_gpkg(survey, tmp_path / "haidian.gpkg", "房屋")
    rep = import_layer(conn, gpkg, "buildings", params=LayerImportParams(
        source="海淀区测绘院 2025", population_date=None))
    assert rep.inserted == len(survey) > 250 and rep.source_crs == "EPSG:4548"
    residential = int((survey["用途"] == "住宅").sum())
    assert rep.counts["official"] == residential
    row = conn.execute(sa.text(
        """SELECT count(*) FILTER (WHERE population_source = 'imported'),
                  sum(households) FILTER (WHERE population_source = 'imported'),
                  min(ST_X(ST_PointOnSurface(geom))), max(levels)
           FROM building WHERE import_id = :i"""), {"i": rep.import_id}).one()
    assert row[0] == residential
    assert row[1] == sum(int(h) for h in survey["户数"] if h)
    assert 116.34 < row[2] < 116.37 and row[3] <= 18  # reprojected from Gauss-Krüger
    again = import_layer(conn, gpkg, "buildings", params=LayerImportParams(
        source="海淀区测绘院 2025"))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, len(survey))


def test_update_osm_buildings_in_place_by_osm_id(conn: Connection, tmp_path: Path) -> None:
    osm_rep = osm.import_osm(conn, world.CAU)
    ids_before = set(conn.execute(sa.text("SELECT id FROM building")).scalars())
    survey = world.survey_buildings()
    survey["楼栋编码"] = survey["楼栋编码"].str.removeprefix("HD-")  # the OSM way ids
    gpkg = world.write_gpkg(survey, tmp_path / "b.gpkg", "buildings")
    rep = import_layer(conn, gpkg, "buildings", params=LayerImportParams(match="osm_id"))
    assert rep.inserted == 0 and rep.updated == len(survey) >= osm_rep.inserted["building"] - 2
    assert set(conn.execute(sa.text("SELECT id FROM building")).scalars()) == ids_before
    # estimated OSM figures are replaced by the survey's, not added to them
    est = conn.execute(sa.text(
        "SELECT count(*) FROM building WHERE population_source = 'estimated' AND residential"
    )).scalar_one()
    assert est == 0 or est < osm_rep.estimated_buildings


def test_replace_within_the_extent_keeps_ids_of_successors(
        conn: Connection, tmp_path: Path) -> None:
    osm.import_osm(conn, world.CAU)
    before = conn.execute(sa.text("SELECT count(*) FROM building")).scalar_one()
    survey = world.survey_buildings(120)
    path = world.write_shapefile_zip(survey, tmp_path / "survey.zip")
    rep = import_layer(conn, path, "buildings", params=LayerImportParams(merge="replace"))
    assert rep.updated > 100 and rep.inserted + rep.updated == 120
    after = conn.execute(sa.text("SELECT count(*) FROM building")).scalar_one()
    assert after == before - rep.removed + rep.inserted
    names = conn.execute(sa.text(
        "SELECT count(*) FROM building WHERE import_id = :i AND population_source = "
        "'imported'"), {"i": rep.import_id}).scalar_one()
    assert names == int((survey["用途"] == "住宅").sum())


def test_gb18030_csv_with_wkt_in_cgcs2000(conn: Connection, tmp_path: Path) -> None:
    survey = world.survey_buildings(30)
    path = world.wkt_csv(survey, tmp_path / "楼栋.csv")
    rep = import_layer(conn, path, "buildings", crs="EPSG:4490")
    assert rep.inserted == 30
    names = conn.execute(sa.text("SELECT name FROM building WHERE import_id = :i AND name "
                                 "IS NOT NULL"), {"i": rep.import_id}).scalars().all()
    assert all(isinstance(n, str) for n in names)


def test_osmnx_edges_gpkg_streets(conn: Connection, tmp_path: Path) -> None:
    path = world.osmnx_edges(tmp_path / "graph.gpkg")
    rep = import_layer(conn, path, "streets")
    assert rep.layer == "edges" and rep.inserted == 302
    assert rep.counts["footway"] > 10 and "['" not in "".join(rep.counts)
    again = import_layer(conn, path, "streets")
    assert again.inserted == 0 and again.unchanged == 302


def test_bad_file_lists_every_problem_and_writes_nothing(
        conn: Connection, tmp_path: Path) -> None:
    survey = world.survey_buildings(20)
    survey.loc[3, "层数"] = "五层"
    survey.loc[5, "户数"] = "-4"
    survey.loc[7, "楼栋编码"] = survey.loc[8, "楼栋编码"]
    survey.loc[9, "楼栋编码"] = None
    gpkg = world.write_gpkg(survey, tmp_path / "bad.gpkg", "buildings")
    before = _counts(conn)
    with pytest.raises(ValidationError) as err:
        import_layer(conn, gpkg, "buildings")
    codes = sorted((p.row, p.code) for p in err.value.problems)
    assert codes == [(4, "layers.not_a_number"), (6, "layers.not_a_number"),
                     (9, "layers.key_duplicate"), (10, "layers.key_missing")]
    assert _counts(conn) == before
    roads = world.osmnx_edges(tmp_path / "g.gpkg")
    with pytest.raises(ValidationError) as err:
        import_layer(conn, roads, "buildings")  # no layer of polygons
    assert err.value.code == "layers.no_matching_layer"
    with pytest.raises(ValidationError) as err:
        import_layer(conn, roads, "buildings", layer="edges")  # lines are no buildings
    assert {p.code for p in err.value.problems} == {"layers.geometry_type"}
    assert _counts(conn) == before


def test_unknown_road_class_is_named_with_its_count(conn: Connection, tmp_path: Path) -> None:
    edges = world.osmnx_edges(tmp_path / "g.gpkg")
    import geopandas as gpd

    gdf = gpd.read_file(edges, layer="edges")
    gdf["highway"] = ["主干路", "次干路", "乡道"] * (len(gdf) // 3) + ["支路"] * (len(gdf) % 3)
    path = world.write_gpkg(gdf, tmp_path / "cn.gpkg", "道路")
    with pytest.raises(ValidationError) as err:
        import_layer(conn, path, "streets")
    (p,) = err.value.problems
    assert p.code == "layers.unknown_road_class" and p.params["value"] == "乡道"
    assert p.params["count"] == len(gdf) // 3
    profile = tmp_path / "roads.yaml"
    profile.write_text("name: survey-roads\nvalues:\n  road_class: {乡道: unclassified}\n",
                       encoding="utf-8")
    rep = import_layer(conn, path, "streets", profile=str(profile))
    assert rep.counts["primary"] == len(gdf) // 3 and rep.counts["unclassified"] > 0


def test_cli_dry_run_and_rebuild_network(cli_env: dict[str, str], tmp_path: Path) -> None:
    gridmap = [str(Path(sys.executable).parent / "gridmap")]
    path = world.osmnx_edges(tmp_path / "graph.gpkg")
    dry = subprocess.run([*gridmap, "import", "streets", str(path), "--dry-run"],
                         env=cli_env, capture_output=True, text=True, timeout=300)
    assert dry.returncode == 0, dry.stderr
    assert "dry run of streets" in dry.stdout and "inserted 302" in dry.stdout
    ok = subprocess.run([*gridmap, "import", "streets", str(path), "--rebuild-network"],
                        env=cli_env, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert "walking network rebuilt" in ok.stdout
    bad = subprocess.run([*gridmap, "import", "buildings", str(tmp_path / "none.gpkg")],
                         env=cli_env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "does not exist" in bad.stderr


def test_estates_geojson_replacing_osm_estates(
        conn: Connection, tmp_path: Path) -> None:
    osm.import_osm(conn, world.CAU)
    osm_ids = set(conn.execute(sa.text(
        "SELECT id FROM estate WHERE derived_from = 'osm_landuse'")).scalars())
    estates = world.survey_estates()
    path = tmp_path / "小区.geojson"
    estates.to_file(path, driver="GeoJSON")
    rep = import_layer(conn, path, "estates", params=LayerImportParams(merge="replace"))
    # each OSM compound is succeeded by the survey's (same geometry): ids kept
    assert rep.updated == len(estates) and rep.inserted == 0
    kept = set(conn.execute(sa.text(
        "SELECT id FROM estate WHERE import_id = :i"), {"i": rep.import_id}).scalars())
    assert kept <= osm_ids
    linked = conn.execute(sa.text(
        "SELECT count(*) FROM building b JOIN estate e ON e.id = b.estate_id "
        "WHERE e.import_id = :i"), {"i": rep.import_id}).scalar_one()
    assert linked > 20  # buildings found their (re-drawn) estate again
    again = import_layer(conn, path, "estates", params=LayerImportParams(merge="replace"))
    assert (again.inserted, again.updated, again.removed) == (0, len(estates), 0)


def test_streets_replace_within_the_extent(conn: Connection, tmp_path: Path) -> None:
    osm.import_osm(conn, world.CAU)
    before = conn.execute(sa.text("SELECT count(*) FROM osm_line")).scalar_one()
    path = world.osmnx_edges(tmp_path / "graph.gpkg")
    rep = import_layer(conn, path, "streets", params=LayerImportParams(
        merge="replace", source="海淀区道路中心线"))
    after = conn.execute(sa.text("SELECT count(*) FROM osm_line")).scalar_one()
    assert rep.removed > 250 and after == before - rep.removed + rep.inserted
    assert conn.execute(sa.text(
        "SELECT count(*) FROM osm_line WHERE source = '海淀区道路中心线'")).scalar_one() == 302


def test_replace_refuses_a_code_held_by_a_row_that_stays(
        conn: Connection, tmp_path: Path) -> None:
    survey = world.survey_buildings()
    first = world.write_gpkg(survey.iloc[:10], tmp_path / "a.gpkg", "buildings")
    import_layer(conn, first, "buildings")
    # six buildings close together, far from the first building (outside their extent)
    centres = survey.geometry.centroid
    far = centres.distance(centres.iloc[0]).idxmax()
    later = survey.loc[centres.distance(centres.loc[far]).nsmallest(6).index].copy()
    later.iloc[0, later.columns.get_loc("楼栋编码")] = survey["楼栋编码"].iloc[0]
    path = world.write_gpkg(later, tmp_path / "b.gpkg", "buildings")
    before = _counts(conn)
    with pytest.raises(ValidationError) as err:
        import_layer(conn, path, "buildings", params=LayerImportParams(merge="replace"))
    (p,) = err.value.problems
    assert p.code == "layers.key_held_elsewhere" and p.row == 1
    assert _counts(conn) == before
