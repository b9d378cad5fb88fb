"""Boundary import: read a file, normalise it to EPSG:4326, validate it, write it.

Levels: district, street, community, estate, building (grids are imported by the grid
module). Formats: GeoJSON, GeoPackage, zipped Shapefile, CSV with a WKT column or
lon/lat columns.

The module also exposes primitives reused by other importers (the OSM importer):

- :func:`repair_geometries`: make invalid geometries valid, drop degenerate ones,
  refuse wrong geometry types, all reported as :class:`~gridmap.errors.Problem`;
- :class:`Progress`: the callback protocol long imports use to report progress (the
  library never prints; the CLI renders progress on a terminal).

Rules come from ``reference/crs.md`` §7 (store EPSG:4326, never convert GCJ-02/BD-09
silently, flag swapped lon/lat) and the issue text of the foundation (#3).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import geopandas as gpd
import numpy as np
import shapely

from gridmap.errors import Problem

ROW_COL = "_row"
"""Column holding the 1-based row/feature number of the input (for problem reports)."""

POLYGONAL: tuple[str, ...] = ("Polygon", "MultiPolygon")


class Progress(Protocol):
    """Progress callback: ``progress(stage, done, total)``.

    ``stage`` is a short English word (``read``, ``validate``, ``load``, ``link``, ...),
    ``done`` the rows processed so far in that stage and ``total`` the rows expected
    (``None`` when unknown). Renderers compute rates themselves.
    """

    def __call__(self, stage: str, done: int, total: int | None) -> None:  # pragma: no cover
        ...


def no_progress(stage: str, done: int, total: int | None) -> None:
    """A :class:`Progress` that ignores everything."""


def row_numbers(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """1-based input row numbers: the ``_row`` column if present, else positions + 1."""
    if ROW_COL in gdf.columns:
        return np.asarray(gdf[ROW_COL], dtype=np.int64)
    return np.arange(1, len(gdf) + 1, dtype=np.int64)


def to_multipolygons(geoms: np.ndarray) -> np.ndarray:
    """Promote an array of Polygon/MultiPolygon geometries to MultiPolygon (vectorised).

    Empty or missing inputs give ``None``.
    """
    geoms = np.asarray(geoms, dtype=object)
    out = np.full(len(geoms), None, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not present.any():
        return out
    parts, index = shapely.get_parts(geoms[present], return_index=True)
    keep = shapely.get_type_id(parts) == 3  # Polygon
    built = shapely.multipolygons(parts[keep], indices=index[keep])
    # multipolygons() returns one geometry per distinct index value, in order
    targets = np.flatnonzero(present)[np.unique(index[keep])]
    out[targets] = built
    return out


def _polygonal_part(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygons of each geometry (drops lines/points from collections)."""
    out = np.full(len(geoms), None, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not present.any():
        return out
    parts, index = shapely.get_parts(geoms[present], return_index=True)
    # GeometryCollections may nest multipolygons: flatten one more level
    multi = shapely.get_type_id(parts) == 6
    if multi.any():
        sub, sub_idx = shapely.get_parts(parts[multi], return_index=True)
        parts = np.concatenate([parts[~multi], sub])
        index = np.concatenate([index[~multi], index[multi][sub_idx]])
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)
    if keep.any():
        built = shapely.multipolygons(parts[keep], indices=index[keep])
        targets = np.flatnonzero(present)[np.unique(index[keep])]
        out[targets] = built
    return out


def repair_geometries(
    gdf: gpd.GeoDataFrame, *, allowed_types: Sequence[str] = POLYGONAL
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Repair invalid geometries and drop unusable ones, reporting each row.

    One vectorised pass, no per-row Python loop over geometries.

    Parameters
    ----------
    gdf:
        Input rows; the ``_row`` column (1-based input row) is used in problems if present.
    allowed_types:
        Geometry types accepted for the target (``("Polygon", "MultiPolygon")`` for
        boundaries). When both polygon types are allowed, every output geometry is a
        MultiPolygon (the storage type of boundary tables).

    Returns
    -------
    (GeoDataFrame, list[Problem])
        The kept rows (in input order, index preserved) with repaired geometries, and
        the problems: ``error`` for missing/empty geometries and wrong geometry types
        (those rows are dropped), ``warning`` for geometries repaired with
        ``make_valid`` and for geometries that collapsed to nothing (degenerate rings,
        zero area) and were dropped.
    """
    problems: list[Problem] = []
    rows = row_numbers(gdf)
    geoms = shapely.force_2d(np.asarray(gdf.geometry.values, dtype=object))
    polygonal = set(allowed_types) <= set(POLYGONAL) and bool(allowed_types)

    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    type_names = np.array(_TYPE_NAMES, dtype=object)[shapely.get_type_id(geoms) + 1]
    accepted = list(allowed_types) + (["GeometryCollection"] if polygonal else [])
    # a GeometryCollection is accepted for polygons only if it holds polygons (after repair)
    wrong = ~missing & ~np.isin(type_names, accepted)

    for r in rows[missing]:
        problems.append(Problem("geometry is missing or empty; row dropped", row=int(r),
                                field="geometry"))
    for r, t in zip(rows[wrong], type_names[wrong], strict=True):
        problems.append(Problem(
            f"geometry type {t} is not allowed here (expected {' or '.join(allowed_types)})",
            row=int(r), field="geometry"))

    usable = ~missing & ~wrong
    invalid = usable & ~shapely.is_valid(geoms)
    repaired = geoms.copy()
    if invalid.any():
        repaired[invalid] = shapely.make_valid(geoms[invalid], method="structure",
                                               keep_collapsed=False)
    if polygonal:
        cleaned = _polygonal_part(np.where(usable, repaired, None))
    else:
        cleaned = np.where(usable, repaired, None)
    collapsed = usable & (shapely.is_missing(cleaned) | shapely.is_empty(cleaned))
    for r in rows[collapsed]:
        problems.append(Problem(
            "geometry is degenerate (no area left after repair); row dropped",
            row=int(r), field="geometry", severity="warning"))
    fixed = invalid & ~collapsed
    reasons = shapely.is_valid_reason(geoms[fixed]) if fixed.any() else []
    for r, why in zip(rows[fixed], reasons, strict=True):
        problems.append(Problem(f"invalid geometry repaired with make_valid ({why})",
                                row=int(r), field="geometry", severity="warning"))
    # lines/points mixed into polygon collections are silently irrelevant; a collection
    # with no polygon at all was reported as collapsed above.

    keep = usable & ~collapsed
    out = gdf.loc[keep].copy()
    out = out.set_geometry(gpd.GeoSeries(cleaned[keep], index=out.index, crs=gdf.crs))
    problems.sort(key=lambda p: (p.row or 0))
    return out, problems


# shapely type ids are 0..7; index 0 of this table is used for missing geometries
_TYPE_NAMES = ("", "Point", "LineString", "LinearRing", "Polygon", "MultiPoint",
               "MultiLineString", "MultiPolygon", "GeometryCollection")
