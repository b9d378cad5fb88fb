"""Bad rows at scale: summaries by reason, the full report, the reject file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gridmap.errors import Problem
from gridmap.imports.problems import bad_rows, summarise, write_problem_report, write_rejects


def _problems(n: int) -> list[Problem]:
    out = [Problem("incidents.no_coordinates", row=r, field="lon") for r in range(1, n + 1)]
    out += [Problem("incidents.unknown_category", {"category": "外星人"}, row=r,
                    field="category_code") for r in (2, 3)]
    out.append(Problem("tables.closed_without_time", row=5, field="closed_at",
                       severity="warning"))
    return out


def test_summary_groups_by_reason_with_first_rows() -> None:
    s = summarise(_problems(3215))
    assert [(r.code, r.count) for r in s] == [("incidents.no_coordinates", 3215),
                                              ("incidents.unknown_category", 2),
                                              ("tables.closed_without_time", 1)]
    assert s[0].rows == tuple(range(1, 11))


def test_report_has_every_problem_with_its_value(tmp_path: Path) -> None:
    values = pd.DataFrame({"经度": [""] * 3215, "诉求类型": ["外星人"] * 3215})
    out = tmp_path / "report.csv"
    n = write_problem_report(_problems(3215), out, lang="zh", values=values,
                             columns={"lon": "经度", "category_code": "诉求类型"})
    back = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert n == len(back) == 3218
    assert back.loc[back["code"] == "incidents.unknown_category", "value"].tolist() == [
        "外星人", "外星人"]
    assert back["reason"].iloc[0] == "缺少坐标或坐标不是数字"


def test_rejects_keep_source_columns_and_all_reasons(tmp_path: Path) -> None:
    frame = pd.DataFrame({"工单编号": [f"GD{i}" for i in range(6)]})
    problems = _problems(0) + [Problem("incidents.no_coordinates", row=2, field="lon")]
    assert bad_rows(problems).tolist() == [1, 2]
    out = tmp_path / "rej.csv"
    assert write_rejects(frame, problems, out, lang="en") == 2
    back = pd.read_csv(out, dtype=str, encoding="utf-8-sig")
    assert back["工单编号"].tolist() == ["GD1", "GD2"]
    assert back["reasons"].iloc[0].count(";") == 1  # both reasons of row 2
