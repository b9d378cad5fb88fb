"""A non-editable ``pip install .`` into a fresh virtualenv works from any directory.

The package is built from a copy of the project's package files (what ``pip install .``
sees), installed with its dependencies resolved by pip into a virtualenv that shares no
site-packages with the development one, then run from an unrelated directory: ``gridmap
--help`` and ``gridmap db migrate`` against a database of the test cluster. Migrations,
catalogues, message catalogues and web assets must come from the installed package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gridmap import config
from tests.conftest import REPO

PACKAGE_FILES = ("pyproject.toml", "README.md")
PACKAGE_DIRS = ("gridmap", "web")


def _copy_sources(dest: Path) -> Path:
    dest.mkdir()
    for name in PACKAGE_FILES:
        shutil.copy2(REPO / name, dest / name)
    for name in PACKAGE_DIRS:
        shutil.copytree(REPO / name, dest / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def _clean_env(**extra: str) -> dict[str, str]:
    drop = {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "GRIDMAP_DATA_DIR", "XDG_DATA_HOME",
            "DATABASE_URL"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(extra)
    return env


@pytest.mark.slow
def test_non_editable_install_runs_from_any_directory(empty_db_url: str,
                                                      tmp_path: Path) -> None:
    src = _copy_sources(tmp_path / "src")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile",
         "--disable-pip-version-check", str(src)],
        env=_clean_env(), capture_output=True, text=True, timeout=900)
    assert pip.returncode == 0, pip.stderr[-3000:]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    home = tmp_path / "home"
    env = _clean_env(HOME=str(home), GRIDMAP_LANG="en")
    python, gridmap = str(venv / "bin" / "python"), str(venv / "bin" / "gridmap")

    def run(*argv: str, **more: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(argv), cwd=elsewhere, env={**env, **more},
                              capture_output=True, text=True, timeout=300)

    where = run(python, "-c", "import gridmap, web; from gridmap.config import Settings, "
                "DATA_GEO; print(gridmap.__file__); print(web.__file__); "
                "print(Settings.load().data_dir); print(DATA_GEO)")
    assert where.returncode == 0, where.stderr
    package, web_init, data_dir, data_geo = where.stdout.split()
    site = str(venv / "lib")
    assert package.startswith(site) and web_init.startswith(site) and data_geo.startswith(site)
    outside = "/var/lib/gridmap" if os.geteuid() == 0 else home / ".local" / "share" / "gridmap"
    assert data_dir == str(outside)
    assert (Path(data_geo) / "osm" / "chelsea.osm.pbf").is_file()
    if (REPO / "web" / "static" / "vendor" / "leaflet" / "leaflet.js").is_file():
        assert (Path(web_init).parent / "static" / "vendor" / "leaflet" / "leaflet.js").is_file()

    helped = run(gridmap, "--help")
    assert helped.returncode == 0, helped.stderr
    for command in ("db", "sample", "serve", "users"):
        assert f"  {command} " in helped.stdout

    migrated = run(gridmap, "db", "migrate", DATABASE_URL=empty_db_url)
    assert migrated.returncode == 0, migrated.stderr
    assert "schema at head; catalogues: " in migrated.stdout
    zh = run(gridmap, "db", "status", DATABASE_URL=empty_db_url, GRIDMAP_LANG="zh")
    assert zh.stdout.strip() == "使用 DATABASE_URL（外部数据库服务器）"


def test_the_data_directory_is_in_the_checkout_or_a_writable_place_outside_the_package(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert config.checkout_root() == REPO
    assert config.default_data_dir() == REPO / ".gridmap"
    monkeypatch.setattr(config, "checkout_root", lambda: None)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert config.default_data_dir() == tmp_path / "xdg" / "gridmap"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config.default_data_dir() == tmp_path / ".local" / "share" / "gridmap"
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert config.default_data_dir() == Path("/var/lib/gridmap")
