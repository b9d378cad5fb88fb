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


# The new faces of one import, kept for the statements below (dropped at commit/rollback).
_NEW_BLOCKS_SQL = (
    "CREATE TEMP TABLE IF NOT EXISTS gm_new_block (idx int, area_m2 float8, geom geometry) "
    "ON COMMIT DROP",
    "TRUNCATE gm_new_block",
    "INSERT INTO gm_new_block SELECT n.idx, n.area_m2, ST_Multi(ST_GeomFromEWKB(n.wkb)) FROM "
    "unnest(CAST(:idx AS int[]), CAST(:areas AS float8[]), CAST(:wkbs AS bytea[])) "
    "AS n(idx, area_m2, wkb)",
)
# stored block b and new face n overlap by more than :eps square metres
_OVERLAP = ("b.geom && n.geom AND ST_Intersects(b.geom, n.geom) AND "
            "ST_Area(ST_Intersection(b.geom, n.geom)::geography) > :eps")
_SAME = ("abs(ST_Area(b.geom::geography) - ST_Area(n.geom::geography)) <= :eps "
         "AND ST_Area(ST_SymDifference(b.geom, n.geom)::geography) <= :eps")
_IN_GRID = ("EXISTS (SELECT 1 FROM grid_member m WHERE m.unit_type = 'block' "
            "AND m.unit_id = b.id)")
_REBUILD_SQL = {
    # an old block overlapping new faces takes the geometry of the face it overlaps most,
    # when it is also that face's largest old block (ids kept: grids keep pointing at them)
    "updated": f"""
        WITH ov AS (
            SELECT b.id, n.idx, ST_Area(ST_Intersection(b.geom, n.geom)::geography) AS a
            FROM street_block b JOIN gm_new_block n ON {_OVERLAP}
            WHERE NOT EXISTS (SELECT 1 FROM gm_new_block n WHERE b.geom && n.geom AND {_SAME})
              AND NOT EXISTS (SELECT 1 FROM street_block b WHERE b.geom && n.geom
                              AND {_SAME})),
        best AS (SELECT DISTINCT ON (id) id, idx, a FROM ov ORDER BY id, a DESC, idx),
        pick AS (SELECT DISTINCT ON (idx) id, idx FROM best ORDER BY idx, a DESC, id)
        UPDATE street_block b SET geom = n.geom, area_m2 = n.area_m2, source = :source,
                                  community_id = NULL
        FROM pick JOIN gm_new_block n ON n.idx = pick.idx
        WHERE b.id = pick.id RETURNING b.id""",  # noqa: S608 - constant fragments
    # old blocks still overlapping new faces: removed, or cut back when a grid holds them
    "removed": f"""
        DELETE FROM street_block b WHERE NOT {_IN_GRID} AND EXISTS (
            SELECT 1 FROM gm_new_block n WHERE {_OVERLAP} AND NOT ({_SAME}))
        RETURNING b.id""",  # noqa: S608
    "cut": f"""
        UPDATE street_block b SET geom = ST_Multi(ST_CollectionExtract(ST_Difference(
            b.geom, (SELECT ST_Union(n.geom) FROM gm_new_block n WHERE {_OVERLAP})), 3))
        WHERE {_IN_GRID} AND EXISTS (SELECT 1 FROM gm_new_block n WHERE {_OVERLAP}
                                     AND NOT ({_SAME}))
        RETURNING b.id""",  # noqa: S608
}
_INSERT_NEW_SQL = f"""
    INSERT INTO street_block (area_m2, source, geom)
    SELECT n.area_m2, :source, n.geom FROM gm_new_block n
    WHERE NOT EXISTS (SELECT 1 FROM street_block b WHERE {_OVERLAP})
    ORDER BY n.idx RETURNING id"""  # noqa: S608
_PRESENT_SQL = f"""
    SELECT count(*) FROM gm_new_block n
    WHERE EXISTS (SELECT 1 FROM street_block b WHERE b.geom && n.geom AND {_SAME})"""  # noqa: S608
_OVERLAPPING_SQL = f"""
    SELECT count(*) FROM gm_new_block n
    WHERE EXISTS (SELECT 1 FROM street_block b WHERE {_OVERLAP})
      AND NOT EXISTS (SELECT 1 FROM street_block b WHERE {_SAME} AND b.geom && n.geom)"""  # noqa: S608


def sync_blocks(conn: Connection, blocks_4326: Geoms, areas_m2: npt.NDArray[np.float64],
                source: str, *, rebuild: bool, eps_m2: float = 1.0) -> dict[str, int]:
    """Store the blocks of an import so that ``street_block`` stays a partition.

    A new face equal to a stored block (within ``eps_m2``) is already present. A new face
    that overlaps stored blocks by more than ``eps_m2`` is, with ``rebuild``, the successor
    of the block it overlaps most (geometry updated in place, id kept); the other stored
    blocks it overlaps are removed, or cut back to what lies outside the new faces when a
    grid holds them. Without ``rebuild`` such a face is left out and counted. Faces
    overlapping nothing are inserted.

    Returns
    -------
    dict
        ``inserted``, ``present``, ``updated``, ``removed``, ``cut``, ``overlapping`` (faces
        left out without ``rebuild``).
    """
    out = {"inserted": 0, "present": 0, "updated": 0, "removed": 0, "cut": 0,
           "overlapping": 0}
    if len(blocks_4326) == 0:
        return out
    wkbs = shapely.to_wkb(shapely.set_srid(np.asarray(blocks_4326, dtype=object), 4326),
                          include_srid=True)
    binds = {"idx": list(range(len(wkbs))), "areas": [float(a) for a in areas_m2],
             "wkbs": list(wkbs), "source": source, "eps": eps_m2}
    with conn.begin_nested():
        for sql in _NEW_BLOCKS_SQL:
            conn.execute(sa.text(sql), binds)
        out["present"] = int(conn.execute(sa.text(
            _PRESENT_SQL), binds).scalar_one())
        if rebuild:
            for key, sql in _REBUILD_SQL.items():
                out[key] = len(conn.execute(sa.text(sql), binds).all())
        else:
            out["overlapping"] = int(conn.execute(sa.text(_OVERLAPPING_SQL), binds).scalar_one())
        out["inserted"] = len(conn.execute(sa.text(_INSERT_NEW_SQL), binds).all())
    return out


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
