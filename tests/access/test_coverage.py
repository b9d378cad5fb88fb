"""Coverage: distances per type, aggregates, gap list, euclidean over-claim and the CLI,
on the hand-made river town (tests/fixtures/walk_world.py)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from sqlalchemy.engine import Connection

from gridmap.access import coverage, siting, whatif
from gridmap.db import make_engine
from gridmap.errors import NotFound, ValidationError
from tests.conftest import REPO
from tests.fixtures.walk_world import add_area, add_facility, ll, river_town


def _refreshed(conn: Connection) -> dict[str, int]:
    ids = river_town(conn)
    coverage.refresh(conn)
    return ids


def test_refresh_stores_network_distances_and_reports_unsnapped(conn: Connection) -> None:
    ids = river_town(conn)
    rep = coverage.refresh(conn)
    assert rep["buildings"] == 3 and rep["buildings_snapped"] == 2
    assert rep["unsnapped_buildings"] == [ids["far"]]
    assert rep["facilities_snapped"] == 1 and rep["unsnapped_facilities"] == []
    rows = dict(conn.execute(sa.text(
        "SELECT building_id, network_m FROM building_coverage WHERE type_code = 'kindergarten'"
    )).all())
    assert rows[ids["a"]] == pytest.approx(70.0, abs=0.1)
    assert rows[ids["b"]] == pytest.approx(1830.0, abs=0.1)
    assert rows[ids["far"]] is None
    cov = dict(conn.execute(sa.text(
        "SELECT building_id, covered FROM building_coverage WHERE type_code = 'kindergarten'"
    )).all())
    assert cov == {ids["a"]: True, ids["b"]: False, ids["far"]: False}


def test_euclidean_circle_over_claims_across_the_river(conn: Connection) -> None:
    ids = _refreshed(conn)
    row = conn.execute(sa.text(
        "SELECT euclid_m, euclid_covered, covered FROM building_coverage "
        "WHERE building_id = :b AND type_code = 'kindergarten'"), {"b": ids["b"]}).one()
    assert row.euclid_m == pytest.approx(250.8, abs=0.2)
    assert row.euclid_covered and not row.covered
    over = {r["type_code"]: r for r in coverage.euclid_overclaim(conn)}
    assert over["kindergarten"]["overclaim_buildings"] == 1
    assert over["kindergarten"]["overclaim_residents"] == 500


def test_summary_per_community_and_score(conn: Connection) -> None:
    ids = _refreshed(conn)
    rows = {r["unit_id"]: r for r in coverage.summary(conn, "community", "kindergarten")}
    west, east = rows[ids["west"]], rows[ids["east"]]
    assert west["types"]["kindergarten"]["residents_covered"] == 300
    assert west["types"]["kindergarten"]["share"] == pytest.approx(300 / 340, abs=1e-3)
    assert east["types"]["kindergarten"]["residents_covered"] == 0
    assert east["types"]["kindergarten"]["overclaim_residents"] == 500
    assert list(west["types"]) == ["kindergarten"]
    n_required = conn.execute(sa.text(
        "SELECT count(*) FROM facility_type WHERE required")).scalar_one()
    assert west["score"] == pytest.approx(300 / (n_required * 340), abs=1e-4)
    assert east["score"] == 0
    street = coverage.summary(conn, "street")
    assert len(street) == 1 and street[0]["residents"] == 840
    assert len(street[0]["types"]) == conn.execute(sa.text(
        "SELECT count(*) FROM facility_type")).scalar_one()


def test_gap_list_shows_the_community_lacking_a_kindergarten(conn: Connection) -> None:
    ids = _refreshed(conn)
    gaps = coverage.gaps(conn, "community")
    kg = {g["unit_id"]: g for g in gaps if g["type_code"] == "kindergarten"}
    assert kg[ids["east"]]["residents_affected"] == 500
    assert kg[ids["east"]]["missing"] is True
    assert kg[ids["west"]]["residents_affected"] == 40  # only the unsnapped far building
    assert kg[ids["west"]]["missing"] is False
    # sorted by residents affected; optional types (police station) are not gaps
    assert gaps[0]["residents_affected"] >= gaps[-1]["residents_affected"]
    assert not any(g["type_code"] == "police_station" for g in gaps)


def test_block_tier_type_is_checked_inside_the_estate(conn: Connection) -> None:
    ids = river_town(conn)
    est = add_area(conn, "estate", "E1", "West estate", (-100, 50, -10, 200),
                   {"community_id": ids["west"]})
    conn.execute(sa.text("UPDATE building SET estate_id = :e WHERE id = :b"),
                 {"e": est, "b": ids["a"]})
    add_facility(conn, "convenience_store", -50, 150)
    coverage.refresh(conn)
    cov = dict(conn.execute(sa.text(
        "SELECT building_id, covered FROM building_coverage WHERE type_code = 'convenience_store'"
    )).all())
    assert cov[ids["a"]] is True and cov[ids["b"]] is False


def test_summary_before_refresh_and_unknown_level(conn: Connection) -> None:
    with pytest.raises(NotFound):
        coverage.summary(conn, "community")
    with pytest.raises(ValidationError):
        coverage.summary(conn, "province")


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / ".venv" / "bin" / "gridmap"), *args], env=env,
                          capture_output=True, text=True, timeout=180)


def test_cli_build_refresh_gaps_and_a_bad_whatif(cli_env: dict[str, str]) -> None:
    eng = make_engine(cli_env["DATABASE_URL"], poolclass=sa.pool.NullPool)
    with eng.begin() as c:
        river_town(c)
    built = _cli(cli_env, "network", "build")
    assert built.returncode == 0, built.stderr
    assert "6 edges" in built.stdout and "island 1" in built.stdout
    ref = _cli(cli_env, "coverage", "refresh")
    assert ref.returncode == 0, ref.stderr
    assert "2/3 snapped" in ref.stdout
    gaps = _cli(cli_env, "coverage", "gaps", "--level", "community", "--json", "--limit", "0")
    assert gaps.returncode == 0, gaps.stderr
    kg = [g for g in json.loads(gaps.stdout) if g["type_code"] == "kindergarten"]
    assert {g["unit_name"] for g in kg} == {"West", "East"}
    xlsx = Path(cli_env.get("TMPDIR", "/tmp")) / f"gaps-{os.getpid()}.xlsx"
    out = _cli(cli_env, "coverage", "gaps", "--type", "kindergarten", "--xlsx", str(xlsx))
    assert out.returncode == 0, out.stderr
    ws = load_workbook(xlsx).active
    assert ws.max_row == len(kg) + 1 and {ws.cell(r, 1).value for r in (2, 3)} == {"West", "East"}
    xlsx.unlink()
    with eng.connect() as c:
        n = c.execute(sa.text("SELECT count(*) FROM building_coverage")).scalar_one()
    bad = _cli(cli_env, "coverage", "whatif", "--add", "kindergarten,abc,31", "--remove", "5")
    assert bad.returncode == 1 and "expected TYPE,LON,LAT" in bad.stderr
    bad = _cli(cli_env, "coverage", "whatif", "--add", "nope,121.47,31.23", "--remove", "9999")
    assert bad.returncode == 1 and "2 problem" in bad.stderr
    with eng.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM building_coverage")).scalar_one() == n
    lon, lat = ll(220, 110)
    good = _cli(cli_env, "coverage", "whatif", "--add", f"kindergarten,{lon},{lat}")
    assert good.returncode == 0 and "(+500)" in good.stdout
    eng.dispose()


def test_every_level_aggregates_and_grid_uses_the_active_version(conn: Connection) -> None:
    ids = _refreshed(conn)
    g = conn.execute(sa.text(
        "INSERT INTO grid (community_id, grid_seq, grid_code, name) VALUES "
        "(:c, 1, '310101001002001', 'East grid 1') RETURNING id"), {"c": ids["east"]}).scalar_one()
    v = conn.execute(sa.text(
        "INSERT INTO grid_version (community_id, generation, status) VALUES (:c, 1, 'active') "
        "RETURNING id"), {"c": ids["east"]}).scalar_one()
    x0, y0 = ll(100, -500)
    x1, y1 = ll(700, 1500)
    conn.execute(sa.text(
        "INSERT INTO grid_geometry (version_id, grid_id, geom) VALUES (:v, :g, "
        "ST_Multi(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)))"),
        {"v": v, "g": g, "x0": x0, "y0": y0, "x1": x1, "y1": y1})
    grid = coverage.summary(conn, "grid", "kindergarten")
    assert [(r["unit_code"], r["residents"]) for r in grid] == [("310101001002001", 500)]
    assert coverage.summary(conn, "estate") == []
    assert coverage.summary(conn, "all")[0]["residents"] == 840
    gaps = [g_ for g_ in coverage.gaps(conn, "grid") if g_["type_code"] == "kindergarten"]
    assert gaps[0]["residents_affected"] == 500 and gaps[0]["missing"]


def test_coverage_keeps_offering_what_if_and_candidates() -> None:
    # web/planner.py and the benchmark call them through gridmap.access.coverage
    assert coverage.what_if is whatif.what_if
    assert coverage.candidates is siting.candidates
    assert coverage.greedy_mclp is siting.greedy_mclp


def test_messages_are_codes_with_a_chinese_text(conn: Connection) -> None:
    with pytest.raises(ValidationError) as err:
        coverage.summary(conn, "province")
    assert err.value.code == "access.unknown_level_use_one_of"
    assert err.value.headline == ("unknown level 'province'; use one of estate, community, "
                                  "grid, street, all")
    assert err.value.render("zh").startswith("未知的统计层级 'province'；可选：estate、community")
    with pytest.raises(NotFound) as nf:
        coverage.gaps(conn, "community")
    assert nf.value.code == "access.coverage_not_computed"
    assert "gridmap coverage refresh" in nf.value.render("zh")
    with pytest.raises(ValidationError) as speed:
        coverage.refresh(conn, speed_m_per_min=0.0)
    assert speed.value.headline == "walking speed must be positive (got 0.0)"
    assert [p.field for p in speed.value.problems] == ["speed"]
