"""Unit cells of a community (pure, no database; metric CRS).

Units are the things officers move between grids: buildings, and street blocks without
buildings. :func:`tessellate` cuts the community into one *cell* per unit, with boundaries
half-way between units: between street blocks this is the road centre line
(reference/grids.md G4), inside a block it runs between buildings. Cells form a coverage of
the community, so any grouping of cells is a partition: no gaps, no overlaps (G2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from gridmap.grids.geometry import polygonal, safe_union
from gridmap.grids.partition import PartitionParams

IntArray = npt.NDArray[np.int64]
GeomArray = npt.NDArray[np.object_]


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
        cells[bad] = [polygonal(shapely.make_valid(g)) for g in cells[bad]]
    if simplify_m > 0 and densify_m > 0 and n > 1:
        nonempty = ~shapely.is_empty(cells)
        simplified = shapely.coverage_simplify(
            cells[nonempty], simplify_m, simplify_boundary=False
        )
        cells[nonempty] = simplified
    return cells




def _block_cells(community: BaseGeometry, block_ids: IntArray, block_geoms: GeomArray,
                 p: PartitionParams) -> tuple[IntArray, GeomArray]:
    """Block ids and their cells (road centre lines between blocks); a community without
    blocks is one block (id 0)."""
    block_ids = np.asarray(block_ids, dtype=np.int64)
    block_geoms = np.asarray(block_geoms, dtype=object)
    if len(block_geoms):
        keep = ~shapely.is_empty(shapely.intersection(block_geoms, community))
        block_ids, block_geoms = block_ids[keep], block_geoms[keep]
    if len(block_geoms):
        return block_ids, _owned_voronoi(block_geoms, community, p.densify_m, p.simplify_m)
    return np.array([0], dtype=np.int64), np.array([community], dtype=object)


def _owners(block_cells: GeomArray, points: GeomArray, n: int) -> IntArray:
    """Index of the block cell holding each building's point (-1: none)."""
    owner = np.full(n, -1, dtype=np.int64)
    if len(points):
        tree = shapely.STRtree(block_cells)
        src, dst = tree.query(points, predicate="intersects")
        owner_first: dict[int, int] = {}
        for s, d in zip(src.tolist(), dst.tolist(), strict=True):
            owner_first.setdefault(s, d)
        for s, d in owner_first.items():
            owner[s] = d
    return owner


@dataclass
class _Units:
    """Cells under construction (parallel lists)."""

    unit_type: list[str] = field(default_factory=list)
    unit_id: list[int] = field(default_factory=list)
    block: list[int] = field(default_factory=list)
    geoms: list[BaseGeometry] = field(default_factory=list)
    hh: list[int] = field(default_factory=list)
    rs: list[int] = field(default_factory=list)

    def add(self, kind: str, uid: int, block: int, geom: BaseGeometry, hh: int, rs: int) -> None:
        self.unit_type.append(kind)
        self.unit_id.append(uid)
        self.block.append(block)
        self.geoms.append(geom)
        self.hh.append(hh)
        self.rs.append(rs)


def _cut_blocks(block_ids: IntArray, block_cells: GeomArray, owner: IntArray,
                building_ids: IntArray, building_geoms: GeomArray, households: IntArray,
                residents: IntArray) -> _Units:
    """One cell per empty block; the cell of a block with buildings cut between them."""
    units = _Units()
    for b in range(len(block_cells)):
        cell = block_cells[b]
        if cell is None or cell.is_empty:
            continue
        mine = np.flatnonzero(owner == b)
        bid = int(block_ids[b])
        if len(mine) == 0:
            units.add("block" if bid else "community", bid, bid, cell, 0, 0)
            continue
        sub = _owned_voronoi(building_geoms[mine], cell, 0.0, 0.0)
        for j, i in enumerate(mine):
            if not sub[j].is_empty:
                units.add("building", int(building_ids[i]), bid, sub[j], int(households[i]),
                          int(residents[i]))
    return units


def _attach_unplaced(units: _Units, geoms: GeomArray, owner: IntArray, points: GeomArray,
                     building_ids: IntArray, households: IntArray, residents: IntArray,
                     ) -> tuple[IntArray, IntArray, list[int]]:
    """Buildings that own no unique point (duplicated footprints) get no cell: their
    households are added to the cell that contains them. Returns households, residents
    and the buildings outside every block cell."""
    placed = {units.unit_id[k] for k in range(len(units.unit_id))
              if units.unit_type[k] == "building"}
    hh_arr = np.array(units.hh, dtype=np.int64)
    rs_arr = np.array(units.rs, dtype=np.int64)
    outside: list[int] = []
    if not len(geoms):
        return hh_arr, rs_arr, outside
    tree = shapely.STRtree(geoms)
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
    return hh_arr, rs_arr, outside


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
    block_ids, block_cells = _block_cells(community, block_ids, block_geoms, p)
    building_ids = np.asarray(building_ids, dtype=np.int64)
    building_geoms = np.asarray(building_geoms, dtype=object)
    households = np.asarray(households, dtype=np.int64)
    residents = np.asarray(residents, dtype=np.int64)
    points = shapely.point_on_surface(building_geoms) if len(building_geoms) else np.array([])
    owner = _owners(block_cells, points, len(building_ids))
    units = _cut_blocks(block_ids, block_cells, owner, building_ids, building_geoms,
                        households, residents)
    geoms_arr = np.array(units.geoms, dtype=object)
    if len(geoms_arr) > 1:
        # Make shared edges identical (clipping leaves last-digit differences along block
        # edges) so that unions of neighbouring cells are one piece, without hairline gaps.
        geoms_arr = np.asarray(
            shapely.coverage_clean(geoms_arr, snapping_distance=0.01, gap_width=0.01),
            dtype=object)
    hh_arr, rs_arr, outside = _attach_unplaced(units, geoms_arr, owner, points, building_ids,
                                               households, residents)
    return Cells(
        unit_type=units.unit_type,
        unit_id=np.array(units.unit_id, dtype=np.int64),
        block_id=np.array(units.block, dtype=np.int64),
        geoms=geoms_arr,
        households=hh_arr,
        residents=rs_arr,
        outside_buildings=outside,
    )
