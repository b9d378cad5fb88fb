"""From measured sums and entered values to criterion values, scores, stars and reasons.

Pure and vectorised: one numpy pass over all committees (rows) for each criterion.

- ``response`` (急难愁盼回应度) = ``accept_weight`` × 按时接单率 + ``on_time_weight`` × 按期结案率
  of residents' cases (facts 1–4), in percent; a part without cases is left out and the
  weights of the others renormalised; no case at all → no value.
- ``satisfaction`` (群众满意度) = ``mean_weight`` × (mean satisfaction at 评价 / 5 × 100) +
  ``hotline_weight`` × mean of the available 12345 三率 (响应率 facts 7/8, 解决率 9/10,
  满意率 11/12), with the same renormalisation.
- ``categories`` condition: passes when open cases at ``as_of`` ≤ ``max_open`` and cases
  reported in the period ≤ ``max_new``.
- ``service`` condition: passes when at most ``max_missing`` required types reach less than
  ``min_share`` of the committee's residents; no coverage results → unknown.
- entered criteria: the rater's value (score 0–100; condition 1 = met, 0 = not met).

The score is the weighted mean of the score criteria that have a value; stars are 1 plus the
number of ``min_score`` thresholds reached; every failed condition caps the stars at its
``cap_stars``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gridmap.errors import Problem
from gridmap.ratings.measure import BASE_SLOTS, category_criteria
from gridmap.ratings.scheme import Criterion, Scheme

Entries = Mapping[tuple[int, str], Mapping[str, Any]]
Gaps = Mapping[int, Sequence[Mapping[str, Any]]] | None


@dataclass
class Scored:
    """The result for n committees: per-criterion value/passed arrays and totals."""

    values: dict[str, np.ndarray]
    passed: dict[str, np.ndarray]
    score: np.ndarray
    computed_stars: np.ndarray
    complete: np.ndarray


def _rate(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, 100.0 * num / np.maximum(den, 1), np.nan)


def _mix(parts: Sequence[tuple[np.ndarray, float]]) -> np.ndarray:
    """Weighted mean of the parts that are not NaN; NaN when none is."""
    vals = np.stack([p for p, _ in parts])
    w = np.array([w for _, w in parts], dtype=float)[:, None] * ~np.isnan(vals)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(w.sum(axis=0) > 0, np.nansum(vals * w, axis=0) / w.sum(axis=0), np.nan)


def _response(c: Criterion, s: np.ndarray) -> np.ndarray:
    return _mix([(_rate(s[:, 1], s[:, 0]), float(c.params.get("accept_weight", 0.5))),
                 (_rate(s[:, 3], s[:, 2]), float(c.params.get("on_time_weight", 0.5)))])


def _satisfaction(c: Criterion, s: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(s[:, 4] > 0, s[:, 5] / np.maximum(s[:, 4], 1) / 5.0 * 100.0, np.nan)
    hotline = _mix([(_rate(s[:, 7], s[:, 6]), 1.0), (_rate(s[:, 9], s[:, 8]), 1.0),
                    (_rate(s[:, 11], s[:, 10]), 1.0)])
    return _mix([(mean, float(c.params.get("mean_weight", 0.5))),
                 (hotline, float(c.params.get("hotline_weight", 0.5)))])


def _missing_types(c: Criterion, gaps: Gaps, ids: Sequence[int]) -> np.ndarray:
    if gaps is None:
        return np.full(len(ids), np.nan)
    share = float(c.params.get("min_share", 0.8))
    return np.array([sum(1 for g in gaps.get(i, ()) if (g["share"] or 0.0) < share)
                     for i in ids], dtype=float)


def _entered(c: Criterion, entries: Entries, ids: Sequence[int]) -> np.ndarray:
    return np.array([float(entries[(i, c.code)]["value"]) if (i, c.code) in entries else np.nan
                     for i in ids])


def evaluate(scheme: Scheme, ids: Sequence[int], sums: np.ndarray, entries: Entries,
             gaps: Gaps) -> Scored:
    """Values, passes, score and stars of the committees ``ids`` (rows of ``sums``)."""
    cats = {c.code: k for k, c in enumerate(category_criteria(scheme))}
    values: dict[str, np.ndarray] = {}
    passed: dict[str, np.ndarray] = {}
    n = len(ids)
    for c in scheme.criteria:
        if c.source == "entered":
            v = _entered(c, entries, ids)
        elif c.measure == "response":
            v = _response(c, sums)
        elif c.measure == "satisfaction":
            v = _satisfaction(c, sums)
        elif c.measure == "categories":
            k = BASE_SLOTS + 2 * cats[c.code]
            v = sums[:, k].astype(float)  # open at as_of; new in the period is slot k+1
            ok = (sums[:, k] <= int(c.params.get("max_open", 0))) & (
                sums[:, k + 1] <= int(c.params.get("max_new", 0)))
            passed[c.code] = np.where(ok, 1.0, 0.0)
        else:
            v = _missing_types(c, gaps, ids)
            passed[c.code] = np.where(np.isnan(v), np.nan,
                                      (v <= int(c.params.get("max_missing", 0))).astype(float))
        values[c.code] = v
        if c.kind == "condition" and c.code not in passed:
            passed[c.code] = np.where(np.isnan(v), np.nan, (v >= 0.5).astype(float))
    score = _mix([(values[c.code], c.weight) for c in scheme.criteria if c.kind == "score"]
                 ) if n else np.zeros(0)
    mins = np.array([scheme.min_score[k] for k in (2, 3, 4, 5)])
    stars = 1 + (np.nan_to_num(score, nan=-1.0)[:, None] >= mins[None, :]).sum(axis=1)
    for c in scheme.criteria:
        if c.kind == "condition" and c.cap_stars is not None:
            stars = np.where(passed[c.code] == 0.0, np.minimum(stars, c.cap_stars), stars)
    complete = np.ones(n, dtype=bool)
    for c in scheme.criteria:
        if c.source == "entered":
            complete &= ~np.isnan(values[c.code])
    return Scored(values, passed, score, stars.astype(int), complete)


def _names(c: Criterion) -> dict[str, Any]:
    return {"criterion": {"zh": c.name_zh, "en": c.name_en}}


def rounded(x: float) -> float | None:
    """``x`` to 2 decimals; ``None`` for NaN (no value)."""
    return None if math.isnan(x) else round(float(x), 2)


@dataclass(frozen=True)
class Row:
    """One committee's scored values as plain Python numbers (NaN = no value)."""

    values: Mapping[str, float]
    passed: Mapping[str, float]
    score: float
    stars: int
    sums: Sequence[int]


def rows_of(scheme: Scheme, scored: Scored, sums: np.ndarray) -> list[Row]:
    """The per-committee rows of ``scored`` (numpy arrays turned into lists once)."""
    codes = [c.code for c in scheme.criteria]
    vals = {k: scored.values[k].tolist() for k in codes}
    pas = {k: v.tolist() for k, v in scored.passed.items()}
    sc, st, sm = scored.score.tolist(), scored.computed_stars.tolist(), sums.tolist()
    return [Row({k: vals[k][n] for k in codes}, {k: v[n] for k, v in pas.items()}, sc[n],
                int(st[n]), sm[n]) for n in range(len(sc))]


def _failed(scheme: Scheme, c: Criterion, r: Row, k: int | None,
            gaps: Sequence[Mapping[str, Any]] | None) -> Problem:
    if c.measure == "categories" and k is not None:
        return Problem("ratings.reason_cases", {
            **_names(c), "open": r.sums[k], "new": r.sums[k + 1],
            "max_open": int(c.params.get("max_open", 0)),
            "max_new": int(c.params.get("max_new", 0)), "cap": c.cap_stars})
    if c.measure == "service":
        share = float(c.params.get("min_share", 0.8))
        low = [g for g in gaps or () if (g["share"] or 0.0) < share]
        names = {"zh": "、".join(g["type_name"] for g in low),
                 "en": ", ".join(g.get("type_name_en") or g["type_code"] for g in low)}
        return Problem("ratings.reason_service", {
            **_names(c), "types": names, "count": len(low),
            "share": round(share * 100), "cap": c.cap_stars})
    return Problem("ratings.reason_not_met", {**_names(c), "cap": c.cap_stars})


def reasons(scheme: Scheme, r: Row, gaps: Sequence[Mapping[str, Any]] | None) -> list[Problem]:
    """Why a committee has its stars: failed conditions, missing values, the score."""
    out: list[Problem] = []
    cats = {c.code: BASE_SLOTS + 2 * k for k, c in enumerate(category_criteria(scheme))}
    for c in scheme.criteria:
        v = r.values[c.code]
        if c.kind == "condition" and r.passed.get(c.code) == 0.0:
            out.append(_failed(scheme, c, r, cats.get(c.code), gaps))
        elif math.isnan(v):
            code = "ratings.reason_not_entered" if c.source == "entered" else "ratings.reason_no_data"
            out.append(Problem(code, {**_names(c)}))
        elif c.kind == "score" and v < scheme.min_score[3]:
            out.append(Problem("ratings.reason_low", {**_names(c), "value": round(v, 1),
                                                      "min": scheme.min_score[3]}))
    sc = rounded(r.score)
    if r.stars < 5 and sc is not None:
        out.append(Problem("ratings.reason_score", {
            "score": sc, "stars": r.stars, "next": r.stars + 1,
            "needed": scheme.min_score[r.stars + 1]}))
    return out


_GAP_KEYS = ("type_code", "type_name", "share", "residents_affected")
_SAT_KEYS = ("rated", "score_sum", "hotline_dispatched", "hotline_responded",
             "hotline_evaluated", "hotline_solved", "hotline_rated", "hotline_satisfied")


def criteria_record(scheme: Scheme, r: Row, entries: Entries, cid: int,
                    gaps: Sequence[Mapping[str, Any]] | None) -> dict[str, Any]:
    """The stored per-criterion record of a committee: value, passed, inputs, entry."""
    out: dict[str, Any] = {}
    cats = {c.code: BASE_SLOTS + 2 * k for k, c in enumerate(category_criteria(scheme))}
    for c in scheme.criteria:
        rec: dict[str, Any] = {"value": rounded(r.values[c.code])}  # kind etc.: the scheme
        if c.code in r.passed:
            p = r.passed[c.code]
            rec["passed"] = None if math.isnan(p) else bool(p)
        if c.measure == "response":
            rec["inputs"] = {"dispatched": r.sums[0], "accepted_in_time": r.sums[1],
                             "due": r.sums[2], "closed_on_time": r.sums[3]}
        elif c.measure == "satisfaction":
            rec["inputs"] = dict(zip(_SAT_KEYS, r.sums[4:12], strict=True))
        elif c.measure == "categories":
            k = cats[c.code]
            rec["inputs"] = {"open": r.sums[k], "new": r.sums[k + 1]}
        elif c.measure == "service":  # the gaps that count (below min_share) are kept
            share = float(c.params.get("min_share", 0.8))
            rec["gaps"] = None if gaps is None else [
                {k: g[k] for k in _GAP_KEYS} for g in gaps if (g["share"] or 0.0) < share]
        if (cid, c.code) in entries:
            rec["entry"] = dict(entries[(cid, c.code)])
        out[c.code] = rec
    return out


def slots_of(scheme: Scheme, code: str) -> list[int]:
    """The 1-based fact slots behind criterion ``code`` (empty for entered and service)."""
    c = scheme.criterion(code)
    if c.measure == "response":
        return [1, 2, 3, 4]
    if c.measure == "satisfaction":
        return list(range(5, 13))
    if c.measure == "categories":
        k = BASE_SLOTS + 2 * [x.code for x in category_criteria(scheme)].index(code)
        return [k + 1, k + 2]
    return []
