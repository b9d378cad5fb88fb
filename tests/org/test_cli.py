"""``gridmap org …`` in a subprocess: import of the three-sheet workbook (dry run, bad file,
passwords file), units, posts, assignments and coverage (English texts)."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import sqlalchemy as sa

from gridmap.db import make_engine
from tests.conftest import REPO
from tests.fixtures.org_world import GRID, STAFF, UNITS, build_geography, org_rows, write_org_xlsx


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / ".venv" / "bin" / "gridmap"), "org", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def _units(env: dict[str, str]) -> int:
    eng = make_engine(env["DATABASE_URL"], poolclass=sa.pool.NullPool)
    with eng.connect() as c:
        return int(c.execute(sa.text("SELECT count(*) FROM org_unit")).scalar_one())


def test_import_workbook_then_manage(cli_env: dict[str, str], tmp_path: Path) -> None:
    eng = make_engine(cli_env["DATABASE_URL"], poolclass=sa.pool.NullPool)
    with eng.begin() as c:
        build_geography(c)
    rows = org_rows()
    rows["单位"].append(("BAD", "坏单位", "火星局", "", "", "", "", "", ""))
    bad = _cli(cli_env, "import", str(write_org_xlsx(tmp_path / "bad.xlsx", rows)))
    assert bad.returncode == 1 and "row 9" in bad.stderr and "火星局" in bad.stderr
    book = write_org_xlsx(tmp_path / "org.xlsx")
    dry = _cli(cli_env, "import", str(book), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"dry run (nothing written): units {len(UNITS)} new" in dry.stdout
    assert _units(cli_env) == 0
    pw = tmp_path / "passwords.csv"
    ok = _cli(cli_env, "import", str(book), "--passwords-out", str(pw))
    assert ok.returncode == 0, ok.stderr
    assert f"accounts {len(STAFF) + 1} new" in ok.stdout
    assert stat.S_IMODE(pw.stat().st_mode) == 0o600
    assert len(pw.read_text().splitlines()) == len(STAFF) + 2
    listed = _cli(cli_env, "units", "list").stdout.splitlines()
    assert listed[0].startswith("QU\t") and any(x.startswith("      WY\t") for x in listed)
    cov = _cli(cli_env, "coverage", "--level", "street")
    assert "3/4\t75.0%" in cov.stdout and GRID["W2"] in cov.stdout
    add = _cli(cli_env, "assignments", "add", "ow_gw_w", GRID["W2"], "--duty", "周末")
    assert add.returncode == 0, add.stderr
    assert "4/4\t100.0%" in _cli(cli_env, "coverage", "--level", "street").stdout
    assigned = _cli(cli_env, "posts", "assign", "ow_cg", "FG", "处置人员")
    assert assigned.returncode == 0 and "handler in FG" in assigned.stdout
    assert _cli(cli_env, "posts", "list", "ow_cg").stdout.splitlines() == ["CG\thandler",
                                                                          "FG\thandler"]
    refused = _cli(cli_env, "units", "deactivate", "JD")
    assert refused.returncode == 1 and "CG" in refused.stderr
    added = _cli(cli_env, "units", "add", "LH", "和平绿化市容所", "--kind", "绿化市容所",
                 "--parent", "JD", "--area", "319902001")
    assert added.returncode == 0, added.stderr
    assert _units(cli_env) == len(UNITS) + 1
