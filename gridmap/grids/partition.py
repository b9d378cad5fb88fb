"""Unit cells and automatic partition of a community into grids (pure, no database).

Units are the things officers move between grids: buildings, and street blocks without
buildings. :func:`tessellate` cuts the community into one *cell* per unit, with boundaries
half-way between units: between street blocks this is the road centre line
(reference/grids.md G4), inside a block it runs between buildings. Cells form a coverage of
the community, so any grouping of cells is a partition: no gaps, no overlaps (G2).

:func:`partition_units` groups units into contiguous, compact grids whose household counts
lie in the configured range (300–500 [local], reference/grids.md §3); :func:`rebalance_labels`
repairs an existing plan with as few unit moves as a greedy search finds. Both are
deterministic for a given seed.

All geometry here is in a metric CRS (metres); callers convert from/to EPSG:4326.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import shapely
import shapely.errors
from shapely.geometry.base import BaseGeometry

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

    households_min: int = 300
    households_max: int = 500
    densify_m: float = 8.0
    simplify_m: float = 0.5
    min_shared_edge_m: float = 1.0
    balance_rounds: int = 0
    max_moves: int = 5000

    @property
    def target(self) -> float:
        return (self.households_min + self.households_max) / 2.0


@dataclass
class Cells:
    """The tessellation of one community (metric CRS), one row per unit."""

    unit_type: list[str]
    unit_id: IntArray
    block_id: IntArray
    geoms: GeomArray
    households: IntArray
    residents: IntArray
    outside_buildings: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.unit_id)


def _owned_voronoi(
    parts: GeomArray, extent: BaseGeometry, densify_m: float, simplify_m: float
) -> GeomArray:
    """One cell per geometry in ``parts``: the Voronoi region of its boundary, clipped to
    ``extent``. Returns an array aligned with ``parts`` (empty polygons for parts that own
    no unique point)."""
    n = len(parts)
    if n == 1:
        return np.array([extent], dtype=object)
    centres = shapely.get_coordinates(shapely.point_on_surface(parts))
    if densify_m > 0:
        rings = shapely.segmentize(shapely.boundary(parts), densify_m)
        coords, owner = shapely.get_coordinates(rings, return_index=True)
        coords = np.vstack([coords, centres])
        owner = np.concatenate([owner, np.arange(n)])
    else:  # one point per part: no dissolve needed
        coords, owner = centres, np.arange(n)
    keys = np.round(coords, 2)
    _, first = np.unique(keys, axis=0, return_index=True)
    first.sort()
    coords, owner = coords[first], owner[first]
    if len(coords) < 2:
        out = np.array([shapely.Polygon() for _ in range(n)], dtype=object)
        out[int(owner[0])] = extent
        return out
    # A deterministic millimetre jitter avoids the degenerate (collinear, co-circular)
    # point sets of regular layouts, for which GEOS returns an invalid coverage.
    coords = coords + np.random.default_rng(0).uniform(-1e-3, 1e-3, coords.shape)
    vor = shapely.voronoi_polygons(
        shapely.multipoints(coords), extend_to=extent, ordered=True
    )
    polys = np.asarray(shapely.get_parts(vor))
    merged = np.array([shapely.Polygon() for _ in range(n)], dtype=object)
    if densify_m > 0:
        order = np.argsort(owner, kind="stable")
        bounds = np.searchsorted(owner[order], np.arange(n + 1))
        for i in range(n):
            idx = order[bounds[i]:bounds[i + 1]]
            if len(idx):
                merged[i] = safe_union(polys[idx])
    else:
        merged[owner] = polys
    cells = shapely.intersection(merged, extent)
    bad = ~shapely.is_valid(cells) | ~np.isin(shapely.get_type_id(cells), (3, 6))
    if bad.any():
        cells[bad] = [_polygonal(shapely.make_valid(g)) for g in cells[bad]]
    if simplify_m > 0 and densify_m > 0 and n > 1:
        nonempty = ~shapely.is_empty(cells)
        simplified = shapely.coverage_simplify(
            cells[nonempty], simplify_m, simplify_boundary=False
        )
        cells[nonempty] = simplified
    return cells


def safe_union(geoms: GeomArray) -> BaseGeometry:
    """Union of polygons that form a coverage: fast coverage union, falling back to a
    full overlay when the edges are not noded exactly alike."""
    try:
        out = shapely.coverage_union_all(geoms)
        if shapely.is_valid(out):
            return out
    except shapely.errors.GEOSException:
        pass
    try:
        return shapely.union_all(geoms)
    except shapely.errors.GEOSException:
        # Robust fallback: snap-rounding overlay on a 1 cm grid (metric inputs).
        return shapely.union_all(shapely.make_valid(geoms), grid_size=0.01)


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Keep only the polygonal parts of ``geom`` (intersections can leave lines/points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def tessellate(
    community: BaseGeometry,
    block_ids: IntArray,
    block_geoms: GeomArray,
    building_ids: IntArray,
    building_geoms: GeomArray,
    households: IntArray,
    residents: IntArray,
    params: PartitionParams | None = None,
) -> Cells:
    """Cut ``community`` into unit cells (all inputs in the same metric CRS).

    Street blocks become block cells whose shared edges follow the road centre lines
    between them; each block cell is cut again between its buildings. A block without
    buildings stays one unit; a community without blocks is treated as one block.

    Returns
    -------
    Cells
        One cell per building inside the community and per empty block; buildings whose
        representative point lies outside the community are listed in ``outside_buildings``.
    """
    p = params or PartitionParams()
    block_ids = np.asarray(block_ids, dtype=np.int64)
    block_geoms = np.asarray(block_geoms, dtype=object)
    if len(block_geoms):
        keep = ~shapely.is_empty(shapely.intersection(block_geoms, community))
        block_ids, block_geoms = block_ids[keep], block_geoms[keep]
    if len(block_geoms):
        block_cells = _owned_voronoi(block_geoms, community, p.densify_m, p.simplify_m)
    else:
        block_ids = np.array([0], dtype=np.int64)
        block_cells = np.array([community], dtype=object)

    building_ids = np.asarray(building_ids, dtype=np.int64)
    building_geoms = np.asarray(building_geoms, dtype=object)
    households = np.asarray(households, dtype=np.int64)
    residents = np.asarray(residents, dtype=np.int64)
    points = shapely.point_on_surface(building_geoms) if len(building_geoms) else np.array([])
    owner = np.full(len(building_ids), -1, dtype=np.int64)
    if len(points):
        tree = shapely.STRtree(block_cells)
        src, dst = tree.query(points, predicate="intersects")
        owner_first: dict[int, int] = {}
        for s, d in zip(src.tolist(), dst.tolist(), strict=True):
            owner_first.setdefault(s, d)
        for s, d in owner_first.items():
            owner[s] = d

    unit_type: list[str] = []
    unit_id: list[int] = []
    unit_block: list[int] = []
    geoms: list[BaseGeometry] = []
    hh: list[int] = []
    rs: list[int] = []
    for b in range(len(block_cells)):
        cell = block_cells[b]
        if cell is None or cell.is_empty:
            continue
        mine = np.flatnonzero(owner == b)
        bid = int(block_ids[b])
        if len(mine) == 0:
            unit_type.append("block" if bid else "community")
            unit_id.append(bid)
            unit_block.append(bid)
            geoms.append(cell)
            hh.append(0)
            rs.append(0)
            continue
        sub = _owned_voronoi(building_geoms[mine], cell, 0.0, 0.0)
        for j, i in enumerate(mine):
            if sub[j].is_empty:
                continue
            unit_type.append("building")
            unit_id.append(int(building_ids[i]))
            unit_block.append(bid)
            geoms.append(sub[j])
            hh.append(int(households[i]))
            rs.append(int(residents[i]))
    # Buildings that own no unique point (duplicated footprints) get no cell: their
    # households are added to the cell that contains them.
    placed = set(unit_id[k] for k in range(len(unit_id)) if unit_type[k] == "building")
    geoms_arr = np.array(geoms, dtype=object)
    if len(geoms_arr) > 1:
        # Make shared edges identical (clipping leaves last-digit differences along block
        # edges) so that unions of neighbouring cells are one piece, without hairline gaps.
        geoms_arr = np.asarray(
            shapely.coverage_clean(geoms_arr, snapping_distance=0.01, gap_width=0.01),
            dtype=object)
    hh_arr = np.array(hh, dtype=np.int64)
    rs_arr = np.array(rs, dtype=np.int64)
    outside: list[int] = []
    if len(geoms_arr):
        tree = shapely.STRtree(geoms_arr)
        for bi in range(len(building_ids)):
            if int(building_ids[bi]) in placed:
                continue
            if owner[bi] < 0:
                outside.append(int(building_ids[bi]))
                continue
            hits = tree.query(points[bi], predicate="intersects")
            if len(hits):
                hh_arr[hits[0]] += households[bi]
                rs_arr[hits[0]] += residents[bi]
    return Cells(
        unit_type=unit_type,
        unit_id=np.array(unit_id, dtype=np.int64),
        block_id=np.array(unit_block, dtype=np.int64),
        geoms=geoms_arr,
        households=hh_arr,
        residents=rs_arr,
        outside_buildings=outside,
    )


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
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

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
    rng = np.random.default_rng(seed)
    nb = _neighbours(n, ei, ej)

    # Seeds only on units with households (an empty park or river bank as a seed would
    # grow a grid that no single move can fill).
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
    best: tuple[tuple[float, float], IntArray] | None = None
    total = float(np.sum(weights))
    ks = [k] + [kk for kk in (k - 1, k + 1)
                if kk >= 1 and p.households_min <= total / kk <= p.households_max]
    for kk in ks:
        for attempt in range(tries):
            labels = partition_units(weights, xy, ei, ej, kk, p, int(rng.integers(2**31)))
            score = plan_score(labels, weights, p)
            if best is None or score < best[0]:
                best = (score, labels)
            if best[0][0] == 0 and attempt >= 1:
                break  # in range: two tries are enough to pick the better balanced
        if best is not None and best[0][0] == 0:
            break
    assert best is not None
    return best[1]


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

    Parameters
    ----------
    frozen:
        Region labels that must not change (locked grids): no unit moves in or out.

    Returns
    -------
    (labels, moves)
        New labels and the moves made, as (unit index, from label, to label).
    """
    p = params or PartitionParams()
    labels = np.asarray(labels, dtype=np.int64).copy()
    weights = np.asarray(weights, dtype=np.int64)
    n = len(labels)
    frozen = frozen or set()
    nb = _neighbours(n, ei, ej)
    lo, hi = float(p.households_min), float(p.households_max)
    members: dict[int, set[int]] = {}
    for u, r in enumerate(labels.tolist()):
        members.setdefault(r, set()).add(u)
    sums = {r: float(weights[list(m)].sum()) for r, m in members.items()}
    moves: list[tuple[int, int, int]] = []
    extra = balance_rounds

    for _ in range(p.max_moves):
        best: list[tuple[float, float, int, int, int]] = []
        bad = [r for r, sm in sums.items() if _penalty(sm, lo, hi) > 0 and r not in frozen]
        if extra > 0 or not bad:
            cand: set[int] = set(range(n)) if extra > 0 else set()
        else:
            cand = set()
            for r in bad:
                cand |= members[r]
                for u in members[r]:
                    cand.update(nb[u])
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
                best.append((-gain, -spread, u, a, b))
        if not best:
            break
        best.sort()
        chosen = None
        for neg_gain, neg_spread, u, a, b in best:
            if neg_gain < -1e-9 or (neg_gain <= 1e-9 and extra > 0 and neg_spread < -1e-9):
                if _still_connected(members[a], u, nb):
                    chosen = (neg_gain, u, a, b)
                    break
            else:
                break
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
