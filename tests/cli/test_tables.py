"""The tabular import commands in a subprocess: ``import inspect``, ``import incidents --map``
with ``--history``, ``--report`` and ``--reject-file``, ``import/export category-map`` and
``import catalogue divisions``; every bad case exits 1 with a summary and changes nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from gridmap.db import make_engine
from tests.conftest import REPO
from tests.fixtures.hotline import hotline_frame, write_gb18030, write_xlsx
from tests.fixtures.incident_world import build_world


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / ".venv" / "bin" / "gridmap"), *args], env=env,
                          capture_output=True, text=True, timeout=180)


def _incidents(env: dict[str, str]) -> int:
    eng = make_engine(env["DATABASE_URL"], poolclass=sa.pool.NullPool)
    with eng.connect() as c:
        return int(c.execute(sa.text("SELECT count(*) FROM incident")).scalar_one())


def test_hotline_export_from_inspect_to_import(cli_env: dict[str, str], tmp_path: Path) -> None:
    eng = make_engine(cli_env["DATABASE_URL"], poolclass=sa.pool.NullPool)
    with eng.begin() as c:
        build_world(c)
    frame = hotline_frame(1200, seed=12)
    frame.loc[100:1149, "经度"] = ""                   # 1,050 bad rows: more than 1,000
    path = write_gb18030(frame, tmp_path / "12345工单.csv")
    ins = _cli(cli_env, "import", "inspect", str(path), "--out", str(tmp_path / "p.yaml"))
    assert ins.returncode == 0, ins.stderr
    assert "encoding gb18030" in ins.stdout and "经度 → lon" in ins.stdout
    report = tmp_path / "problems.csv"
    res = _cli(cli_env, "import", "incidents", str(path), "--map", str(tmp_path / "p.yaml"),
               "--history", "--report", str(report))
    assert res.returncode == 1 and "1050 bad row(s); nothing imported" in res.stderr
    assert "1050 × [error] incidents.no_coordinates" in res.stderr
    assert "and 1031 more; --report FILE writes the full list" in res.stderr
    assert len(res.stderr.splitlines()) < 40           # a summary, not 1,050 lines
    assert len(pd.read_csv(report, encoding="utf-8-sig")) == 1051 and _incidents(cli_env) == 0
    rej = tmp_path / "rejected.csv"
    ok = _cli(cli_env, "import", "incidents", str(path), "--map", "hotline-12345", "--history",
              "--reject-file", str(rej))
    assert ok.returncode == 0, ok.stderr
    assert "imported 150 incident(s) from 1200 row(s)" in ok.stdout
    assert "1050 rejected" in ok.stdout and _incidents(cli_env) == 150
    assert len(pd.read_csv(rej, encoding="utf-8-sig", dtype=str)) == 1050
    good = pd.concat([frame.iloc[:100], frame.iloc[1150:]])
    xlsx = write_xlsx(good, tmp_path / "工单.xlsx")
    again = _cli(cli_env, "import", "incidents", str(xlsx), "--map", "hotline-12345",
                 "--sheet", "工单明细", "--history", "--dry-run")
    assert again.returncode == 0 and "150 already present" in again.stdout


def test_category_map_and_divisions_commands(cli_env: dict[str, str], tmp_path: Path) -> None:
    src = tmp_path / "map.csv"
    src.write_text("外部类别,类别代码\n宠物扰民,E0604\n", encoding="utf-8-sig")
    res = _cli(cli_env, "import", "category-map", str(src))
    assert res.returncode == 0 and "added 1" in res.stdout
    out = tmp_path / "out.csv"
    res = _cli(cli_env, "export", "category-map", str(out))
    assert res.returncode == 0 and "宠物扰民,E0604" in out.read_text(encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("external,code\n宠物扰民,E9999\n", encoding="utf-8")
    res = _cli(cli_env, "import", "category-map", str(bad))
    assert res.returncode == 1 and "not in the event catalogue" in res.stderr
    div = tmp_path / "areas.csv"
    div.write_text("code,name,cityCode,provinceCode\n110108,海淀区,1101,11\n",
                   encoding="utf-8-sig")
    res = _cli(cli_env, "import", "catalogue", "divisions", str(div))
    assert res.returncode == 0 and "divisions: 1 row(s) read; added 1" in res.stdout
