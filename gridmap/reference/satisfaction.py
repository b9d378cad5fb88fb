"""Satisfaction as written in office files (满意/基本满意/不满意…) → the 1–5 score of 评价.

12345 return visits record a word, the 评价 stage a score 1–5 (``incident.satisfaction_score``;
indicators count 4 and 5 as satisfied). The scale is data (``gridmap/data/satisfaction_scale.csv``,
every row tagged ``seed``: the hotline's own scale is local, so an office may ship its own file);
digits 1–5 (also ``5分``, ``５``) are read as the score. Text that is neither stays only as the
imported text (``incident.satisfaction``) with no score: nothing is guessed.
"""

from __future__ import annotations

import csv
import functools
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from gridmap.config import DATA_GEO

SATISFACTION_SCALE_CSV = DATA_GEO / "satisfaction_scale.csv"


@functools.cache
def scale(path: Path = SATISFACTION_SCALE_CSV) -> dict[str, int]:
    """The scale's words (normalised: NFKC, lower case, no spaces) → score 1–5."""
    with path.open(encoding="utf-8", newline="") as fh:
        return {_norm(r["text"]): int(r["score"]) for r in csv.DictReader(fh)
                if r.get("text") and 1 <= int(r["score"]) <= 5}


def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def scores(texts: pd.Series, words: dict[str, int] | None = None) -> pd.Series:
    """The 1–5 score of each text (nullable ``Int64``; missing or unknown text → ``<NA>``).

    Vectorised: each distinct text is looked up once.
    """
    words = scale() if words is None else words
    codes, uniques = pd.factorize(texts.astype(object).where(texts.notna(), None))
    looked = np.array([_score(str(u), words) for u in uniques] + [-1], dtype=np.int64)
    out = looked[codes]                      # code -1 (missing) picks the trailing -1
    return pd.Series(pd.array(np.where(out > 0, out, 0), dtype="Int64"),
                     index=texts.index).where(out > 0, pd.NA)


def _score(text: str, words: dict[str, int]) -> int:
    key = _norm(text).removesuffix("分")
    if key in words:
        return words[key]
    if key.isdigit() and 1 <= int(key) <= 5:
        return int(key)
    return -1
