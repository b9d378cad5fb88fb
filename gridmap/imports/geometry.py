"""Geometry primitives shared by every importer (boundaries, OSM).

- :func:`repair_geometries`: make invalid geometries valid, drop degenerate ones, refuse
  wrong geometry types, all reported as :class:`~gridmap.errors.Problem` (codes
  ``imports.geometry_*``);
- :func:`to_multipolygons`: the storage type of boundary tables;
- :func:`to_storage`: any CRS → EPSG:4326 through :mod:`gridmap.crs`;
- :class:`Progress`: the callback protocol long imports use to report progress (the
  library never prints; the CLI renders progress on a terminal).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from gridmap import crs as gcrs
from gridmap.errors import Problem

ROW_COL = "_row"
"""Column holding the 1-based row/feature number of the input (for problem reports)."""

POLYGONAL: tuple[str, ...] = ("Polygon", "MultiPolygon")

REPAIRED = "imports.geometry_repaired"
"""Code of the warning for a geometry repaired with ``make_valid`` (the row is kept)."""

# shapely type ids are 0..7; index 0 of this table is used for missing geometries
_TYPE_NAMES = ("", "Point", "LineString", "LinearRing", "Polygon", "MultiPoint",
               "MultiLineString", "MultiPolygon", "GeometryCollection")


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


def to_storage(geoms: Any, source: CRS) -> np.ndarray:
    """Geometries in ``source`` → EPSG:4326 (one cached transformer, x/y order)."""
    arr = np.asarray(geoms, dtype=object)
    if arr.size == 0:
        return arr

    def project(xy: np.ndarray) -> np.ndarray:
        x, y = gcrs.project_xy(xy[:, 0], xy[:, 1], source, gcrs.STORAGE_EPSG)
        return np.column_stack([x, y])

    return np.asarray(shapely.transform(arr, project), dtype=object)


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
        ``make_valid`` (code :data:`REPAIRED`) and for geometries that collapsed to
        nothing (degenerate rings, zero area) and were dropped.
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

    problems.extend(Problem("imports.geometry_missing", row=int(r), field="geometry")
                    for r in rows[missing])
    expected = " or ".join(allowed_types)
    problems.extend(Problem("imports.geometry_type_not_allowed",
                            {"type": str(t), "expected": expected}, row=int(r), field="geometry")
                    for r, t in zip(rows[wrong], type_names[wrong], strict=True))

    usable = ~missing & ~wrong
    invalid = usable & ~shapely.is_valid(geoms)
    repaired = geoms.copy()
    if invalid.any():
        repaired[invalid] = shapely.make_valid(geoms[invalid], method="structure",
                                               keep_collapsed=False)
    repaired[~usable] = None
    cleaned = _polygonal_part(repaired) if polygonal else repaired
    collapsed = usable & (shapely.is_missing(cleaned) | shapely.is_empty(cleaned))
    problems.extend(Problem("imports.geometry_degenerate", row=int(r), field="geometry",
                            severity="warning") for r in rows[collapsed])
    fixed = invalid & ~collapsed
    reasons = shapely.is_valid_reason(geoms[fixed]) if fixed.any() else []
    problems.extend(Problem(REPAIRED, {"why": str(why)}, row=int(r), field="geometry",
                            severity="warning")
                    for r, why in zip(rows[fixed], reasons, strict=True))
    # lines/points mixed into polygon collections are silently irrelevant; a collection
    # with no polygon at all was reported as collapsed above.

    keep = usable & ~collapsed
    out = gdf.loc[keep].copy()
    out = out.set_geometry(gpd.GeoSeries(cleaned[keep], index=out.index, crs=gdf.crs))
    problems.sort(key=lambda p: (p.row or 0))
    return out, problems
