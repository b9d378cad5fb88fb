"""The partition algorithm (pure, no database): group units into contiguous, balanced regions.

Units are unit cells (:mod:`gridmap.grids.cells`) or, for the sample district, street blocks
(:func:`split_balanced`). :func:`partition_units` groups units into contiguous, compact grids whose household counts
lie in the configured range (300–500 [local], reference/grids.md §3); :func:`rebalance_labels`
repairs an existing plan with as few unit moves as a greedy search finds. Both are
deterministic for a given seed.

All geometry here is in a metric CRS (metres); callers convert from/to EPSG:4326.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from gridmap.config import Settings

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
GeomArray = npt.NDArray[np.object_]


@dataclass(frozen=True)
class PartitionParams:
    """Parameters of tessellation and partition (defaults from reference/grids.md §3).

    Parameters
    ----------
    households_min, households_max:
        Target household range per grid ([local] 300–500).
    densify_m:
        Spacing of the boundary points used to build cells (metres).
    simplify_m:
        Topology-preserving simplification of cell boundaries (metres).
    min_shared_edge_m:
        Cells sharing less boundary than this are not neighbours (a corner touch).
    balance_rounds:
        Extra moves allowed after every grid is in range, to even out household counts.
    max_moves:
        Upper bound of moves in the repair phase (safety net for pathological inputs).
    """

    households_min: int = Settings.grid_households_min
    households_max: int = Settings.grid_households_max
    densify_m: float = 8.0
    simplify_m: float = 0.5
    min_shared_edge_m: float = 1.0
    balance_rounds: int = 0
    max_moves: int = 5000

    @property
    def target(self) -> float:
        return (self.households_min + self.households_max) / 2.0


def adjacency(geoms: GeomArray, min_shared_m: float = 1.0) -> tuple[IntArray, IntArray, FloatArray]:
    """Pairs (i, j), i < j, of polygons sharing at least ``min_shared_m`` of boundary.

    Returns three aligned arrays: i, j and the shared length in metres.
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) < 2:
        empty = np.array([], dtype=np.int64)
        return empty, empty, np.array([], dtype=np.float64)
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    # Boundary of one inside a 5 cm buffer of the other: robust to the last-digit noise
    # that makes two copies of the same edge intersect only in points.
    grown = shapely.buffer(geoms, 0.05, quad_segs=1)
    shared = shapely.length(shapely.intersection(shapely.boundary(geoms[a]), grown[b]))
    ok = shared >= min_shared_m
    return a[ok].astype(np.int64), b[ok].astype(np.int64), shared[ok].astype(np.float64)


def connect_components(xy: FloatArray, ei: IntArray, ej: IntArray) -> tuple[IntArray, IntArray]:
    """Add the shortest centroid links needed to make the unit graph connected.

    Real cell sets have units that touch their neighbours only at a corner or along a
    sliver; without this, a seed placed on such an island would grow an empty grid.
    """
    n = len(xy)
    ei, ej = np.asarray(ei, dtype=np.int64), np.asarray(ej, dtype=np.int64)
    while n > 1:
        graph = coo_matrix((np.ones(len(ei)), (ei, ej)), shape=(n, n))
        ncomp, comp = connected_components(graph, directed=False)
        if ncomp <= 1:
            break
        main = int(np.argmax(np.bincount(comp)))
        inside = np.flatnonzero(comp == main)
        tree = cKDTree(xy[inside])
        extra_i, extra_j = [], []
        for c in range(ncomp):
            if c == main:
                continue
            members = np.flatnonzero(comp == c)
            d, k = tree.query(xy[members])
            best = int(np.argmin(d))
            extra_i.append(int(members[best]))
            extra_j.append(int(inside[int(k[best])]))
        ei = np.concatenate([ei, np.array(extra_i, dtype=np.int64)])
        ej = np.concatenate([ej, np.array(extra_j, dtype=np.int64)])
    return ei, ej


def _neighbours(n: int, ei: IntArray, ej: IntArray) -> list[list[int]]:
    nb: list[list[int]] = [[] for _ in range(n)]
    for i, j in zip(ei.tolist(), ej.tolist(), strict=True):
        nb[i].append(j)
        nb[j].append(i)
    for lst in nb:
        lst.sort()
    return nb


def choose_k(total_households: int, params: PartitionParams) -> int:
    """Number of grids for a community: total / target, nudged into the range."""
    if total_households <= 0:
        return 1
    k = max(1, round(total_households / params.target))
    if total_households / k > params.households_max:
        k += 1
    elif k > 1 and total_households / k < params.households_min:
        k -= 1
    return k


def _spread_seeds(weights: IntArray, xy: FloatArray, k: int,
                  rng: np.random.Generator) -> list[int]:
    """``k`` seed units by farthest-point sampling, the first drawn from ``rng``.

    Seeds only on units with households (an empty park or river bank as a seed would
    grow a grid that no single move can fill).
    """
    n = len(weights)
    seedable = weights > 0 if int((weights > 0).sum()) >= k else np.ones(n, dtype=bool)
    pool = np.flatnonzero(seedable)
    seeds = [int(pool[int(rng.integers(len(pool)))])]
    dmin = np.hypot(*(xy - xy[seeds[0]]).T)
    while len(seeds) < k:
        nxt = int(np.argmax(np.where(seedable, dmin, -1.0)))
        if dmin[nxt] <= 0:
            rest = [i for i in range(n) if i not in seeds]
            nxt = rest[0]
        seeds.append(nxt)
        dmin = np.minimum(dmin, np.hypot(*(xy - xy[nxt]).T))
    return seeds


def _grow(weights: IntArray, xy: FloatArray, nb: list[list[int]], seeds: list[int]) -> IntArray:
    """Regions grown from ``seeds`` one unit at a time: the lightest region takes its
    frontier unit nearest to its seed. Unreachable units keep label -1."""
    n, k = len(weights), len(seeds)
    labels = np.full(n, -1, dtype=np.int64)
    sums = np.zeros(k, dtype=np.float64)
    centre = xy[seeds].copy()
    frontier: list[list[tuple[float, int]]] = [[] for _ in range(k)]
    for r, s in enumerate(seeds):
        labels[s] = r
        sums[r] = weights[s]
    for r, s in enumerate(seeds):
        for v in nb[s]:
            if labels[v] < 0:
                heapq.heappush(frontier[r], (float(np.hypot(*(xy[v] - centre[r]))), v))
    active = set(range(k))
    while active:
        r = min(active, key=lambda q: (sums[q], q))
        heap = frontier[r]
        while heap and labels[heap[0][1]] >= 0:
            heapq.heappop(heap)
        if not heap:
            active.discard(r)
            continue
        _, u = heapq.heappop(heap)
        labels[u] = r
        sums[r] += weights[u]
        for v in nb[u]:
            if labels[v] < 0:
                heapq.heappush(heap, (float(np.hypot(*(xy[v] - centre[r]))), v))
    return labels


def partition_units(
    weights: IntArray,
    xy: FloatArray,
    ei: IntArray,
    ej: IntArray,
    k: int,
    params: PartitionParams | None = None,
    seed: int = 0,
) -> IntArray:
    """Group ``n`` units into ``k`` contiguous, compact regions of balanced weight.

    Seeds are spread by farthest-point sampling (first seed drawn from ``seed``); regions
    grow one unit at a time, the lightest region taking its frontier unit nearest to its
    seed (compactness); then :func:`rebalance_labels` repairs regions out of range.

    Parameters
    ----------
    weights:
        Households per unit.
    xy:
        Unit centroids (metres), shape (n, 2).
    ei, ej:
        Adjacency pairs (see :func:`adjacency`).

    Returns
    -------
    numpy.ndarray
        Region label 0..k-1 per unit.
    """
    p = params or PartitionParams()
    weights = np.asarray(weights, dtype=np.int64)
    xy = np.asarray(xy, dtype=np.float64)
    n = len(weights)
    if n == 0:
        return np.array([], dtype=np.int64)
    k = max(1, min(k, n))
    nb = _neighbours(n, ei, ej)
    labels = _grow(weights, xy, nb, _spread_seeds(weights, xy, k, np.random.default_rng(seed)))
    # Units not reachable from any seed (islands): nearest region by centroid.
    lost = np.flatnonzero(labels < 0)
    if len(lost):
        placed = np.flatnonzero(labels >= 0)
        for lu in lost:
            d = np.hypot(*(xy[placed] - xy[lu]).T)
            labels[lu] = labels[placed[int(np.argmin(d))]]
    labels, _ = rebalance_labels(labels, weights, ei, ej, p, balance_rounds=p.balance_rounds)
    return labels


def plan_score(labels: IntArray, weights: IntArray, params: PartitionParams) -> tuple[float, float]:
    """(households outside the range, spread max−min) of a labelling; lower is better."""
    sums = np.bincount(labels, weights=weights) if len(labels) else np.zeros(1)
    out = float(np.sum(np.maximum(0, params.households_min - sums)
                       + np.maximum(0, sums - params.households_max)))
    return out, float(sums.max() - sums.min())


def best_partition(
    weights: IntArray,
    xy: FloatArray,
    ei: IntArray,
    ej: IntArray,
    k: int,
    params: PartitionParams | None = None,
    seed: int = 0,
    tries: int = 6,
) -> IntArray:
    """:func:`partition_units` from up to ``tries`` seeds derived from ``seed`` (and k±1
    when the range cannot be met); the best plan by :func:`plan_score`. Stops after two
    tries once a plan is in range. Deterministic."""
    p = params or PartitionParams()
    rng = np.random.default_rng(seed)
    total = float(np.sum(weights))
    ks = [k] + [kk for kk in (k - 1, k + 1)
                if kk >= 1 and p.households_min <= total / kk <= p.households_max]
    best: tuple[tuple[float, float], IntArray] | None = None
    for kk in ks:
        score, labels = _best_of_tries(weights, xy, ei, ej, kk, p, rng, tries)
        if best is None or score < best[0]:
            best = (score, labels)
        if best[0][0] == 0:
            break
    assert best is not None
    return best[1]


def _best_of_tries(weights: IntArray, xy: FloatArray, ei: IntArray, ej: IntArray, k: int,
                   p: PartitionParams, rng: np.random.Generator, tries: int,
                   ) -> tuple[tuple[float, float], IntArray]:
    """The best of up to ``tries`` plans with ``k`` regions (seeds drawn from ``rng``);
    stops after two tries once a plan is in range."""
    best: tuple[tuple[float, float], IntArray] | None = None
    for attempt in range(tries):
        labels = partition_units(weights, xy, ei, ej, k, p, int(rng.integers(2**31)))
        score = plan_score(labels, weights, p)
        if best is None or score < best[0]:
            best = (score, labels)
        if best[0][0] == 0 and attempt >= 1:
            break  # in range: two tries are enough to pick the better balanced
    assert best is not None
    return best


def _penalty(s: float, lo: float, hi: float) -> float:
    return max(0.0, lo - s) + max(0.0, s - hi)


def _still_connected(members: set[int], removed: int, nb: list[list[int]]) -> bool:
    rest = members - {removed}
    if not rest:
        return False
    start = next(iter(rest))
    seen = {start}
    queue = deque([start])
    while queue:
        u = queue.popleft()
        for v in nb[u]:
            if v in rest and v not in seen:
                seen.add(v)
                queue.append(v)
    return len(seen) == len(rest)


def _candidate_moves(labels: IntArray, weights: IntArray, nb: list[list[int]],
                     members: dict[int, set[int]], sums: dict[int, float], frozen: set[int],
                     lo: float, hi: float, everywhere: bool,
                     ) -> list[tuple[float, float, int, int, int]]:
    """Every single-unit move as (−gain, −spread reduction, unit, from, to), sorted.

    Candidates are the units of out-of-range regions and their neighbours, or every unit
    when ``everywhere`` (balance rounds).
    """
    bad = [r for r, sm in sums.items() if _penalty(sm, lo, hi) > 0 and r not in frozen]
    cand: set[int] = set(range(len(labels))) if everywhere else set()
    if not everywhere:
        for r in bad:
            cand |= members[r]
            for u in members[r]:
                cand.update(nb[u])
    out: list[tuple[float, float, int, int, int]] = []
    for u in sorted(cand):
        a = int(labels[u])
        if a in frozen or len(members[a]) == 1:
            continue
        w = float(weights[u])
        for b in {int(labels[v]) for v in nb[u]} - {a}:
            if b in frozen:
                continue
            gain = (_penalty(sums[a], lo, hi) + _penalty(sums[b], lo, hi)
                    - _penalty(sums[a] - w, lo, hi) - _penalty(sums[b] + w, lo, hi))
            spread = abs(sums[a] - sums[b]) - abs((sums[a] - w) - (sums[b] + w))
            out.append((-gain, -spread, u, a, b))
    out.sort()
    return out


def _first_allowed(moves: list[tuple[float, float, int, int, int]],
                   members: dict[int, set[int]], nb: list[list[int]], balancing: bool,
                   ) -> tuple[float, int, int, int] | None:
    """The best move that helps (or evens out, while ``balancing``) and keeps its source
    region contiguous."""
    for neg_gain, neg_spread, u, a, b in moves:
        if not (neg_gain < -1e-9 or (neg_gain <= 1e-9 and balancing and neg_spread < -1e-9)):
            return None
        if _still_connected(members[a], u, nb):
            return neg_gain, u, a, b
    return None


def rebalance_labels(
    labels: IntArray,
    weights: IntArray,
    ei: IntArray,
    ej: IntArray,
    params: PartitionParams | None = None,
    *,
    frozen: set[int] | None = None,
    balance_rounds: int = 0,
) -> tuple[IntArray, list[tuple[int, int, int]]]:
    """Move boundary units between neighbouring regions until every region is in range.

    Greedy: each step makes the single move that reduces the total out-of-range household
    count the most (ties: the move that best evens the two regions), keeping both regions
    contiguous; it stops as soon as no move helps, so plans already in range are left
    untouched (fewest moves). ``balance_rounds`` further moves then reduce the spread.

    ``frozen``: region labels that must not change (locked grids): no unit moves in or out.
    Returns the new labels and the moves made, as (unit index, from label, to label).
    """
    p = params or PartitionParams()
    labels = np.asarray(labels, dtype=np.int64).copy()
    weights = np.asarray(weights, dtype=np.int64)
    frozen = frozen or set()
    nb = _neighbours(len(labels), ei, ej)
    lo, hi = float(p.households_min), float(p.households_max)
    members: dict[int, set[int]] = {}
    for u, r in enumerate(labels.tolist()):
        members.setdefault(r, set()).add(u)
    sums = {r: float(weights[list(m)].sum()) for r, m in members.items()}
    moves: list[tuple[int, int, int]] = []
    extra = balance_rounds
    for _ in range(p.max_moves):
        bad = any(_penalty(sm, lo, hi) > 0 and r not in frozen for r, sm in sums.items())
        if extra <= 0 and not bad:
            break
        cands = _candidate_moves(labels, weights, nb, members, sums, frozen, lo, hi, extra > 0)
        chosen = _first_allowed(cands, members, nb, extra > 0)
        if chosen is None:
            break
        neg_gain, u, a, b = chosen
        if neg_gain > -1e-9:
            extra -= 1
        labels[u] = b
        members[a].discard(u)
        members[b].add(u)
        w = float(weights[u])
        sums[a] -= w
        sums[b] += w
        moves.append((u, a, b))
    return labels, moves


def components(n: int, ei: IntArray, ej: IntArray) -> IntArray:
    """Connected-component label of each of ``n`` units of the graph (ei, ej)."""
    if n == 0:
        return np.array([], dtype=np.int64)
    graph = coo_matrix((np.ones(len(ei)), (np.asarray(ei), np.asarray(ej))), shape=(n, n))
    return np.asarray(connected_components(graph, directed=False)[1], dtype=np.int64)


def split_balanced(
    weights: IntArray, xy: FloatArray, ei: IntArray, ej: IntArray, k: int, *,
    tolerance: float = 0.25, seed: int = 0, tries: int = 6,
) -> IntArray:
    """Split a connected set of units into ``k`` contiguous regions of similar weight.

    The same algorithm as grids (:func:`partition_units`, best of ``tries`` seeds), with
    exactly ``k`` regions and the range set to the mean weight per region ± ``tolerance``
    (e.g. street blocks into streets and communities). Deterministic for a given ``seed``.

    Returns
    -------
    numpy.ndarray
        Region label 0..k'-1 per unit (k' ≤ k when there are fewer units).
    """
    weights = np.asarray(weights, dtype=np.int64)
    if len(weights) == 0:
        return np.array([], dtype=np.int64)
    k = max(1, min(k, len(weights)))
    mean = float(weights.sum()) / k
    p = PartitionParams(households_min=max(0, math.floor(mean * (1.0 - tolerance))),
                        households_max=max(1, math.ceil(mean * (1.0 + tolerance))))
    return _best_of_tries(weights, np.asarray(xy, dtype=np.float64), ei, ej, k, p,
                          np.random.default_rng(seed), tries)[1]
