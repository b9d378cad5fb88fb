"""``gridmap analysis ehsa`` and ``gridmap analysis pai`` in a subprocess against a committed
database with the lattice world."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import sqlalchemy as sa
from openpyxl import load_workbook

from gridmap.db import make_engine
from tests.analysis.world import build_lattice
from tests.conftest import REPO


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / ".venv" / "bin" / "gridmap"), "analysis", *args],
                          env=env, capture_output=True, text=True, timeout=120)


def test_ehsa_and_pai_commands(cli_env: dict[str, str], tmp_path: Path) -> None:
    eng = make_engine(cli_env["DATABASE_URL"], poolclass=sa.pool.NullPool)
    with eng.begin() as c:
        build_lattice(c)
    eng.dispose()
    out = tmp_path / "ehsa.xlsx"
    res = _cli(cli_env, "ehsa", "--from", "2025-04-07", "--to", "2025-06-29", "--street",
               "319901001", "--xlsx", str(out))
    assert res.returncode == 0, res.stderr
    assert "67 grids × 12 weeks (2025-04-07 to 2025-06-23), 1680 cases" in res.stdout
    assert "Consecutive hot spot: " in res.stdout
    sheet = load_workbook(out)["EHSA"]
    assert sheet["A1"].value == "Grid code" and sheet.max_row == 68
    zh = _cli({**cli_env, "GRIDMAP_LANG": "zh"}, "ehsa", "--from", "2025-04-07", "--to",
              "2025-06-29")
    assert "连续热点" in zh.stdout and "个网格 × 12 个周" in zh.stdout
    text = _cli(cli_env, "pai", "--to", "2025-06-23")
    assert text.returncode == 0, text.stderr
    gi, ehsa = text.stdout.strip().splitlines()
    assert gi.startswith("Gi* hotspots (period from 2025-06-16 predicting the period from "
                         "2025-06-23)") and "/176 cases" in gi
    assert ehsa.startswith("Emerging hot spots") and float(ehsa.rsplit("PAI ", 1)[1]) > 1.5


def test_workload_partition_and_balance_commands(cli_env: dict[str, str]) -> None:
    from tests.fixtures.grids import make_community

    eng = make_engine(cli_env["DATABASE_URL"], poolclass=sa.pool.NullPool)
    with eng.begin() as c:
        make_community(c)  # 310107005001: 3 × 2 blocks, 1,200 households
    eng.dispose()
    res = _cli(cli_env, "partition", "310107005001", "--target", "cases", "--seed", "1")
    assert res.returncode == 0, res.stderr
    assert "Households: 3 grids" in res.stdout and "0 grids outside 300–500" in res.stdout
    assert "Cases per month (last 12 months): min 0.0" in res.stdout
    vid = res.stdout.split("Grid plan ")[1].split(":")[0]
    bal = json.loads(_cli(cli_env, "balance", vid, "--target", "patrol", "--json").stdout)
    assert bal["grids"] == 3 and sum(g["households"] for g in bal["per_grid"]) == 1200
