"""Pure tests of gridmap.grids.partition: adjacency, partition, rebalance and balanced
splits (no database)."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import box

from gridmap.grids import partition
from gridmap.grids.partition import PartitionParams


def test_adjacency_ignores_corner_touches() -> None:
    geoms = np.array([box(0, 0, 1, 1), box(1, 0, 2, 1), box(1, 1, 2, 2)], dtype=object)
    i, j, length = partition.adjacency(geoms, min_shared_m=0.5)
    assert sorted(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 1), (1, 2)]
    assert np.allclose(length, 1.0, atol=0.1)


def _grid_graph(nx: int, ny: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    geoms = np.array([box(i, j, i + 1, j + 1) for i in range(nx) for j in range(ny)],
                     dtype=object)
    ei, ej, _ = partition.adjacency(geoms, 0.5)
    return shapely.get_coordinates(shapely.centroid(geoms)), ei, ej


def _connected(labels: np.ndarray, ei: np.ndarray, ej: np.ndarray) -> bool:
    import networkx as nx

    for lab in set(labels.tolist()):
        g = nx.Graph()
        nodes = np.flatnonzero(labels == lab)
        g.add_nodes_from(nodes.tolist())
        g.add_edges_from((a, b) for a, b in zip(ei.tolist(), ej.tolist(), strict=True)
                         if labels[a] == lab and labels[b] == lab)
        if not nx.is_connected(g):
            return False
    return True


def test_partition_is_contiguous_in_range_and_deterministic() -> None:
    xy, ei, ej = _grid_graph(8, 6)
    w = np.random.default_rng(1).integers(60, 140, len(xy))
    k = partition.choose_k(int(w.sum()), PartitionParams())
    a = partition.best_partition(w, xy, ei, ej, k, seed=5)
    b = partition.best_partition(w, xy, ei, ej, k, seed=5)
    assert np.array_equal(a, b)
    assert _connected(a, ei, ej)
    sums = np.bincount(a, weights=w)
    assert sums.min() >= 300 and sums.max() <= 500, sums


def test_rebalance_fixes_ranges_with_few_moves_and_respects_frozen() -> None:
    xy, ei, ej = _grid_graph(4, 2)  # 8 units of 100: two regions of 400 is ideal
    w = np.full(8, 100)
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1])  # 600 / 200
    new, moves = partition.rebalance_labels(labels, w, ei, ej)
    sums = np.bincount(new, weights=w)
    assert sorted(sums.tolist()) == [300.0, 500.0] or sorted(sums.tolist()) == [400.0, 400.0]
    assert len(moves) == 1 and _connected(new, ei, ej)
    same, none = partition.rebalance_labels(labels, w, ei, ej, frozen={1})
    assert none == [] and np.array_equal(same, labels)
    ok = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert partition.rebalance_labels(ok, w, ei, ej)[1] == []  # in range: no moves
