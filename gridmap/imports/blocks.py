"""Street blocks (街坊/路块): the faces enclosed by the road network.

Where data has no estate or community boundary, blocks bounded by road centre lines are
the unit gridmap derives (reference/grids.md §2 G4: neighbouring grids share the road
centre line). The road lines are noded (``shapely.union_all``), polygonised, and faces
that are slivers (traffic islands, gaps between dual carriageways) or huge (the water or
open land outside the built area) are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

Geoms = npt.NDArray[np.object_]

BLOCK_HIGHWAYS: frozenset[str] = frozenset({
    "motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential",
    "living_street", "pedestrian", "road",
    "motorway_link", "trunk_link", "primary_link", "secondary_link", "tertiary_link",
})
"""Highway classes that bound a block. Service roads, footways and paths subdivide a block
rather than bound it, so they are left out by default."""


@dataclass(frozen=True)
class BlockParams:
    """How blocks are derived from road lines.

    Attributes
    ----------
    highways:
        ``highway=*`` values whose lines bound blocks.
    skip_tunnels:
        Tunnels do not separate the surface, so they are ignored.
    close_at_extent:
        Add the convex hull of the road lines as a boundary, so that faces cut by the edge
        of an extract become blocks too.
    min_area_m2, max_area_m2:
        Faces outside this range are dropped (slivers; huge outer faces).
    min_width_m:
        Faces thinner than this (area / perimeter × 2) are dropped as slivers.
    """

    highways: frozenset[str] = BLOCK_HIGHWAYS
    skip_tunnels: bool = True
    close_at_extent: bool = True
    min_area_m2: float = 800.0
    max_area_m2: float = 600_000.0
    min_width_m: float = 8.0


def block_lines_mask(
    highway: npt.NDArray[np.object_], tunnel: npt.NDArray[np.object_], params: BlockParams
) -> npt.NDArray[np.bool_]:
    """Which road lines bound blocks (vectorised over ``highway`` / ``tunnel`` tag arrays)."""
    hw = np.asarray(highway, dtype=object)
    keep = np.isin(hw, list(params.highways))
    if params.skip_tunnels:
        tun = np.asarray(tunnel, dtype=object)
        keep &= ~np.isin(tun, ["yes", "building_passage", "culvert", "1", "true"])
    return keep


def polygonize_lines(lines: Geoms, params: BlockParams) -> Geoms:
    """Blocks enclosed by ``lines`` (metric CRS), slivers and huge faces removed.

    Parameters
    ----------
    lines:
        Array of LineStrings in a metric CRS.
    params:
        See :class:`BlockParams`.

    Returns
    -------
    Array of Polygons (metric CRS), in a deterministic order (by representative point,
    north to south, then west to east).
    """
    geoms = [g for g in np.asarray(lines, dtype=object) if g is not None and not g.is_empty]
    if not geoms:
        return np.array([], dtype=object)
    arr = np.array(geoms, dtype=object)
    if params.close_at_extent:
        hull = shapely.convex_hull(shapely.multipoints(shapely.get_coordinates(arr)))
        if hull.geom_type == "Polygon":
            arr = np.append(arr, np.array([hull.exterior], dtype=object))
    noded = shapely.union_all(arr)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    if len(faces) == 0:
        return np.array([], dtype=object)
    area = shapely.area(faces)
    width = 2.0 * area / np.maximum(shapely.length(faces), 1e-9)
    keep = (area >= params.min_area_m2) & (area <= params.max_area_m2) & (
        width >= params.min_width_m
    )
    faces = faces[keep]
    pts = shapely.get_coordinates(shapely.point_on_surface(faces))
    order = np.lexsort((np.round(pts[:, 0], 3), -np.round(pts[:, 1], 3)))
    return np.asarray(faces[order], dtype=object)


_INSERT_BLOCKS_SQL = sa.text(
    """
    INSERT INTO street_block (area_m2, source, geom)
    SELECT n.area_m2, :source, ST_Multi(ST_GeomFromEWKB(n.wkb))
    FROM unnest(CAST(:areas AS float8[]), CAST(:wkbs AS bytea[])) AS n(area_m2, wkb)
    WHERE NOT EXISTS (
        SELECT 1 FROM street_block b
        WHERE b.geom && ST_PointOnSurface(ST_GeomFromEWKB(n.wkb))
          AND ST_Intersects(b.geom, ST_PointOnSurface(ST_GeomFromEWKB(n.wkb)))
    )
    RETURNING id
    """
)


def store_blocks(conn: Connection, blocks_4326: Geoms, areas_m2: npt.NDArray[np.float64],
                 source: str) -> list[int]:
    """Insert blocks (EPSG:4326) into ``street_block`` in one statement.

    A block whose representative point already lies in a stored block is skipped, so
    deriving blocks twice from the same roads adds nothing. Returns the new ids.
    """
    if len(blocks_4326) == 0:
        return []
    wkbs = shapely.to_wkb(shapely.set_srid(np.asarray(blocks_4326, dtype=object), 4326),
                          include_srid=True)
    with conn.begin_nested():
        ids = conn.execute(
            _INSERT_BLOCKS_SQL,
            {"source": source, "areas": [float(a) for a in areas_m2], "wkbs": list(wkbs)},
        ).scalars().all()
    return [int(i) for i in ids]
