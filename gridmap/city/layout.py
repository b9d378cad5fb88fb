"""The synthetic city's plan in metres (pure numpy/shapely, no database).

Blocks sit on a square lattice and are taken in Hilbert-curve order, so every consecutive
run of blocks is contiguous and compact: the runs are the communities, runs of communities
the streets, runs of streets the districts (children inside parents by construction).
Buildings are a rows × cols layout inside each block's estate; roads are the block edges
(每隔四条一条主干路) and lanes (弄) cross each block. Coordinates are metres east/north of
the origin; :func:`to_lonlat` turns them into EPSG:4326 (a local equirectangular frame,
fine at city scale for invented geometry).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

from gridmap.city.params import CityParams

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON_EQ = 111_320.0


def hilbert_xy(side: int, d: IntArray) -> tuple[IntArray, IntArray]:
    """Lattice cells (x, y) of positions ``d`` along a Hilbert curve filling ``side`` ×
    ``side`` (``side`` a power of two); vectorised form of the classic d2xy."""
    t = np.asarray(d, dtype=np.int64).copy()
    x = np.zeros_like(t)
    y = np.zeros_like(t)
    s = 1
    while s < side:
        rx = 1 & (t // 2)
        ry = 1 & (t ^ rx)
        turn = ry == 0
        flip = turn & (rx == 1)
        x = np.where(flip, s - 1 - x, x)
        y = np.where(flip, s - 1 - y, y)
        x, y = np.where(turn, y, x), np.where(turn, x, y)
        x = x + s * rx
        y = y + s * ry
        t //= 4
        s *= 2
    return x, y


@dataclass
class Plan:
    """Blocks with their community index, and the buildings and roads of the city."""

    block_x: IntArray
    block_y: IntArray
    block_community: IntArray
    building_block: IntArray
    building_box: FloatArray  # (n, 4) minx, miny, maxx, maxy in metres
    building_levels: IntArray
    road_lines: FloatArray  # (n, 2, 2) metres
    road_kind: npt.NDArray[np.object_]


def block_lattice(n_blocks: int) -> tuple[IntArray, IntArray]:
    """The first ``n_blocks`` cells of the Hilbert curve on the smallest square holding them."""
    side = 1
    while side * side < n_blocks:
        side *= 2
    return hilbert_xy(side, np.arange(n_blocks, dtype=np.int64))


def cell_boxes(bx: IntArray, by: IntArray, p: CityParams, inset: float = 0.0) -> FloatArray:
    """Block cells (centre line to centre line), optionally inset (the estate inside roads)."""
    x0 = bx * p.block_m + inset
    y0 = by * p.block_m + inset
    return np.column_stack([x0, y0, x0 + p.block_m - 2 * inset, y0 + p.block_m - 2 * inset])


def buildings(bx: IntArray, by: IntArray, p: CityParams, rng: np.random.Generator
              ) -> tuple[IntArray, FloatArray, IntArray]:
    """Buildings of every block: their block, box (metres) and number of floors."""
    est = cell_boxes(bx, by, p, inset=p.road_m / 2 + 8.0)
    per = p.building_rows * p.building_cols
    n = len(bx) * per
    blk = np.repeat(np.arange(len(bx), dtype=np.int64), per)
    r = np.tile(np.repeat(np.arange(p.building_rows), p.building_cols), len(bx))
    c = np.tile(np.tile(np.arange(p.building_cols), p.building_rows), len(bx))
    w = (est[blk, 2] - est[blk, 0]) / p.building_cols
    h = (est[blk, 3] - est[blk, 1]) / p.building_rows
    fill_w = rng.uniform(0.45, 0.7, n)
    fill_h = rng.uniform(0.3, 0.5, n)  # slab buildings (板楼): wide, shallow
    x0 = est[blk, 0] + c * w + (1 - fill_w) * w / 2
    y0 = est[blk, 1] + r * h + (1 - fill_h) * h / 2
    box = np.column_stack([x0, y0, x0 + fill_w * w, y0 + fill_h * h])
    levels = rng.choice(np.array([6, 6, 6, 11, 18, 24, 30]), size=n)
    return blk, box, levels.astype(np.int64)


def roads(bx: IntArray, by: IntArray, p: CityParams) -> tuple[FloatArray, npt.NDArray[np.object_]]:
    """Road segments on the block edges (deduplicated) and lanes across every block."""
    edges = np.concatenate([
        np.column_stack([bx, by, bx + 1, by]), np.column_stack([bx, by + 1, bx + 1, by + 1]),
        np.column_stack([bx, by, bx, by + 1]), np.column_stack([bx + 1, by, bx + 1, by + 1]),
    ])
    edges = np.unique(edges, axis=0)
    horizontal = edges[:, 1] == edges[:, 3]
    line_no = np.where(horizontal, edges[:, 1], edges[:, 0])
    kind = np.where(line_no % 4 == 0, "primary", "residential").astype(object)
    seg = edges.reshape(-1, 2, 2).astype(float) * p.block_m
    k = p.lanes_per_block
    if k:
        est = cell_boxes(bx, by, p, inset=p.road_m / 2)
        frac = (np.arange(1, k + 1) / (k + 1))[None, :]
        xs = est[:, [0]] + frac * (est[:, [2]] - est[:, [0]])
        ys = est[:, [1]] + frac * (est[:, [3]] - est[:, [1]])
        # lanes run from road to road (centre lines), so they join the block's edges
        y_lo = np.repeat((by * p.block_m)[:, None], k, 1)
        x_lo = np.repeat((bx * p.block_m)[:, None], k, 1)
        vert = np.stack([np.stack([xs, y_lo], -1), np.stack([xs, y_lo + p.block_m], -1)], -2)
        hori = np.stack([np.stack([x_lo, ys], -1), np.stack([x_lo + p.block_m, ys], -1)], -2)
        lanes = np.concatenate([vert.reshape(-1, 2, 2), hori.reshape(-1, 2, 2)])
        seg = np.concatenate([seg, lanes])
        kind = np.concatenate([kind, np.full(len(lanes), "footway", dtype=object)])
    return seg, kind


def plan_city(n_communities: int, p: CityParams, rng: np.random.Generator) -> Plan:
    """Blocks, buildings and roads for ``n_communities`` communities."""
    n_blocks = n_communities * p.blocks_per_community
    bx, by = block_lattice(n_blocks)
    community = np.arange(n_blocks, dtype=np.int64) // p.blocks_per_community
    blk, box, levels = buildings(bx, by, p, rng)
    seg, kind = roads(bx, by, p)
    return Plan(bx, by, community, blk, box, levels, seg, kind)


def to_lonlat(x: npt.ArrayLike, y: npt.ArrayLike, p: CityParams) -> tuple[FloatArray, FloatArray]:
    """Metres from the origin → longitude, latitude."""
    lat = p.origin_lat + np.asarray(y, dtype=float) / _M_PER_DEG_LAT
    lon = p.origin_lon + np.asarray(x, dtype=float) / (
        _M_PER_DEG_LON_EQ * np.cos(np.radians(p.origin_lat)))
    return lon, lat


def boxes_ll(box: FloatArray, p: CityParams) -> npt.NDArray[np.object_]:
    """Boxes in metres → shapely polygons in EPSG:4326 (one vectorised pass)."""
    x0, y0 = to_lonlat(box[:, 0], box[:, 1], p)
    x1, y1 = to_lonlat(box[:, 2], box[:, 3], p)
    return np.asarray(shapely.box(x0, y0, x1, y1), dtype=object)


def lines_ll(seg: FloatArray, p: CityParams) -> npt.NDArray[np.object_]:
    """Segments in metres → shapely line strings in EPSG:4326."""
    lon, lat = to_lonlat(seg[..., 0], seg[..., 1], p)
    return np.asarray(shapely.linestrings(np.stack([lon, lat], -1)), dtype=object)
