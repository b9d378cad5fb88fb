"""import_boundaries end to end and the `gridmap import boundaries` CLI on good and bad input."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import shapely
import sqlalchemy as sa
from shapely.geometry import Point, box
from sqlalchemy.engine import Connection

from gridmap.db import make_engine
from gridmap.imports.boundaries import import_boundaries
from tests.conftest import REPO
from tests.fixtures.boundary_world import (
    COMM_1,
    COMM_3,
    DISTRICT,
    STREET,
    count,
    district_file,
    frame,
    save,
)

GRIDMAP = str(REPO / ".venv" / "bin" / "gridmap")


def test_progress_reports_stages(conn: Connection, tmp_path: Path) -> None:
    seen: list[tuple[str, int, int | None]] = []
    import_boundaries(conn, district_file(tmp_path), level="district",
                      progress=lambda s, d, t: seen.append((s, d, t)))
    stages = [s for s, _, _ in seen]
    for stage in ("read", "validate", "load", "link", "write", "done"):
        assert stage in stages
    assert ("load", 1, 1) in seen


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GRIDMAP, *args], env=env, capture_output=True, text=True, timeout=120)


def db_counts(url: str) -> tuple[int, int]:
    engine = make_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as c:
        row = c.execute(sa.text(
            "SELECT (SELECT count(*) FROM district), (SELECT count(*) FROM import_run)")).one()
    engine.dispose()
    return int(row[0]), int(row[1])


def test_cli_import_dry_run_then_real(cli_env: dict[str, str], tmp_path: Path) -> None:
    path = district_file(tmp_path)
    dry = run_cli(cli_env, "import", "boundaries", "district", str(path), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run (nothing written)" in dry.stdout and "would insert 1" in dry.stdout
    assert db_counts(cli_env["DATABASE_URL"]) == (0, 0)
    real = run_cli(cli_env, "import", "boundaries", "district", str(path))
    assert real.returncode == 0, real.stderr
    assert "inserted 1" in real.stdout
    assert db_counts(cli_env["DATABASE_URL"]) == (1, 1)


def test_cli_bad_inputs_exit_1_with_one_line_and_change_nothing(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    swapped = shapely.transform(DISTRICT, lambda xy: xy[:, ::-1])
    csv_swapped = tmp_path / "swapped.csv"
    csv_swapped.write_text(f"code,name,wkt\n310107,普陀区,\"{swapped.wkt}\"\n", encoding="utf-8")
    dup = save(frame([{"code": "310107", "name": "a", "geometry": DISTRICT},
                      {"code": "310107", "name": "b", "geometry": DISTRICT}]),
               tmp_path / "dup.geojson")
    point = save(frame([{"code": "310107", "name": "a", "geometry": Point(121.4, 31.2)}]),
                 tmp_path / "point.geojson")
    garbage = tmp_path / "garbage.gpkg"
    garbage.write_bytes(b"not a geopackage at all")
    big = district_file(tmp_path)
    cases = [
        ([str(csv_swapped)], {}, "declares no coordinate reference system"),
        ([str(csv_swapped), "--crs", "EPSG:4326"], {}, "look swapped"),
        ([str(dup)], {}, "appears more than once"),
        ([str(point)], {}, "Point is not allowed"),
        ([str(garbage)], {}, "cannot read garbage.gpkg"),
        ([str(tmp_path / "missing.geojson")], {}, "does not exist"),
        ([str(big)], {"GRIDMAP_MAX_UPLOAD_BYTES": "64"}, "over the limit of 64 bytes"),
    ]
    for args, extra_env, message in cases:
        proc = run_cli({**cli_env, **extra_env}, "import", "boundaries", "district", *args)
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        first = proc.stderr.splitlines()[0]
        assert first.startswith("error: ") and message in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
    assert db_counts(cli_env["DATABASE_URL"]) == (0, 0)


def test_cli_hierarchy_region_and_catalogue_problems_all_reported(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    seed = [("district", frame([{"code": "310107", "name": "普陀区", "geometry": DISTRICT}])),
            ("street", frame([{"code": "310107005", "name": "曹杨新村街道", "geometry": STREET}]))]
    for level, gdf in seed:
        proc = run_cli(cli_env, "import", "boundaries", level,
                       str(save(gdf, tmp_path / f"{level}.gpkg")))
        assert proc.returncode == 0, proc.stderr
    bad = save(frame([
        {"code": "310107005999", "name": "无此", "geometry": COMM_1},
        {"code": "310107005005", "name": "out", "geometry": box(121.41, 31.25, 121.43, 31.27)},
        {"code": "310107005006", "name": "x", "parent_code": "310107004", "geometry": COMM_3},
        {"code": "310107005007", "name": "far", "geometry": box(116.3, 39.9, 116.4, 40.0)},
        {"code": "310108001001", "name": "no street", "geometry": COMM_3},
    ]), tmp_path / "communities.gpkg")
    proc = run_cli(cli_env, "import", "boundaries", "community", str(bad))
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: community import refused: 6 problem(s)")
    lines = proc.stderr.splitlines()[1:]
    for row, text in [(1, "not in the division code catalogue"),
                      (2, "lies outside its parent street 310107005"),
                      (3, "does not match code"), (4, "outside the expected region"),
                      (5, "parent street 310108001 is not in the database"),
                      (5, "310108001001 is not in the division code catalogue")]:
        assert any(f"row {row}," in line and text in line for line in lines), (row, proc.stderr)
    engine = make_engine(cli_env["DATABASE_URL"], poolclass=sa.pool.NullPool)
    with engine.connect() as c:
        assert count(c, "community") == 0 and count(c, "import_run") == 2
    engine.dispose()


def test_terminal_progress_renders_stage_rows_and_rate(capsys: pytest.CaptureFixture[str]) -> None:
    from gridmap.cli.ingest import TerminalProgress

    progress = TerminalProgress(enabled=True)
    progress("load", 0, 10)
    progress("load", 10, 10)
    progress.close()
    err = capsys.readouterr().err
    assert "load: 10/10 rows" in err and "rows/s" in err
    silent = TerminalProgress(enabled=False)
    silent("load", 10, 10)
    assert capsys.readouterr().err == ""
