"""``gridmap supervise …`` in a subprocess against a committed database (English texts)."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import sqlalchemy as sa

from gridmap.db import make_engine
from tests.conftest import REPO
from tests.fixtures.supervision_cases import run_cases
from tests.fixtures.supervision_world import build_street, dispatched_case

T = dt.datetime(2025, 11, 20, 1, 0, tzinfo=dt.UTC)


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / ".venv" / "bin" / "gridmap"), "supervise", *args],
                          env=env, capture_output=True, text=True, timeout=120)


def test_scan_board_notifications_indicators(cli_env: dict[str, str], tmp_path: Path) -> None:
    eng = make_engine(cli_env["DATABASE_URL"], poolclass=sa.pool.NullPool)
    with eng.begin() as c:
        ids = build_street(c)
        dispatched_case(c, ids["CG"], T, accept_minutes=30)
        run_cases(c, ids)
    res = _cli(cli_env, "scan", "--at", "2025-11-20T01:31:00+00:00")
    assert res.returncode == 0, res.stderr
    # the new 应急单 (acceptance overdue) and case C (handling overdue since Nov 13)
    assert "2 red" in res.stdout and "2 escalated" in res.stdout
    board = _cli(cli_env, "board", "--unit", "U-SC")  # both escalated to the street centre
    assert board.returncode == 0 and "2 cases (2 red, 0 yellow)" in board.stdout
    inbox = _cli(cli_env, "notifications", "--user", "lead")
    assert "2 unread" in inbox.stdout and "supervise.escalated" in inbox.stdout
    marked = _cli(cli_env, "notifications", "--user", "lead", "--mark-all-read")
    assert "2 notifications marked read" in marked.stdout
    assert "0 unread" in _cli(cli_env, "notifications", "--user", "lead").stdout
    out = tmp_path / "posts.xlsx"
    ind = _cli(cli_env, "indicators", "posts", "--post", "dispatcher", "--from", "2025-11-01",
               "--to", "2025-12-01", "--out", str(out))
    assert ind.returncode == 0 and out.exists(), ind.stderr
    lv = _cli(cli_env, "indicators", "levels", "--area", "street", "--from", "2025-11-01",
              "--to", "2025-12-01", "--lang", "en")
    assert "319901001\tS\t3\t1\t1\t33.33\t66.67" in lv.stdout
    deliver = _cli(cli_env, "deliver")
    assert deliver.returncode == 0 and "0 delivered" in deliver.stdout


def test_bad_input_is_refused(cli_env: dict[str, str]) -> None:
    res = _cli(cli_env, "scan", "--at", "yesterday")
    assert res.returncode == 1 and "--at: yesterday is not a date/time" in res.stderr
    res = _cli(cli_env, "board", "--unit", "NOPE")
    assert res.returncode == 1 and "unknown unit code NOPE" in res.stderr
    res = _cli(cli_env, "indicators", "units", "--from", "2025-12-01", "--to", "2025-11-01")
    assert res.returncode == 1 and "invalid period" in res.stderr
