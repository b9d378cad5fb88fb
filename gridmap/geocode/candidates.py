"""Candidates of one parsed address at each level, with score and reason code.

Scores are in 0..1. A road or place name found exactly counts 1; a fuzzy name counts its
similarity, raised to ``0.75 + 0.25·similarity`` when the register confirms the rest of the
address (the door number or the building number exists on that road or in that 小区): a typo
in a road name with an existing 138弄5号 is still the same door. Interpolated numbers score
lower than known ones, one-sided extrapolation lower still.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS
from rapidfuzz.distance import Levenshtein

from gridmap import crs
from gridmap.geocode.index import RegisterIndex
from gridmap.geocode.normalise import name_key, place_key
from gridmap.geocode.parse import ParsedAddress

if TYPE_CHECKING:
    from gridmap.geocode.match import MatchParams

RANK = {lv: i for i, lv in enumerate(("building", "lane", "road_number", "place", "road",
                                      "area"))}
RESULT_COLUMNS = ["level", "score", "lon", "lat", "status", "reason", "entry_id",
                  "building_id", "candidates"]


@dataclass(slots=True)
class Candidate:
    """One possible place of an address."""

    level: str
    score: float
    reason: str
    lon: float
    lat: float
    x: float
    y: float
    row: int = -1


@dataclass
class Context:
    """The register index with metric coordinates of its rows, for one geocoding run."""

    idx: RegisterIndex
    params: MatchParams
    metric: CRS
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    lons: list[float] = field(default_factory=list)
    lats: list[float] = field(default_factory=list)
    xs: list[float] = field(default_factory=list)
    ys: list[float] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    building_ids: list[int | None] = field(default_factory=list)
    _lines: dict[int, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, idx: RegisterIndex, params: MatchParams) -> Context:
        ok = np.isfinite(idx.lon) & np.isfinite(idx.lat)
        if ok.any():
            metric = crs.metric_crs(float(idx.lon[ok].min()), float(idx.lat[ok].min()),
                                    float(idx.lon[ok].max()), float(idx.lat[ok].max()))
        else:
            metric = crs.metric_crs(121.4, 31.2, 121.5, 31.3)
        x, y = crs.project_xy(idx.lon, idx.lat, crs.STORAGE_EPSG, metric)
        f = idx.frame
        bids = f["building_id"].tolist() if "building_id" in f else [None] * len(f)
        x, y = np.asarray(x, float), np.asarray(y, float)
        return cls(idx, params, metric, x, y, idx.lon.tolist(), idx.lat.tolist(), x.tolist(),
                   y.tolist(), [int(v) for v in f["id"].tolist()],
                   [str(v) for v in f["text"].tolist()],
                   [None if v is None or v != v else int(v) for v in bids])

    def at(self, level: str, score: float, reason: str, row: int) -> Candidate:
        return Candidate(level, int(score * 10000 + 0.5) / 10000, reason, self.lons[row],
                         self.lats[row], self.xs[row], self.ys[row], row)

    def between(self, level: str, score: float, reason: str, a: int, b: int, t: float
                ) -> Candidate:
        i = self.idx
        return Candidate(level, float(int(score * 10000 + 0.5)) / 10000, reason,
                         float(i.lon[a] + t * (i.lon[b] - i.lon[a])),
                         float(i.lat[a] + t * (i.lat[b] - i.lat[a])),
                         float(self.x[a] + t * (self.x[b] - self.x[a])),
                         float(self.y[a] + t * (self.y[b] - self.y[a])), a)

    def mean_of(self, level: str, score: float, reason: str, rows: list[int]) -> Candidate:
        r = np.asarray(rows)
        return Candidate(level, float(int(score * 10000 + 0.5)) / 10000, reason, float(self.idx.lon[r].mean()),
                         float(self.idx.lat[r].mean()), float(self.x[r].mean()),
                         float(self.y[r].mean()), int(r[0]))

    def metric_line(self, row: int) -> Any:
        if row not in self._lines:
            self._lines[row] = crs.to_metric(np.array([self.idx.lines[row]]), self.metric)[0]
        return self._lines[row]

    def point(self, level: str, score: float, reason: str, pt: Any, row: int) -> Candidate:
        lon, lat = crs.project_xy(np.array([pt.x]), np.array([pt.y]), self.metric,
                                  crs.STORAGE_EPSG)
        return Candidate(level, float(int(score * 10000 + 0.5)) / 10000, reason, float(lon[0]), float(lat[0]),
                         float(pt.x), float(pt.y), row)


def _factor(sim: float, confirmed: bool) -> float:
    if sim >= 1.0:
        return 1.0
    return 0.75 + 0.25 * sim if confirmed else 0.8 * sim


def _unambiguous(key: str, sim: float, names: list[tuple[str, float]],
                 written: str | None = None) -> bool:
    """A fuzzy name is confirmed by the rest of the address only when it is clearly the
    closest similar name. Closeness is counted in edits (Levenshtein) from the ``written``
    name: 清华个路 is one edit from 清华路 *and* from 清华东路/清华西路, so a door 2 of 清华东路
    confirms nothing (the register may lack the door on the right road); 不关村北二街 is one
    edit from 中关村北二街 and two from 中关村北一街, so its door 8 confirms 中关村北二街.
    Without the written name: only when it is the one similar name."""
    if sim >= 1.0 or all(k == key for k, _ in names):
        return True
    if written is None:
        return False
    mine = Levenshtein.distance(written, key)
    return all(Levenshtein.distance(written, k) > mine for k, _ in names if k != key)


def _interpolate(known: list[tuple[int, int]], q: int, level: str, base: float, sim: float,
                 sure: bool, ctx: Context) -> Candidate | None:
    """A door number between (or beyond) the known numbers of a lane or road."""
    same = [k for k in known if k[0] % 2 == q % 2] or known
    lo = [k for k in same if k[0] < q]
    hi = [k for k in same if k[0] > q]
    if lo and hi:
        (n0, r0), (n1, r1) = lo[-1], hi[0]
        span = float(np.hypot(ctx.x[r1] - ctx.x[r0], ctx.y[r1] - ctx.y[r0]))
        gap_penalty = 0.1 if n1 - n0 > 40 else 0.0
        gap_penalty += 0.15 if span > ctx.params.max_interpolation_span_m else 0.0
        return ctx.between(level, (base - gap_penalty) * _factor(sim, sure),
                           f"geocode.reason.{level}_interpolated", r0, r1, (q - n0) / (n1 - n0))
    n, r = (lo[-1] if lo else hi[0])
    far = abs(n - q) > 10
    return ctx.at(level, (base - (0.3 if far else 0.2)) * _factor(sim, False),
                  f"geocode.reason.{level}_nearest_number", r)


def door_candidates(p: ParsedAddress, roads: list[tuple[str, float]], ctx: Context
                    ) -> list[Candidate]:
    """Door plates, lanes and numbered roads."""
    idx, out = ctx.idx, []
    lane, branch = p.lane if p.lane is not None else -1, p.branch if p.branch is not None else -1
    number = p.number if p.number is not None else -1
    bno = p.building if p.building is not None else -1
    written = name_key(p.road) if p.road else None
    for rk, sim in roads:
        sure = _unambiguous(rk, sim, roads, written)
        hit = idx.doors.get((rk, lane, branch, number, bno))
        if hit:
            level = "building" if number >= 0 or bno >= 0 else "lane"
            out += [ctx.at(level, _factor(sim, sure), f"geocode.reason.{level}_exact", r)
                    for r in hit]
            continue
        group = idx.door_groups.get((rk, lane, branch, number))
        if group and number >= 0:  # the door of a compound whose buildings are known
            out.append(ctx.mean_of("building", 0.9 * _factor(sim, sure),
                                   "geocode.reason.door_centre", group))
            continue
        known = idx.lanes.get((rk, lane, branch)) if lane >= 0 else None
        if known and number >= 0:
            c = _interpolate(known, number, "lane", 0.9, sim, sure, ctx)
            out += [c] if c else []
        elif known:
            out.append(ctx.mean_of("lane", 0.85 * _factor(sim, sure),
                                   "geocode.reason.lane_centre", [r for _, r in known]))
        elif rk in idx.road_numbers:
            q = lane if lane >= 0 else number
            c = _interpolate(idx.road_numbers[rk], q, "road_number", 0.85, sim, sure, ctx)
            out += [c] if c else []
    return out


def place_candidates(p: ParsedAddress, places: list[tuple[str, float]], ctx: Context
                     ) -> list[Candidate]:
    """Named 小区/buildings/facilities, with a numbered building where one is given."""
    idx, out = ctx.idx, []
    for pk, sim in places:
        hit = idx.place_buildings.get((pk, p.building)) if p.building is not None else None
        if hit:
            sure = _unambiguous(pk, sim, places)
            out += [ctx.at("building", _factor(sim, sure), "geocode.reason.place_building", r)
                    for r in hit]
            continue
        penalty = 0.75 if p.building is not None else 1.0  # 3号楼 not known in this 小区
        if idx.places.get(pk):
            out += [ctx.at("place", 0.9 * sim * penalty, "geocode.reason.place_exact"
                           if sim >= 1 and penalty == 1 else "geocode.reason.place_similar", r)
                    for r in idx.places[pk]]
        elif idx.place_members.get(pk):
            out.append(ctx.mean_of("place", 0.85 * sim * penalty, "geocode.reason.place_centre",
                                   idx.place_members[pk]))
    return out


def _area_point(p: ParsedAddress, ctx: Context) -> Any:
    for name in (p.community, p.street):
        rows = ctx.idx.areas.get(place_key(name)) if name else None
        if rows:
            return shapely.Point(ctx.x[rows[0]], ctx.y[rows[0]])
    return None


def road_candidates(p: ParsedAddress, roads: list[tuple[str, float]],
                    near: list[tuple[str, float]], ctx: Context) -> list[Candidate]:
    """A road: where it meets the "near" road, nearest to the named area, or its middle."""
    out = []
    for rk, sim in roads[:2]:
        rows = [r for r in ctx.idx.roads.get(rk, []) if r in ctx.idx.lines]
        for r in rows:
            line = ctx.metric_line(r)
            for nk, nsim in near[:1]:
                for nr in (n for n in ctx.idx.roads.get(nk, []) if n in ctx.idx.lines):
                    other = ctx.metric_line(nr)
                    if shapely.distance(line, other) <= 80.0:
                        a, b = shapely.shortest_line(line, other).coords
                        pt = shapely.Point((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
                        out.append(ctx.point("road", 0.6 * sim * nsim,
                                             "geocode.reason.road_intersection", pt, r))
            if out:
                continue
            area = _area_point(p, ctx)
            if area is not None:
                pt = line.interpolate(line.project(area))
                out.append(ctx.point("road", 0.5 * sim, "geocode.reason.road_near_area", pt, r))
            else:
                pt = line.interpolate(0.5, normalized=True)
                out.append(ctx.point("road", 0.45 * sim, "geocode.reason.road_middle", pt, r))
    return out


def area_candidates(p: ParsedAddress, ctx: Context) -> list[Candidate]:
    """A community or street named in the address (its representative point)."""
    for name in (p.community, p.street, p.place, p.district):
        rows = ctx.idx.areas.get(place_key(name)) if name else None
        if rows:
            return [ctx.at("area", 0.3, "geocode.reason.area_name", r) for r in rows]
    return []


def sort_key(c: Candidate) -> tuple[float, int, int]:
    """Best first: score, then level, then register order (deterministic)."""
    return (-c.score, RANK[c.level], c.row)


def dedupe(found: list[Candidate]) -> list[Candidate]:
    """Drop candidates at the same spot as a better one (within 1 m)."""
    kept: list[Candidate] = []
    for c in found:
        if all(abs(c.x - k.x) > 1 or abs(c.y - k.y) > 1 for k in kept):
            kept.append(c)
    return kept


def result_row(found: list[Candidate], status: str, ctx: Context) -> list[Any]:
    """One output row (:data:`RESULT_COLUMNS`) from the sorted candidates."""
    cands = [{"level": c.level, "score": c.score, "reason": c.reason, "lon": c.lon,
              "lat": c.lat, "entry_id": ctx.ids[c.row] if c.row >= 0 else None,
              "label": ctx.texts[c.row] if c.row >= 0 else None} for c in found]
    if not found:
        return [None, 0.0, np.nan, np.nan, status, "geocode.reason.no_match", None, None, []]
    b = found[0]
    exact = b.reason in ("geocode.reason.building_exact", "geocode.reason.place_building",
                         "geocode.reason.place_exact")
    bid = ctx.building_ids[b.row] if b.row >= 0 and exact else None
    return [b.level, b.score, b.lon, b.lat, status, b.reason, cands[0]["entry_id"], bid, cands]
