"""Satisfaction words of office files → the 1–5 score of 评价."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gridmap.reference import satisfaction


def test_words_digits_and_unknown_text() -> None:
    texts = pd.Series(["满意", "基本满意", None, "不满意", "５分", "还行吧", "3", " 满 意 ",
                       "Satisfied", "", "6"])
    assert satisfaction.scores(texts).tolist() == [
        5, 4, pd.NA, 1, 5, pd.NA, 3, 5, 5, pd.NA, pd.NA]


def test_an_office_scale_file_replaces_the_shipped_one(tmp_path: Path) -> None:
    path = tmp_path / "scale.csv"
    path.write_text("text,score\n满意,4\n基本满意,3\n", encoding="utf-8")
    words = satisfaction.scale(path)
    assert satisfaction.scores(pd.Series(["满意", "基本满意", "不满意"]), words).tolist() == [
        4, 3, pd.NA]
