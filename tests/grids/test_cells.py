"""Pure tests of gridmap.grids.cells: tessellation of a community into unit cells (no database)."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import box

from gridmap.grids import cells as cells_mod


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


def _cells(hh: int = 30, **kw: float) -> cells_mod.Cells:
    comm, blocks, blds = _layout(**kw)  # type: ignore[arg-type]
    n = len(blds)
    return cells_mod.tessellate(comm, np.arange(1, len(blocks) + 1), blocks,
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
    cells = cells_mod.tessellate(comm, np.array([1, 2]), blocks, np.arange(1, n + 1),
                                 blds[keep], np.full(n, 10), np.full(n, 20))
    assert cells.unit_type.count("block") == 1
    assert cells.unit_id[cells.unit_type.index("block")] == 2
    none = cells_mod.tessellate(comm, np.array([], dtype=np.int64), np.array([], dtype=object),
                                np.arange(1, n + 1), blds[keep], np.full(n, 10), np.full(n, 20))
    assert len(none) == n
    assert abs(shapely.union_all(none.geoms).area - comm.area) < 1.0
