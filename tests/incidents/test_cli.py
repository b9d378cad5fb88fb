"""``gridmap import incidents`` and ``gridmap incidents …`` in a subprocess (English texts)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from gridmap.db import make_engine
from tests.conftest import REPO
from tests.fixtures.incident_world import GOOD, build_world, write_csv


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / ".venv" / "bin" / "gridmap"), *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_import_dry_run_bad_file_and_transition(cli_env: dict[str, str],
                                                    tmp_path: Path) -> None:
    eng = make_engine(cli_env["DATABASE_URL"], poolclass=sa.pool.NullPool)
    with eng.begin() as c:
        build_world(c)
    good = write_csv(tmp_path, GOOD)
    dry = _cli(cli_env, "import", "incidents", str(good), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run: would import 2" in dry.stdout
    ok = _cli(cli_env, "import", "incidents", str(good))
    assert ok.returncode == 0 and "imported 2" in ok.stdout and "1 outside every grid" in ok.stdout
    again = _cli(cli_env, "import", "incidents", str(good))
    assert "imported 0" in again.stdout and "2 already present" in again.stdout
    bad = tmp_path / "bad.csv"
    pd.DataFrame(GOOD + [{"service_request_id": "X", "service_code": "NOPE", "long": 121.415,
                          "lat": 31.205, "requested_datetime": "2025-11-20 10:00"}]
                 ).to_csv(bad, index=False)
    res = _cli(cli_env, "import", "incidents", str(bad))
    assert res.returncode == 1 and "row 3" in res.stderr and "unknown category" in res.stderr
    with eng.connect() as c:
        iid = c.execute(sa.text("SELECT id FROM incident WHERE external_id = 'A1'")).scalar_one()
        assert c.execute(sa.text("SELECT count(*) FROM incident")).scalar_one() == 2
    t = _cli(cli_env, "incidents", "transition", str(iid), "closed")
    assert t.returncode == 1 and "cannot go from reported" in t.stderr
    t = _cli(cli_env, "incidents", "transition", str(iid), "filed", "--note", "核实")
    assert t.returncode == 0 and "filed (立案)" in t.stdout
    out = tmp_path / "ind.xlsx"
    ind = _cli(cli_env, "incidents", "indicators", "--level", "community", "--from", "2025-11-01",
               "--to", "2025-12-01", "--out", str(out))
    assert ind.returncode == 0 and out.exists()
    # A2 lies in G1's hole: placed in the nearest grid, to be confirmed by a supervisor
    with eng.connect() as c:
        a2 = c.execute(sa.text("SELECT id FROM incident WHERE external_id = 'A2'")).scalar_one()
    ls = _cli(cli_env, "incidents", "confirm-location", str(a2), "--list")
    assert ls.returncode == 0 and "319901001001001\t" in ls.stdout and "current" in ls.stdout
    gone = _cli(cli_env, "incidents", "confirm-location", "999999", "--list")
    assert gone.returncode == 1 and "not found" in gone.stderr
    bad = _cli(cli_env, "incidents", "confirm-location", str(a2), "--grid", "999")
    assert bad.returncode == 1 and "not one of the grids nearest" in bad.stderr
    mv = _cli(cli_env, "incidents", "confirm-location", str(a2), "--grid", "319901001001003")
    assert mv.returncode == 0 and "moved to grid 319901001001003" in mv.stdout, mv.stderr
    with eng.connect() as c:
        assert c.execute(sa.text("SELECT location_confirmed_by FROM incident WHERE id = :i"),
                         {"i": a2}).scalar_one() == "cli"
    eng.dispose()
