"""``gridmap profile`` and ``gridmap access fca`` in a subprocess on a committed profile
world (English texts)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import sqlalchemy as sa
from openpyxl import load_workbook

from gridmap.db import make_engine
from tests.conftest import REPO
from tests.profiles.world import WEST, profile_world


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / ".venv" / "bin" / "gridmap"), *args], env=env,
                          capture_output=True, text=True, timeout=180)


def test_profile_and_fca_commands(cli_env: dict[str, str], tmp_path: Path) -> None:
    eng = make_engine(cli_env["DATABASE_URL"], poolclass=sa.pool.NullPool)
    with eng.begin() as c:
        profile_world(c)
    eng.dispose()
    xlsx, page = tmp_path / "west.xlsx", tmp_path / "west.html"
    res = _cli(cli_env, "profile", WEST, "--xlsx", str(xlsx), "--html", str(page))
    assert res.returncode == 0, res.stderr
    assert "West (310101001001): Residents 340, Households 113, Grid workers 1" in res.stdout
    assert "Kindergarten: 88.2%, Residents not covered 40" in res.stdout
    assert load_workbook(xlsx).sheetnames[-1] == "Sites"
    html = page.read_text(encoding="utf-8")
    assert "@media print" in html and "<script" not in html and "Candidate sites" in html
    fca = _cli(cli_env, "access", "fca", "--type", "kindergarten", "--decay", "gaussian",
               "--json")
    assert fca.returncode == 0, fca.stderr
    [kg] = json.loads(fca.stdout)
    assert kg["decay"] == "gaussian" and kg["capacity_reached"] == 30.0
    bad = _cli(cli_env, "access", "fca", "--type", "bus_stop")
    assert bad.returncode == 1 and "has no capacity" in bad.stderr
