"""Pure tests of gridmap.partition: tessellation into unit cells, adjacency, partition
and rebalance (no database)."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import box

from gridmap.grids import partition
from gridmap.grids.partition import PartitionParams


def _layout(nx: int = 4, ny: int = 3, block: float = 150.0, bx: int = 3, by: int = 2,
            road: float = 12.0) -> tuple[shapely.Polygon, np.ndarray, np.ndarray]:
    half = road / 2
    blocks, blds = [], []
    for i in range(nx):
        for j in range(ny):
            x0, y0, x1, y1 = i * block + half, j * block + half, (i + 1) * block - half, (
                j + 1) * block - half
            blocks.append(box(x0, y0, x1, y1))
            cw, ch = (x1 - x0) / bx, (y1 - y0) / by
            for a in range(bx):
                for b in range(by):
                    blds.append(box(x0 + a * cw + 0.2 * cw, y0 + b * ch + 0.2 * ch,
                                    x0 + (a + 0.8) * cw, y0 + (b + 0.8) * ch))
    return (box(0, 0, nx * block, ny * block), np.array(blocks, dtype=object),
            np.array(blds, dtype=object))


def _cells(hh: int = 30, **kw: float) -> partition.Cells:
    comm, blocks, blds = _layout(**kw)  # type: ignore[arg-type]
    n = len(blds)
    return partition.tessellate(comm, np.arange(1, len(blocks) + 1), blocks,
                                np.arange(1, n + 1), blds, np.full(n, hh), np.full(n, 2 * hh))


def test_cells_cover_the_community_without_overlap_and_meet_on_road_centre_lines() -> None:
    cells = _cells()
    comm = box(0, 0, 600, 450)
    assert len(cells) == 72 and set(cells.unit_type) == {"building"}
    assert shapely.coverage_is_valid(cells.geoms)
    assert abs(shapely.coverage_union_all(cells.geoms).area - comm.area) < 1.0
    # the cells of block 1 (x 6..144) reach the road centre line x = 150
    block1 = shapely.union_all(cells.geoms[cells.block_id == 1])
    assert abs(block1.bounds[2] - 150.0) < 0.6
    # every building lies inside its own cell
    comm2, _, blds = _layout()
    for i, uid in enumerate(cells.unit_id.tolist()):
        assert cells.geoms[i].contains(blds[uid - 1].centroid)


def test_empty_block_is_its_own_unit_and_no_blocks_means_one_block() -> None:
    comm, blocks, blds = _layout(nx=2, ny=1)
    keep = np.array([b.centroid.x < 150 for b in blds])
    n = int(keep.sum())
    cells = partition.tessellate(comm, np.array([1, 2]), blocks, np.arange(1, n + 1),
                                 blds[keep], np.full(n, 10), np.full(n, 20))
    assert cells.unit_type.count("block") == 1
    assert cells.unit_id[cells.unit_type.index("block")] == 2
    none = partition.tessellate(comm, np.array([], dtype=np.int64), np.array([], dtype=object),
                                np.arange(1, n + 1), blds[keep], np.full(n, 10), np.full(n, 20))
    assert len(none) == n
    assert abs(shapely.union_all(none.geoms).area - comm.area) < 1.0


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
