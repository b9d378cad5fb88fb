"""The sample's street/community split (gridmap.demo.district) uses the grids' partition
algorithm: connected, balanced parts of a block graph (no database)."""

from __future__ import annotations

import networkx as nx
import numpy as np
from shapely.geometry import box

from gridmap.grids import partition


def _graph(ei: np.ndarray, ej: np.ndarray, n: int) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(zip(ei.tolist(), ej.tolist(), strict=True))
    return g


def _parts(labels: np.ndarray) -> list[list[int]]:
    return [np.flatnonzero(labels == lab).tolist() for lab in sorted(set(labels.tolist()))]


def test_split_balanced_gives_connected_balanced_parts() -> None:
    cells = [box(x, y, x + 1, y + 1) for y in range(5) for x in range(6)]
    geoms = np.array(cells, dtype=object)
    ei, ej, _ = partition.adjacency(geoms, min_shared_m=0.5)
    graph = _graph(ei, ej, len(cells))
    assert graph.number_of_edges() == 5 * 5 + 6 * 4  # corner touches are not adjacency
    pts = np.array([[c.centroid.x, c.centroid.y] for c in cells])
    parts = _parts(partition.split_balanced(np.ones(30, dtype=np.int64), pts, ei, ej, 4))
    assert len(parts) == 4
    assert sorted(n for p in parts for n in p) == list(range(30))
    for p in parts:
        assert nx.is_connected(graph.subgraph(p))
        assert 5 <= len(p) <= 10


def test_split_balanced_never_strands_a_dead_end() -> None:
    # a comb: a spine with teeth; growing parts must not cut teeth off the rest
    cells = [box(x, 0, x + 1, 1) for x in range(8)] + [box(x, 1, x + 1, 3) for x in range(0, 8, 2)]
    geoms = np.array(cells, dtype=object)
    ei, ej, _ = partition.adjacency(geoms, min_shared_m=0.5)
    graph = _graph(ei, ej, len(cells))
    pts = np.array([[c.centroid.x, c.centroid.y] for c in cells])
    parts = _parts(partition.split_balanced(np.ones(len(cells), dtype=np.int64), pts, ei, ej, 3))
    assert all(nx.is_connected(graph.subgraph(p)) for p in parts)
    assert sum(len(p) for p in parts) == len(cells)
