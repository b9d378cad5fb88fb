"""``gridmap city generate``, ``gridmap db partitions``, ``gridmap incidents archive`` in a
subprocess (English texts); the library tests cover a second run and ``rollups rebuild``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import sqlalchemy as sa

from gridmap.db import make_engine
from tests.conftest import REPO


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / ".venv" / "bin" / "gridmap"), *args], env=env,
                          capture_output=True, text=True, timeout=600)


def test_generate_partitions_archive_and_rollups_from_the_command_line(
        cli_env: dict[str, str], fresh_db_url: str, tmp_path: Path) -> None:
    gen = _cli(cli_env, "city", "generate", "--preset", "tiny", "--seed", "4",
               "--incidents-per-year", "500")
    assert gen.returncode == 0, gen.stderr
    assert "6 communities, 108 buildings" in gen.stdout and "500 incidents" in gen.stdout

    listed = _cli(cli_env, "db", "partitions", "list")
    assert "incident_p2025_06\t2025-06-01" in listed.stdout
    assert "incident_default\tdefault" in listed.stdout
    assert _cli(cli_env, "db", "partitions", "ensure").returncode == 0

    dry = _cli(cli_env, "incidents", "archive", "--before", "2025-03-01", "--to",
               str(tmp_path / "a"), "--dry-run")
    assert dry.returncode == 0 and "incident_p2025_02" in dry.stdout
    assert not (tmp_path / "a").exists()
    engine = make_engine(fresh_db_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM incident")).scalar_one() == 500
    engine.dispose()
    bad = _cli(cli_env, "incidents", "archive", "--before", "March")
    assert bad.returncode == 1 and "is not a date" in bad.stderr + bad.stdout
