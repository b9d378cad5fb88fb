"""``gridmap dispatch …`` in a subprocess (English texts): rules import/list/export/activate/
rerun, a case through act (proposal, override reason, 接单 by the right post) and raise."""

from __future__ import annotations

import subprocess
from pathlib import Path

import sqlalchemy as sa

from gridmap.db import make_engine
from tests.conftest import REPO
from tests.fixtures.dispatch_world import case
from tests.fixtures.org_world import STREET, build_org_world


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / ".venv" / "bin" / "gridmap"), "dispatch", *args],
                          env=env, capture_output=True, text=True, timeout=120)


def test_rules_and_case_steps(cli_env: dict[str, str], tmp_path: Path) -> None:
    eng = make_engine(cli_env["DATABASE_URL"], poolclass=sa.pool.NullPool)
    with eng.begin() as c:
        build_org_world(c)
        i = case(c, "W1", "E0101")
    rules_csv = tmp_path / "rules.csv"
    rules_csv.write_text(f"顺序,类别,区域编码,处置单位\n1,E0101,{STREET},CG\n2,E01,,NOPE\n",
                         encoding="utf-8")
    bad = _cli(cli_env, "rules", "import", str(rules_csv), "--activate")
    assert bad.returncode == 1 and "row 2" in bad.stderr and "NOPE" in bad.stderr
    rules_csv.write_text(f"顺序,类别,区域编码,处置单位\n1,E0101,{STREET},CG\n", encoding="utf-8")
    dry = _cli(cli_env, "rules", "import", str(rules_csv), "--dry-run")
    assert dry.returncode == 0 and "nothing stored" in dry.stdout, dry.stderr
    ok = _cli(cli_env, "rules", "import", str(rules_csv), "--activate")
    assert ok.returncode == 0 and "Imported 1 routing rules" in ok.stdout, ok.stderr
    listed = _cli(cli_env, "rules", "list")
    assert "* rule set" in listed.stdout and "→ CG 和平城管中队" in listed.stdout
    out = tmp_path / "out.xlsx"
    assert _cli(cli_env, "rules", "export", str(out)).returncode == 0 and out.exists()
    rerun = _cli(cli_env, "rules", "rerun", "--dry-run")
    assert "1 open cases got another proposed unit" in rerun.stdout, rerun.stderr

    filed = _cli(cli_env, "act", str(i), "filed", "--user", "ow_acceptor")
    assert filed.returncode == 0 and "proposed unit CG" in filed.stdout, filed.stderr
    over = _cli(cli_env, "act", str(i), "dispatched", "--unit", "FG")
    assert over.returncode == 1 and "needs a reason" in over.stderr
    sent = _cli(cli_env, "act", str(i), "dispatched", "--user", "ow_dispatch")
    assert sent.returncode == 0 and "handling unit CG" in sent.stdout, sent.stderr
    wrong = _cli(cli_env, "act", str(i), "handling", "--user", "ow_fg")
    assert wrong.returncode == 1 and "(accept)" in wrong.stderr
    assert _cli(cli_env, "act", str(i), "handling", "--user", "ow_cg").returncode == 0
    up = _cli(cli_env, "raise", str(i), "--note", "需要街道协调", "--user", "ow_cg")
    assert up.returncode == 0 and "grid → community" in up.stdout, up.stderr
