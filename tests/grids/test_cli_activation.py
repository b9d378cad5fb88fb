"""``gridmap grids activate … --effective <future>``, ``activate-due`` and ``unschedule``
(gridmap.cli.grids, issue #16) against a fresh database."""

from __future__ import annotations

import sqlalchemy as sa

from gridmap.db import make_engine
from tests.fixtures.grids import make_community
from tests.grids.test_cli import _cli


def test_future_activation_is_scheduled_then_withdrawn(fresh_db_url: str,
                                                       cli_env: dict[str, str]) -> None:
    eng = make_engine(fresh_db_url, poolclass=sa.pool.NullPool)
    with eng.begin() as c:
        make_community(c, code="310107005004")
    res = _cli(cli_env, "grids", "autopartition", "310107005004", "--activate", "2026-01-01")
    assert res.returncode == 0, res.stderr
    res = _cli(cli_env, "grids", "autopartition", "310107005004")
    draft = res.stdout.split("version ")[1].split(",")[0]
    res = _cli(cli_env, "grids", "activate", draft, "--effective", "2099-01-01")
    assert res.returncode == 0, res.stderr
    assert "scheduled from 2099-01-01" in res.stdout and "stays in force" in res.stdout
    res = _cli(cli_env, "grids", "activate-due")
    assert res.returncode == 0 and "0 scheduled plan(s) put in force" in res.stdout
    with eng.connect() as c:
        assert c.execute(sa.text("SELECT status FROM grid_version WHERE id = :v"),
                         {"v": int(draft)}).scalar_one() == "scheduled"
    res = _cli(cli_env, "grids", "unschedule", draft)
    assert res.returncode == 0 and "a draft again" in res.stdout, res.stderr
    res = _cli(cli_env, "grids", "unschedule", draft)
    assert res.returncode == 1 and "only a scheduled plan can be withdrawn" in res.stderr
    res = _cli(cli_env, "grids", "activate-due", "--every", "0")
    assert res.returncode != 0 and "--every 0" in res.stderr
    eng.dispose()
