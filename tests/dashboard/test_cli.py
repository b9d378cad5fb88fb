"""``gridmap dashboard kpis`` in a subprocess: the same numbers as the API's payload."""

from __future__ import annotations

import json
import subprocess

import sqlalchemy as sa

from gridmap.accounts import users
from gridmap.db import make_engine
from tests.conftest import REPO
from tests.dashboard.web_cases import add_cases
from tests.fixtures.web import seed_district


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / ".venv" / "bin" / "gridmap"), *args], env=env,
                          capture_output=True, text=True, timeout=180)


def test_kpis_text_json_area_and_user(cli_env: dict[str, str]) -> None:
    eng = make_engine(cli_env["DATABASE_URL"], poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        seed_district(conn)
        add_cases(conn)
        users.add(conn, "sup2", "correct-horse-battery", "supervisor", streets=["110101002"])
        users.add(conn, "plan", "correct-horse-battery", "planner")
    eng.dispose()
    out = _cli(cli_env, "dashboard", "kpis")
    assert out.returncode == 0, out.stderr
    assert "open cases 4 (overdue 2, urgent/key 2)" in out.stdout
    data = json.loads(_cli(cli_env, "dashboard", "kpis", "--area", "110101001", "--json").stdout)
    assert (data["area"]["code"], data["kpis"]["open"]) == ("110101001", 3)
    mine = json.loads(_cli(cli_env, "dashboard", "kpis", "--user", "sup2", "--json").stdout)
    assert (mine["area"]["code"], mine["kpis"]["open"]) == ("110101002", 1)
    denied = _cli(cli_env, "dashboard", "kpis", "--user", "plan")
    assert denied.returncode == 1 and "may not open the dashboard" in denied.stderr
    zh = _cli({**cli_env, "GRIDMAP_LANG": "zh"}, "dashboard", "kpis")
    assert "在办案件 4" in zh.stdout and "全区" in zh.stdout
