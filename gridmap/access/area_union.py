"""Union of buffered edge intervals with a spatial quadtree cache.

A service area is the union of buffered reached edge intervals. Across facility types
and walking times most of the district is reached in exactly the same way (every edge
fully reached), so the union is built bottom-up over a quadtree of edge cells and every
cell's union is cached by its content (the edge intervals inside it). A new polygon
re-unions only the cells whose intervals differ from one already computed; merging the
four children of a cell is cheap (already dissolved polygons). The result is the same
union in a different order: equal up to floating-point noise (the tests allow a relative
symmetric-difference area of 1e-6).
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import numpy.typing as npt
import shapely

from gridmap.access.graph import Floats, Ints, WalkGraph

LEAF_EDGES = 16
"""Target mean number of edges per leaf cell."""


def substrings(lines: npt.NDArray[np.object_], start: Floats, end: Floats) -> npt.NDArray[np.object_]:
    """Vectorised ``shapely.ops.substring``: the part of each line between ``start`` and
    ``end`` metres from its first vertex (requires ``start < end``)."""
    lines = np.asarray(lines, dtype=object)
    if len(lines) == 0:
        return np.empty(0, dtype=object)
    xy, idx = shapely.get_coordinates(lines, return_index=True)
    step = np.r_[0.0, np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1]))]
    first = np.r_[True, idx[1:] != idx[:-1]]
    step[first] = 0.0
    cum = np.cumsum(step)
    cum -= np.repeat(cum[first], np.bincount(idx))
    inner = (cum > start[idx]) & (cum < end[idx])
    sp = shapely.get_coordinates(shapely.line_interpolate_point(lines, start))
    ep = shapely.get_coordinates(shapely.line_interpolate_point(lines, end))
    n = len(lines)
    ids = np.r_[np.arange(n), idx[inner], np.arange(n)]
    keys = np.r_[start, cum[inner], end]
    pts = np.r_[sp, xy[inner], ep]
    order = np.lexsort((keys, ids))
    return np.asarray(shapely.linestrings(pts[order], indices=ids[order]), dtype=object)


def merged_intervals(e: Ints, s: Floats, t: Floats) -> tuple[Ints, Floats, Floats]:
    """Overlapping or touching intervals of the same edge merged into one (same union,
    so equal content gives equal cache keys)."""
    order = np.lexsort((s, e))
    e, s, t = e[order], s[order], t[order]
    big = float(max(t.max(initial=0.0), 1.0)) * 4.0 + 1.0
    reach = np.maximum.accumulate(t + e * big)  # running end within each edge
    new = np.r_[True, (e[1:] != e[:-1]) | (s[1:] + e[1:] * big > reach[:-1] + 1e-6)]
    start = np.flatnonzero(new)
    end = np.r_[start[1:], len(e)] - 1
    return e[start], s[start], reach[end] - e[start] * big


def _pieces(graph: WalkGraph, e: Ints, s: Floats, t: Floats) -> npt.NDArray[np.object_]:
    return substrings(graph.geoms[e], s, t)


class AreaUnion:
    """Buffered unions of edge-interval sets over one graph, cached per quadtree cell.

    Parameters
    ----------
    graph:
        The walking network (metric CRS).
    width_m:
        Buffer width around each reached interval.
    """

    def __init__(self, graph: WalkGraph, width_m: float) -> None:
        self.graph = graph
        self.width_m = width_m
        n = max(len(graph.geoms), 1)
        self.depth = max(0, math.ceil(math.log(max(n / LEAF_EDGES, 1.0), 4)))
        mid = shapely.get_coordinates(shapely.line_interpolate_point(
            graph.geoms, 0.5, normalized=True)) if len(graph.geoms) else np.zeros((0, 2))
        side = 1 << self.depth
        lo = mid.min(axis=0) if len(mid) else np.zeros(2)
        span = np.maximum(np.ptp(mid, axis=0), 1e-9) if len(mid) else np.ones(2)
        cell = np.minimum(((mid - lo) / span * side).astype(np.int64), side - 1)
        self.cell_x: Ints = cell[:, 0] if len(mid) else np.zeros(0, dtype=np.int64)
        self.cell_y: Ints = cell[:, 1] if len(mid) else np.zeros(0, dtype=np.int64)
        self.cache: dict[bytes, shapely.Geometry] = {}
        self.edge_buf: npt.NDArray[np.object_] = np.full(len(graph.geoms), None, dtype=object)
        self.has_buf = np.zeros(len(graph.geoms), dtype=bool)

    def polygon(self, e: Ints, s: Floats, t: Floats) -> shapely.Geometry:
        """Union of the buffered intervals ``[s, t]`` (metres) of edges ``e``."""
        if len(e) == 0:
            return shapely.Polygon()
        level = self._leaves(*merged_intervals(np.asarray(e, dtype=np.int64),
                                               np.asarray(s, dtype=float),
                                               np.asarray(t, dtype=float)))
        for _ in range(self.depth):
            level = self._merge(level)
        return next(iter(level.values()))[1]

    def _leaves(self, e: Ints, s: Floats, t: Floats
                ) -> dict[tuple[int, int], tuple[bytes, shapely.Geometry]]:
        """Leaf cells: content keys, cached unions; the missing ones in one buffer pass."""
        cx, cy = self.cell_x[e], self.cell_y[e]
        sr, tr = np.round(s, 3), np.round(t, 3)
        order = np.lexsort((tr, sr, e, cy, cx))
        e, cx, cy = e[order], cx[order], cy[order]
        s, t, sr, tr = s[order], t[order], sr[order], tr[order]
        bounds = np.flatnonzero(np.r_[True, (cx[1:] != cx[:-1]) | (cy[1:] != cy[:-1]), True])
        keys: dict[tuple[int, int], tuple[bytes, int, int]] = {}
        missing: list[int] = []
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            key = hashlib.blake2b(e[a:b].tobytes() + sr[a:b].tobytes() + tr[a:b].tobytes(),
                                  digest_size=16).digest()
            keys[(int(cx[a]), int(cy[a]))] = (key, int(a), int(b))
            if key not in self.cache:
                missing.extend(range(a, b))
        if missing:
            idx = np.asarray(missing, dtype=np.int64)
            polys = self._buffers(e[idx], s[idx], t[idx])
            pos = 0
            for key, a, b in keys.values():
                if key in self.cache:
                    continue
                self.cache[key] = shapely.union_all(polys[pos:pos + b - a])
                pos += b - a
        return {c: (k, self.cache[k]) for c, (k, _a, _b) in keys.items()}

    def _buffers(self, e: Ints, s: Floats, t: Floats) -> npt.NDArray[np.object_]:
        """Buffered intervals; whole edges come from a per-edge cache (most of them)."""
        full = (s <= 1e-9) & (t >= self.graph.length[e] - 1e-9)
        need = np.unique(e[full & ~self.has_buf[e]])
        if len(need):
            self.edge_buf[need] = shapely.buffer(self.graph.geoms[need], self.width_m,
                                                 quad_segs=2)
            self.has_buf[need] = True
        out = np.empty(len(e), dtype=object)
        out[full] = self.edge_buf[e[full]]
        part = ~full
        if part.any():
            out[part] = shapely.buffer(_pieces(self.graph, e[part], s[part], t[part]),
                                       self.width_m, quad_segs=2)
        return out

    def _merge(self, level: dict[tuple[int, int], tuple[bytes, shapely.Geometry]]
               ) -> dict[tuple[int, int], tuple[bytes, shapely.Geometry]]:
        """One level up: the union of each parent's children, cached by their keys."""
        groups: dict[tuple[int, int], list[tuple[tuple[int, int], bytes, shapely.Geometry]]] = {}
        for (x, y), (key, geom) in sorted(level.items()):
            groups.setdefault((x >> 1, y >> 1), []).append(((x, y), key, geom))
        out: dict[tuple[int, int], tuple[bytes, shapely.Geometry]] = {}
        for parent, kids in groups.items():
            key = hashlib.blake2b(b"".join(bytes(str(c), "ascii") + k for c, k, _g in kids),
                                  digest_size=16).digest()
            if key not in self.cache:
                geoms = [g for _c, _k, g in kids]
                self.cache[key] = geoms[0] if len(geoms) == 1 else shapely.union_all(geoms)
            out[parent] = (key, self.cache[key])
        return out
