"""``gridmap import addresses`` (tables with Chinese headers, GB18030, --map, --dry-run,
versioning, bad files) and ``gridmap geocode FILE`` (the file written back) in a subprocess."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from gridmap.db import make_engine
from tests.conftest import REPO
from tests.fixtures.address_world import register_rows


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / ".venv" / "bin" / "gridmap"), *args], env=env,
                          capture_output=True, text=True, timeout=180)


def _count(env: dict[str, str]) -> int:
    eng = make_engine(env["DATABASE_URL"], poolclass=sa.pool.NullPool)
    with eng.connect() as c:
        n = int(c.execute(sa.text(
            "SELECT count(*) FROM address_entry WHERE valid_to IS NULL")).scalar_one())
    eng.dispose()
    return n


def test_import_register_then_geocode_a_file(cli_env: dict[str, str], tmp_path: Path) -> None:
    reg = pd.DataFrame(register_rows()).rename(columns={"address": "标准地址", "lon": "经度",
                                                        "lat": "纬度"})
    path = tmp_path / "标准地址库.csv"
    reg.to_csv(path, index=False, encoding="gb18030")
    dry = _cli(cli_env, "import", "addresses", str(path), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert _count(cli_env) == 0
    ok = _cli(cli_env, "import", "addresses", str(path))
    assert ok.returncode == 0, ok.stderr
    assert f"{len(reg)} rows, {len(reg)} added" in ok.stdout
    again = _cli(cli_env, "import", "addresses", str(path))
    assert f"0 added, 0 retired, {len(reg)} unchanged" in again.stdout

    cases = pd.DataFrame({"工单号": ["A", "B", "C"],
                          "事发地址": ["上海市普陀区兰溪路一百三十八弄五号301室", "枫x小区1号楼",
                                   "火星路1号"]})
    src = tmp_path / "工单.xlsx"
    cases.to_excel(src, index=False)
    out = tmp_path / "工单_geocoded.xlsx"
    geo = _cli(cli_env, "geocode", str(src), "--out", str(out))
    assert geo.returncode == 0, geo.stderr
    assert "3 addresses: 1 placed, 1 to confirm, 1 not matched" in geo.stdout
    back = pd.read_excel(out, engine="openpyxl")
    assert list(back["工单号"]) == ["A", "B", "C"]  # the file's own columns kept
    assert list(back["geocode_level"].fillna("")) == ["building", "building", ""]
    assert list(back["geocode_status"]) == ["auto", "review", "unmatched"]
    assert back["geocode_lon"].iloc[0] == 121.415 and back["geocode_reason"].iloc[0]


def test_register_through_a_profile_in_gcj02(cli_env: dict[str, str], tmp_path: Path) -> None:
    from gridmap import crs

    lon, lat = crs.wgs84_to_gcj02(121.415, 31.2166)
    path = tmp_path / "plates.csv"
    pd.DataFrame({"门牌": ["兰溪路138弄5号"], "X": [float(lon)], "Y": [float(lat)]}).to_csv(path, index=False)
    prof = tmp_path / "plates.yaml"
    prof.write_text("name: plates\ncolumns:\n  address: [门牌]\n  lon: [X]\n  lat: [Y]\n"
                    "coords: gcj02\n", encoding="utf-8")
    r = _cli(cli_env, "import", "addresses", str(path), "--map", str(prof))
    assert r.returncode == 0, r.stderr
    eng = make_engine(cli_env["DATABASE_URL"], poolclass=sa.pool.NullPool)
    with eng.connect() as c:
        x, y = c.execute(sa.text("SELECT ST_X(geom), ST_Y(geom) FROM address_entry")).one()
    eng.dispose()
    assert abs(x - 121.415) < 1e-5 and abs(y - 31.2166) < 1e-5  # converted to WGS84


def test_import_incidents_reports_what_the_addresses_did(cli_env: dict[str, str],
                                                       tmp_path: Path) -> None:
    from tests.fixtures.address_world import load_world
    from tests.fixtures.incident_world import build_world

    eng = make_engine(cli_env["DATABASE_URL"], poolclass=sa.pool.NullPool)
    with eng.begin() as c:
        build_world(c)
        load_world(c)
    eng.dispose()
    path = tmp_path / "hotline.csv"
    pd.DataFrame([
        {"external_id": "H1", "category_code": "E0102", "reported_at": "2025-11-20 09:00",
         "address": "兰溪路138弄5号301室"},
        {"external_id": "H2", "category_code": "E0102", "reported_at": "2025-11-20 09:00",
         "address": "铜川路近真如路"}]).to_csv(path, index=False)
    r = _cli(cli_env, "import", "incidents", str(path))
    assert r.returncode == 0, r.stderr
    assert "1 placed from their address; 1 queued for address confirmation" in r.stdout


def test_bad_register_file_lists_every_problem(cli_env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    pd.DataFrame({"address": ["兰溪路1号", "", "兰溪路1號"], "lon": [121.4, 121.4, 121.4],
                  "lat": [31.2, 31.2, 31.2]}).to_csv(path, index=False)
    r = _cli(cli_env, "import", "addresses", str(path))
    assert r.returncode == 1
    assert "row 2" in r.stderr and "row 3" in r.stderr
    assert _count(cli_env) == 0
    none = _cli(cli_env, "import", "addresses")
    assert none.returncode == 1


def test_osm_addr_tags_and_derived_entries(cli_env: dict[str, str]) -> None:
    pbf = REPO / "gridmap" / "data" / "osm" / "chelsea.osm.pbf"
    r = _cli(cli_env, "import", "addresses", str(pbf), "--from-data")
    assert r.returncode == 0, r.stderr
    assert _count(cli_env) > 1000
