"""``gridmap ratings …`` end to end on a committed database (subprocesses)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from openpyxl import load_workbook

from gridmap import ratings
from gridmap.db import make_engine
from tests.ratings.world import CODES, build


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from gridmap.cli import main; main()", *args],
                          env=env, capture_output=True, text=True, timeout=180)


def test_compute_enter_confirm_export_report(cli_env: dict[str, str], tmp_path: Path) -> None:
    eng = make_engine(cli_env["DATABASE_URL"], poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        build(conn)
        for crit, val in (("conduct", 95), ("exemplary", 1), ("no_serious_violation", 1)):
            ratings.enter(conn, ratings.OPERATOR, 2026, "acceptance", CODES["A"], crit, val, "核实")
    eng.dispose()
    yr = ["--year", "2026", "--round", "acceptance"]
    r = _run(cli_env, "ratings", "compute", *yr, "--as-of", "2026-11-20")
    assert r.returncode == 0 and "computed 3 committee drafts" in r.stdout and "4★:1" in r.stdout
    r = _run(cli_env, "ratings", "confirm", CODES["A"], *yr, "--user", "sv1")
    assert r.returncode == 1 and "4★" in r.stderr  # a street rater cannot give 4★
    r = _run(cli_env, "ratings", "confirm", CODES["A"], *yr, "--user", "dl")
    assert r.returncode == 0 and "4★" in r.stdout and "4 cases frozen" in r.stdout, r.stderr
    xlsx = tmp_path / "r.xlsx"
    r = _run(cli_env, "ratings", "export", "--xlsx", str(xlsx), *yr)
    assert r.returncode == 0 and load_workbook(xlsx).worksheets[0].max_row == 4
    html = tmp_path / "r.html"
    r = _run(cli_env, "ratings", "report", "--street", "319801001", *yr, "--out", str(html))
    assert r.returncode == 0 and "甲街道" in html.read_text(encoding="utf-8")
