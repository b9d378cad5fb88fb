"""Matching parsed addresses against the register: levels, scores, reasons, candidates.

Levels, best first (:data:`LEVELS`): ``building`` (a door plate or a numbered building of a
小区 in the register), ``lane`` (a 弄/支弄 known to the register; a door number not in it is
interpolated between the lane's known numbers), ``road_number`` (a door number interpolated
between the road's known numbers), ``place`` (a named 小区, building or facility), ``road``
(where two roads meet for "X路近Y路"; else the point of the road nearest to the named area,
or the middle of the road's part in the register) and ``area`` (a community or street by
name). Road and place names are looked up exactly, then without a district prefix, then
fuzzily (:func:`rapidfuzz.process.cdist`, edit-distance ratio, once per distinct name).

A result is placed automatically only when its level allows it (:data:`AUTO_LEVELS`), its
score reaches ``auto_min_score``, no "near" cue was given, and no second candidate at another
spot scores within ``tie_margin``: everything else goes to the 地址待确认 queue with its
candidates. The answer depends only on the address and the register (ties resolve by
register id), so geocoding twice gives the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from gridmap.config import Settings, params_from_settings
from gridmap.geocode import candidates as cand
from gridmap.geocode.index import RegisterIndex
from gridmap.geocode.normalise import name_key, place_key
from gridmap.geocode.parse import ParsedAddress, parse

LEVELS: tuple[str, ...] = ("building", "lane", "road_number", "place", "road", "area")
AUTO_LEVELS: frozenset[str] = frozenset({"building", "lane", "road_number", "place"})
STATUSES: tuple[str, ...] = ("auto", "review", "unmatched")


@dataclass(frozen=True)
class MatchParams:
    """Thresholds of the matcher (defaults from :class:`gridmap.config.Settings`)."""

    auto_min_score: float = Settings.geocode_auto_min_score
    tie_margin: float = Settings.geocode_tie_margin
    tie_distance_m: float = 100.0
    max_interpolation_span_m: float = 400.0
    """Known neighbours farther apart than this make an interpolated number too rough to
    place without a person."""
    fuzzy_cutoff: float = Settings.geocode_fuzzy_cutoff
    place_fuzzy_cutoff: float = 50.0
    """Place keys are short once 小区/社区 is dropped (枫桥 vs 枫x: 50)."""
    fuzzy_limit: int = 5
    max_candidates: int = 5

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> MatchParams:
        """Parameters from :class:`~gridmap.config.Settings` plus explicit overrides."""
        return params_from_settings(cls, settings, **overrides)


def _fuzzy(queries: list[str], choices: list[str], params: MatchParams, cutoff: float
           ) -> dict[str, list[tuple[str, float]]]:
    """Up to ``fuzzy_limit`` similar names (similarity 0..1) for every query, one cdist call."""
    if not queries or not choices:
        return {q: [] for q in queries}
    scores = process.cdist(queries, choices, scorer=fuzz.ratio, dtype=np.uint8,
                           score_cutoff=int(cutoff), workers=-1)
    k = min(params.fuzzy_limit, len(choices))
    top = np.argsort(-scores.astype(np.int16), axis=1, kind="stable")[:, :k]
    out: dict[str, list[tuple[str, float]]] = {}
    for qi, q in enumerate(queries):
        out[q] = [(choices[j], scores[qi, j] / 100.0) for j in top[qi] if scores[qi, j] > 0]
    return out


class Resolver:
    """Exact, prefix-stripped and fuzzy lookups of road and place names for one batch."""

    def __init__(self, idx: RegisterIndex, parsed: list[ParsedAddress],
                 params: MatchParams) -> None:
        self.idx = idx
        self._roads = set(idx.road_names)
        self._places = set(idx.place_names)
        road_q: set[str] = set()
        place_q: set[str] = set()
        for p in parsed:
            road_q.update(r for r in (p.road, p.near) if r)
            place_q.update(self._place_texts(p))
        miss_r = sorted(r for r in road_q if self._exact_road(r) is None)
        glued = sorted({k[2:] for k in map(name_key, miss_r) if len(k) >= 5})
        miss_p = sorted(q for q in place_q if q not in self._places)
        self.fuzzy_roads = _fuzzy(miss_r, idx.road_names, params, params.fuzzy_cutoff)
        self.fuzzy_glued = _fuzzy(glued, idx.road_names, params, params.fuzzy_cutoff)
        self.fuzzy_places = _fuzzy(miss_p, idx.place_names, params, params.place_fuzzy_cutoff)

    @staticmethod
    def _place_texts(p: ParsedAddress) -> list[str]:
        texts = [p.place, p.near, p.alt] if p.road else [p.place, p.near, p.alt, p.text]
        return [place_key(t) for t in texts if t]

    def _exact_road(self, road: str) -> str | None:
        key = name_key(road)
        if key in self._roads:
            return key
        for pre in self.idx.district_prefixes:  # 普陀真如路 → 真如路 (not 浦东大道 → 大道)
            if key.startswith(pre) and key[len(pre):] in self._roads:
                return key[len(pre):]
        if len(key) >= 5 and key[2:] in self._roads:  # 海淀学院路: an unknown district glued on
            return key[2:]
        return None

    def roads(self, road: str | None) -> list[tuple[str, float]]:
        """Register road keys for ``road`` with their name similarity, best first."""
        if not road:
            return []
        exact = self._exact_road(road)
        if exact:
            return [(exact, 1.0)]
        found = dict(self.fuzzy_roads.get(road, []))
        for k, sim in self.fuzzy_glued.get(name_key(road)[2:], []):  # 海淀学x路
            found[k] = max(found.get(k, 0.0), 0.95 * sim)
        return sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))

    def places(self, text: str | None) -> list[tuple[str, float]]:
        """Register place keys for ``text`` with their similarity, best first."""
        if not text:
            return []
        key = place_key(text)
        if key in self._places:
            return [(key, 1.0)]
        for pre in (*self.idx.district_prefixes, key[:2]):  # 海淀清华大学西北小区: 海淀 glued on
            if len(key) - len(pre) >= 3 and key.startswith(pre) and key[len(pre):] in self._places:
                return [(key[len(pre):], 1.0)]
        return self.fuzzy_places.get(key, [])


def _candidates(p: ParsedAddress, res: Resolver, ctx: cand.Context) -> list[cand.Candidate]:
    found: list[cand.Candidate] = []
    roads = res.roads(p.road)
    if roads and (p.number is not None or p.lane is not None):
        found += cand.door_candidates(p, roads, ctx)
    for text in ([p.place] if p.place else []) + ([p.text] if not p.road else []):
        found += cand.place_candidates(p, res.places(text), ctx)
        if found:
            break
    if not found and roads:
        found += cand.road_candidates(p, roads, res.roads(p.near), ctx)
    if not found and p.alt:
        found += cand.place_candidates(p, res.places(p.alt), ctx)
        found += cand.road_candidates(p, res.roads(p.alt), [], ctx)
    if not found:
        found += cand.area_candidates(p, ctx)
    return found


def _decide(found: list[cand.Candidate], near_cue: bool, ctx: cand.Context) -> str:
    if not found:
        return "unmatched"
    best = found[0]
    if best.level not in AUTO_LEVELS or near_cue or best.score < ctx.params.auto_min_score:
        return "review"
    for other in found[1:]:
        if best.score - other.score > ctx.params.tie_margin:
            break
        if np.hypot(best.x - other.x, best.y - other.y) > ctx.params.tie_distance_m:
            return "review"
    return "auto"


def geocode(idx: RegisterIndex, addresses: list[str] | pd.Series,
            params: MatchParams | None = None) -> pd.DataFrame:
    """Geocode addresses against the register index (vectorised over distinct addresses).

    Returns
    -------
    DataFrame
        One row per address, in order: ``level``, ``score`` (0..1), ``lon``, ``lat`` (WGS84;
        also for queued rows: the best candidate), ``status`` (:data:`STATUSES`), ``reason``
        (message code), ``entry_id``, ``building_id``, ``candidates`` (list of dicts).
    """
    params = params or MatchParams()
    texts = pd.Series(list(addresses), dtype=object).fillna("").astype(str)
    codes, uniq = pd.factorize(texts)
    parsed = [parse(t) for t in uniq.tolist()]
    res = Resolver(idx, parsed, params)
    ctx = cand.Context.build(idx, params)
    rows = []
    for p in parsed:
        found = sorted(_candidates(p, res, ctx), key=cand.sort_key)
        found = cand.dedupe(found)[: params.max_candidates]
        rows.append(cand.result_row(found, _decide(found, p.near_cue, ctx), ctx))
    out = pd.DataFrame(rows, columns=cand.RESULT_COLUMNS)
    return out.iloc[codes].reset_index(drop=True)
