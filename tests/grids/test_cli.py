"""The ``gridmap grids`` CLI (gridmap.cli.grids) against a fresh database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from gridmap.db import make_engine
from tests.fixtures.grids import make_community


def _cli(env: dict[str, str], *args: str) -> Any:
    exe = Path(sys.executable).with_name("gridmap")
    return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_cli_autopartition_activate_list_validate(fresh_db_url: str, cli_env: dict[str, str]
                                                  ) -> None:
    eng = make_engine(fresh_db_url, poolclass=sa.pool.NullPool)
    with eng.begin() as c:
        make_community(c, code="310107005003")
    eng.dispose()
    res = _cli(cli_env, "grids", "autopartition", "310107005003", "--activate", "2026-01-01")
    assert res.returncode == 0, res.stderr
    assert "(active)" in res.stdout and "3 grid(s)" in res.stdout
    res = _cli(cli_env, "grids", "list", "310107005003")
    assert res.returncode == 0 and "active" in res.stdout
    vid = res.stdout.splitlines()[1].split()[0]
    res = _cli(cli_env, "grids", "validate", vid)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 error(s)" in res.stdout
    res = _cli(cli_env, "grids", "activate", vid)
    assert res.returncode == 1 and "only a draft can be activated" in res.stderr
    # the same command evens out a second (workload) target, households still hard
    res = _cli(cli_env, "grids", "autopartition", "310107005003", "--second-target", "patrol")
    assert res.returncode == 0 and "(draft)" in res.stdout, res.stderr
    draft = res.stdout.split("version ")[1].split(",")[0]
    res = _cli(cli_env, "grids", "rebalance", draft, "--second-target", "cases")
    assert res.returncode == 0 and "unit move(s)" in res.stdout, res.stderr
    res = _cli(cli_env, "grids", "autopartition", "310107005003", "--second-target", "x")
    assert res.returncode == 2 and "x" in res.stderr
