"""The CLI prints its messages in GRIDMAP_LANG: Chinese by default, English on request."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

GRIDMAP = str(Path(sys.executable).parent / "gridmap")


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GRIDMAP, *args], env=env, capture_output=True, text=True,
                          timeout=120)


def _env(base: dict[str, str], lang: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in base.items() if k != "GRIDMAP_LANG"}
    if lang is not None:
        env["GRIDMAP_LANG"] = lang
    env.update(extra)
    return env


def test_an_error_before_any_database_work_is_chinese_by_default() -> None:
    base = {k: v for k, v in os.environ.items() if k != "GRIDMAP_UNSET_PW"}
    args = ("users", "add", "zhao", "--role", "planner", "--password-env", "GRIDMAP_UNSET_PW")
    zh = _run(_env(base, None), *args)
    assert zh.returncode == 1
    assert zh.stderr.strip() == "错误: 环境变量 GRIDMAP_UNSET_PW 未设置"
    assert "environment variable" not in zh.stderr
    en = _run(_env(base, "en"), *args)
    assert en.returncode == 1
    assert "error: environment variable GRIDMAP_UNSET_PW is not set" in en.stderr


def test_bad_account_input_is_reported_in_chinese_then_english(cli_env: dict[str, str]) -> None:
    args = ("users", "add", "zhao", "--role", "supervisor", "--password-env", "PW")
    zh = _run(_env(cli_env, None, PW="short"), *args)
    assert zh.returncode == 1
    assert "错误: 账号信息有误" in zh.stderr
    assert "[错误] 字段 password：密码至少需要 8 个字符" in zh.stderr
    assert "监督员须指定管辖范围" in zh.stderr
    assert "password must" not in zh.stderr
    en = _run(_env(cli_env, "en", PW="short"), *args)
    assert en.returncode == 1
    assert "error: invalid account" in en.stderr
    assert "[error] field password: password must have at least 8 characters" in en.stderr
    assert "a supervisor needs a scope" in en.stderr
    assert "账号" not in en.stderr
