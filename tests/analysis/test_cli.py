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
    assert "67 grids × 12 weeks (2025-04-07 to 2025-06-23), 968 cases" in res.stdout
    assert "Consecutive hot spot: " in res.stdout
    sheet = load_workbook(out)["EHSA"]
    assert sheet["A1"].value == "Grid code" and sheet.max_row == 68
    zh = _cli({**cli_env, "GRIDMAP_LANG": "zh"}, "ehsa", "--from", "2025-04-07", "--to",
              "2025-06-29")
    assert "连续热点" in zh.stdout and "个网格 × 12 个周" in zh.stdout
    pai = _cli(cli_env, "pai", "--to", "2025-06-23", "--json")
    assert pai.returncode == 0, pai.stderr
    figures = {r["method"]: r for r in json.loads(pai.stdout)}
    assert set(figures) == {"gi", "ehsa"} and figures["gi"]["cases"] == 176
    assert figures["gi"]["pai"] > 1.5 and figures["ehsa"]["pai"] > 1.5
    text = _cli(cli_env, "pai", "--method", "gi", "--to", "2025-06-23")
    assert "Gi* hotspots (period from 2025-06-16 predicting the period from 2025-06-23)" in text.stdout
    bad = _cli(cli_env, "ehsa", "--street", "999999999")
    assert bad.returncode == 1 and "No street with code: 999999999" in bad.stderr + bad.stdout
