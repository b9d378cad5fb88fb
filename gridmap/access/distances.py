"""Network distances on a :class:`~gridmap.access.graph.WalkGraph`.

Sources and targets sit on edges (snapped points). All sources of a set are reached in ONE
Dijkstra pass from a virtual super-source (:func:`node_distances`); per-source distances
(service areas per facility, candidate sites) are batched, one scipy call per batch
(:func:`node_distances_each`). Distances to points go through either end of their edge, or
directly along it when a source sits on the same edge.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from gridmap.access.graph import Floats, Ints, Snaps, WalkGraph


@dataclass
class Sources:
    """Sources on edges: edge index, offset from the edge's source node, and an extra
    start cost (the access leg from the facility to the street)."""

    edge: Ints
    offset: Floats
    extra: Floats

    @classmethod
    def from_snaps(cls, snaps: Snaps, include_access: bool = True) -> Sources:
        """The snapped points as sources (unsnapped ones dropped)."""
        ok = snaps.snapped
        extra = snaps.dist[ok] if include_access else np.zeros(int(ok.sum()))
        return cls(snaps.edge[ok], snaps.offset[ok], np.asarray(extra, dtype=float))

    def __len__(self) -> int:
        return int(len(self.edge))

    def take(self, idx: Any) -> Sources:
        """The sources at ``idx``."""
        return Sources(self.edge[idx], self.offset[idx], self.extra[idx])

    def plus(self, other: Sources) -> Sources:
        """These sources followed by ``other``."""
        return Sources(np.r_[self.edge, other.edge], np.r_[self.offset, other.offset],
                       np.r_[self.extra, other.extra])


def _augmented(graph: WalkGraph, groups: Ints, sources: Sources, n_groups: int) -> sparse.csr_matrix:
    """The adjacency plus ``n_groups`` virtual source nodes (rows N..N+G-1) with
    outgoing arcs only: to both ends of each source's edge, weighted by the offset
    (resp. the remainder) plus the access leg. No arc enters a virtual node, so no
    path can pass through one."""
    n = graph.n_nodes
    e = sources.edge
    length = graph.length[e]
    rows = np.r_[groups, groups] + n
    cols = np.r_[graph.source[e], graph.target[e]]
    w = np.maximum(np.r_[sources.offset + sources.extra, length - sources.offset + sources.extra],
                   1e-6)
    order = np.lexsort((w, cols, rows))
    rows, cols, w = rows[order], cols[order], w[order]
    first = np.r_[True, (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])] if len(rows) else \
        np.zeros(0, dtype=bool)
    rows, cols, w = rows[first], cols[first], w[first]
    base = graph.adjacency
    counts = np.bincount(rows - n, minlength=n_groups)
    indptr = np.r_[base.indptr, base.indptr[-1] + np.cumsum(counts)]
    size = n + n_groups
    return sparse.csr_matrix(
        (np.r_[base.data, w], np.r_[base.indices, cols], indptr), shape=(size, size)
    )


def node_distances(graph: WalkGraph, sources: Sources, limit: float = np.inf) -> Floats:
    """Network distance from the nearest source to every node: ONE Dijkstra pass from
    a virtual super-source (all sources at once). ``inf`` = unreachable / beyond ``limit``."""
    if len(sources) == 0:
        return np.full(graph.n_nodes, np.inf)
    aug = _augmented(graph, np.zeros(len(sources), dtype=np.int64), sources, 1)
    d = csgraph.dijkstra(aug, directed=True, indices=graph.n_nodes, limit=limit)
    return np.asarray(d[: graph.n_nodes], dtype=float)


def node_distances_each(
    graph: WalkGraph, sources: Sources, limit: float, max_cells: int = 8_000_000
) -> Iterator[tuple[Ints, Floats]]:
    """Per-source node distances, batched: yields ``(source_indices, matrix)`` with one
    row per source (columns = nodes). Each batch is one scipy call over many sources."""
    n = graph.n_nodes
    chunk = max(1, min(len(sources), max_cells // max(n, 1)))
    for start in range(0, len(sources), chunk):
        idx = np.arange(start, min(start + chunk, len(sources)))
        sub = sources.take(idx)
        aug = _augmented(graph, np.arange(len(idx), dtype=np.int64), sub, len(idx))
        d = csgraph.dijkstra(aug, directed=True, indices=n + np.arange(len(idx)), limit=limit)
        yield idx, np.asarray(d[:, :n], dtype=float)


def _same_edge_pairs(sources: Sources, e: Ints) -> tuple[Ints, Ints]:
    """Every (target position, source index) pair on the same edge (``e``: target edges)."""
    s_order = np.argsort(sources.edge, kind="stable")
    s_edge = sources.edge[s_order]
    lo = np.searchsorted(s_edge, e, side="left")
    hi = np.searchsorted(s_edge, e, side="right")
    cnt = hi - lo
    has = np.flatnonzero(cnt > 0)
    rep_t = np.repeat(has, cnt[has])
    starts = np.repeat(lo[has], cnt[has])
    within = np.arange(len(rep_t)) - np.repeat(np.cumsum(cnt[has]) - cnt[has], cnt[has])
    return rep_t, s_order[starts + within]


def point_distances(
    graph: WalkGraph, dnode: Floats, targets: Snaps, sources: Sources,
    include_access: bool = True,
) -> Floats:
    """Distance to every target point given node distances ``dnode`` from ``sources``.

    Through either end of the target's edge, or directly along the edge when a
    source sits on the same edge. Unsnapped targets get ``inf``.
    """
    out = np.full(len(targets.edge), np.inf)
    ok = np.flatnonzero(targets.snapped)
    if len(ok) == 0:
        return out
    e = targets.edge[ok]
    t = targets.offset[ok]
    length = graph.length[e]
    d = np.minimum(dnode[graph.source[e]] + t, dnode[graph.target[e]] + length - t)
    if len(sources):
        # same-edge direct walk: pair targets and sources by edge
        rep_t, s_idx = _same_edge_pairs(sources, e)
        if len(rep_t):
            direct = np.abs(sources.offset[s_idx] - t[rep_t]) + sources.extra[s_idx]
            np.minimum.at(d, rep_t, direct)
    if include_access:
        d = d + targets.dist[ok]
    out[ok] = d
    return out


def point_distance_matrix(
    graph: WalkGraph, dnodes: Floats, targets: Snaps, sources: Sources,
    include_access: bool = True,
) -> Floats:
    """Row-wise :func:`point_distances` for a batch (``dnodes``: sources × nodes)."""
    m = np.full((len(sources), len(targets.edge)), np.inf)
    ok = np.flatnonzero(targets.snapped)
    if len(ok) == 0 or len(sources) == 0:
        return m
    e = targets.edge[ok]
    t = targets.offset[ok]
    length = graph.length[e]
    d = np.minimum(dnodes[:, graph.source[e]] + t, dnodes[:, graph.target[e]] + length - t)
    # same edge
    same = sources.edge[:, None] == e[None, :]
    if same.any():
        si, ti = np.nonzero(same)
        direct = np.abs(sources.offset[si] - t[ti]) + sources.extra[si]
        d[si, ti] = np.minimum(d[si, ti], direct)
    if include_access:
        d = d + targets.dist[ok][None, :]
    m[:, ok] = d
    return m


def type_distances(
    graph: WalkGraph, targets: Snaps, sources: Sources, cap_m: float, include_access: bool = True
) -> Floats:
    """Network distance from each target to the nearest source: one multi-source pass.

    Distances beyond ``cap_m`` (where the Dijkstra stops) are ``inf``.
    """
    if len(sources) == 0:
        return np.full(len(targets.edge), np.inf)
    d = node_distances(graph, sources, limit=cap_m)
    out = point_distances(graph, d, targets, sources, include_access)
    out[out > cap_m] = np.inf
    return out
