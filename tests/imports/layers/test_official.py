"""``gridmap import population --level building|estate|community``: official figures joined
by code or normalised Chinese name, spread over residential buildings by floor area,
replacing (never adding to) the OSM estimates; unmatched and ambiguous names reported."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError
from gridmap.imports import osm
from gridmap.imports.layers.official import (
    OfficialPopulationParams,
    import_population,
    normalise_name,
    spread,
)
from gridmap.imports.layers.survey import import_layer
from gridmap.imports.linking import link_to_communities
from tests.fixtures import office_layers as world

ROWS = [  # 小区 names as a 居委会 writes them (suffixes, no punctuation, one unknown)
    ("富润家园", "620", "1550", "31", "40", "300", "52"),
    ("石科院生活区", "410", "1020", "", "", "", ""),
    ("农大小区北区", "380", "", "", "", "", ""),
    ("清华东路27号院", "250", "610", "", "", "", ""),
    ("静淑苑小区", "300", "720", "", "", "", ""),
    ("中建壹品学府公馆", "180", "450", "", "", "", ""),
    ("双泉堡甲2号院", "90", "200", "", "", "", ""),
    ("不存在家园", "10", "20", "", "", "", ""),
]
HEAD = ["小区名称", "户数", "常住人口", "0-3岁", "3-6岁", "60岁以上", "80岁以上"]
PARAMS = OfficialPopulationParams(source="学院路街道 2025 年人口台账")


def _table(tmp_path: Path, rows: Sequence[tuple[str, ...]] = ROWS, name: str = "人口.csv") -> Path:
    path = tmp_path / name
    pd.DataFrame(rows, columns=HEAD).to_csv(path, index=False, encoding="gb18030")
    return path


def _estate_sums(conn: Connection, name: str) -> tuple[int, int, int, str | None]:
    return tuple(conn.execute(sa.text(
        """SELECT coalesce(sum(b.households), 0), coalesce(sum(b.residents), 0),
                  count(*) FILTER (WHERE b.population_source = 'estimated'),
                  max(b.population_ref)
           FROM building b JOIN estate e ON e.id = b.estate_id
           WHERE e.name = :n AND b.residential"""), {"n": name}).one())


def test_names_are_normalised() -> None:
    assert normalise_name("海淀区学院路街道 石油大院社区居委会") == "石油大院"
    assert normalise_name("农大小区-北区") == normalise_name("农大小区北区")
    assert normalise_name("中建壹品·学府公馆") == normalise_name("中建壹品学府公馆")
    assert normalise_name("静淑苑小区") == normalise_name("静淑苑")
    assert normalise_name("ＡＢＣ花园") == "abc花园"  # full-width letters
    assert normalise_name("小区") == "小区"


def test_spread_adds_up_and_follows_floor_area() -> None:
    parts = spread(1001, np.array([100.0, 200.0, 700.0]))
    assert parts.sum() == 1001 and parts.tolist() == [100, 200, 701]
    assert spread(5, np.zeros(2)).sum() == 5


def test_estate_totals_replace_the_estimates(conn: Connection, tmp_path: Path) -> None:
    osm.import_osm(conn, world.CAU)
    estimated_before = _estate_sums(conn, "富润家园")
    assert estimated_before[2] > 0  # OSM estimates first
    rep = import_population(conn, _table(tmp_path), "estate", params=PARAMS)
    assert set(rep.unmatched) == {"双泉堡甲2号院", "不存在家园"}
    assert rep.counts["matched"] == 6
    hh, res, still_estimated, ref = _estate_sums(conn, "富润家园")
    assert (hh, res, still_estimated) == (620, 1550, 0)  # replaced, not summed
    assert ref == "学院路街道 2025 年人口台账"
    ages = conn.execute(sa.text(
        """SELECT sum(b.age_0_3), sum(b.age_60_plus), max(b.population_level)
           FROM building b JOIN estate e ON e.id = b.estate_id WHERE e.name = '富润家园'
           AND b.residential""")).one()
    assert tuple(ages) == (31, 300, "estate")
    assert rep.counts["residents_from_households"] == 1  # 农大小区北区: households only
    again = import_population(conn, _table(tmp_path), "estate", params=PARAMS)
    assert again.updated == 0 and again.unchanged == rep.updated + rep.unchanged


def test_ambiguous_names_are_listed_not_guessed(conn: Connection, tmp_path: Path) -> None:
    osm.import_osm(conn, world.CAU)
    conn.execute(sa.text(
        "INSERT INTO estate (name, derived_from, geom) SELECT '静淑苑', 'import', "
        "ST_Translate(geom, 0.01, 0) FROM estate WHERE name = '静淑苑'"))
    rep = import_population(conn, _table(tmp_path), "estate", params=PARAMS)
    assert list(rep.ambiguous) == ["静淑苑小区"] and len(rep.ambiguous["静淑苑小区"]) == 2
    assert _estate_sums(conn, "静淑苑")[3] is None  # nothing written for it


def test_community_total_spreads_the_rest_over_the_other_buildings(
        conn: Connection, tmp_path: Path) -> None:
    osm.import_osm(conn, world.CAU)
    conn.execute(sa.text(
        """WITH d AS (INSERT INTO district (code, name, geom) VALUES ('110108', '海淀区',
                      ST_Multi(ST_MakeEnvelope(116.30, 39.95, 116.40, 40.05, 4326))) RETURNING id),
                s AS (INSERT INTO street (code, district_id, name, geom) SELECT '110108012', d.id,
                      '学院路街道', ST_Multi(ST_MakeEnvelope(116.30, 39.95, 116.40, 40.05, 4326))
                      FROM d RETURNING id)
           INSERT INTO community (code, street_id, name, geom) SELECT '110108012001', s.id,
                  '石油大院社区居委会', ST_Multi(ST_MakeEnvelope(116.34, 39.99, 116.37, 40.01,
                  4326)) FROM s"""))
    link_to_communities(conn)
    import_population(conn, _table(tmp_path), "estate", params=PARAMS)
    fixed = conn.execute(sa.text(
        "SELECT sum(residents) FROM building WHERE population_level = 'estate'")).scalar_one()
    path = tmp_path / "社区.xlsx"
    pd.DataFrame([("110108012001", "学院路街道石油大院社区居委会", "5200", "13000")],
                 columns=["统计用区划代码", "居委会", "户数", "常住人口"]).to_excel(path, index=False)
    rep = import_population(conn, path, "community", params=OfficialPopulationParams(
        source="七普 社区汇总"))
    assert rep.counts["matched"] == 1
    total = conn.execute(sa.text(
        """SELECT sum(residents), count(*) FILTER (WHERE population_source = 'estimated')
           FROM building WHERE residential AND community_id IS NOT NULL""")).one()
    assert total[0] == 13000 and total[1] == 0
    kept = conn.execute(sa.text(
        "SELECT sum(residents) FROM building WHERE population_level = 'estate'")).scalar_one()
    assert kept == fixed  # the finer 小区 figures are kept, the rest is spread


def test_bad_figures_refuse_the_file(conn: Connection, tmp_path: Path) -> None:
    osm.import_osm(conn, world.CAU)
    rows = [*ROWS[:2], ("学士居", "约300", "", "", "", "", ""), ("静淑苑", "", "", "", "", "", "")]
    before = conn.execute(sa.text("SELECT sum(residents) FROM building")).scalar_one()
    with pytest.raises(ValidationError) as err:
        import_population(conn, _table(tmp_path, rows), "estate", params=PARAMS)
    assert sorted((p.row, p.code) for p in err.value.problems) == [
        (3, "layers.not_a_number"), (3, "layers.pop_no_figures"), (4, "layers.pop_no_figures")]
    assert conn.execute(sa.text("SELECT sum(residents) FROM building")).scalar_one() == before


def test_cli_dry_run_reports_unmatched(cli_env: dict[str, str], tmp_path: Path) -> None:
    gridmap = [str(Path(sys.executable).parent / "gridmap")]
    subprocess.run([*gridmap, "import", "osm", str(world.CAU), "--quiet"], env=cli_env,
                   check=True, capture_output=True, timeout=300)
    out = subprocess.run([*gridmap, "import", "population", str(_table(tmp_path)), "--level",
                          "estate", "--date", "2025-06-30", "--dry-run"],
                         env=cli_env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "dry run of population:estate" in out.stdout
    assert "不存在家园" in out.stdout and "matched nothing" in out.stdout


def test_building_level_by_code(conn: Connection, tmp_path: Path) -> None:
    survey = world.survey_buildings(40)
    gpkg = world.write_gpkg(survey, tmp_path / "b.gpkg", "buildings")
    import_layer(conn, gpkg, "buildings")  # codes HD-…, no official figures yet
    codes = list(survey["楼栋编码"][:3])
    path = tmp_path / "楼栋人口.csv"
    pd.DataFrame([(codes[0], "48", "120", "3"), (codes[1], "20", "51", ""),
                  ("HD-0", "1", "2", "")], columns=["楼栋编码", "户数", "人口", "80岁以上"]
                 ).to_csv(path, index=False)
    rep = import_population(conn, path, "building", params=OfficialPopulationParams(
        source="楼栋台账"))
    assert rep.counts["matched"] == 2 and rep.unmatched == {"HD-0": 1}
    row = conn.execute(sa.text(
        "SELECT households, residents, age_80_plus, population_level FROM building "
        "WHERE code = :c"), {"c": codes[0]}).one()
    assert tuple(row) == (48, 120, 3, "building")
