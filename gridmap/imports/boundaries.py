"""Boundary import: read a file, normalise it to EPSG:4326, validate it, write it.

Levels: district, street, community, estate, building (grids are imported by the grid
module). :func:`import_boundaries` runs the steps, each in its own module:

- :mod:`gridmap.imports.read`: files of every format → canonical columns in EPSG:4326;
- :mod:`gridmap.imports.validate`: every rule, every problem at once;
- :mod:`gridmap.imports.write`: the set-based upsert inside one savepoint;
- :mod:`gridmap.imports.geometry`: repair and progress primitives shared with the OSM
  importer.

This module also re-exports the public names of those modules, so callers write
``from gridmap.imports import boundaries; boundaries.import_boundaries(...)``.
Rules come from ``reference/crs.md`` §7 (store EPSG:4326, never convert GCJ-02/BD-09
silently, flag swapped lon/lat) and the issue text of the foundation (#3).
"""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
from sqlalchemy.engine import Connection

from gridmap.config import Settings
from gridmap.imports import linking, write
from gridmap.imports.columns import DEFAULT_FIELDS, POPULATION_SOURCES, FieldMap
from gridmap.imports.geometry import (
    POLYGONAL,
    ROW_COL,
    Progress,
    no_progress,
    repair_geometries,
    row_numbers,
    to_multipolygons,
)
from gridmap.imports.levels import (
    CODED_LEVELS,
    DEFAULT_PARAMS,
    LEVELS,
    PARENT_LEVEL,
    IngestParams,
    Level,
    OnExisting,
    check_level,
)
from gridmap.imports.read import FORMATS, read_file
from gridmap.imports.report import ImportRefused, ImportReport
from gridmap.imports.validate import prepare, validate

__all__ = [
    "CODED_LEVELS", "FORMATS", "LEVELS", "PARENT_LEVEL", "POLYGONAL", "POPULATION_SOURCES",
    "ROW_COL", "FieldMap", "ImportRefused", "ImportReport", "IngestParams", "Level",
    "OnExisting", "Progress", "import_boundaries", "no_progress", "read_file",
    "repair_geometries", "row_numbers", "to_multipolygons", "validate",
]


def import_boundaries(
    conn: Connection,
    source: str | Path | gpd.GeoDataFrame,
    *,
    level: str,
    crs: str | None = None,
    coords: str = "wgs84",
    fields: FieldMap = DEFAULT_FIELDS,
    params: IngestParams = DEFAULT_PARAMS,
    max_bytes: int = Settings.max_upload_bytes,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Read, validate and write one level of boundaries, all or nothing.

    Rows are matched to stored rows by code (upsert: name, geometry and attributes of
    an existing code are updated when they differ, identical rows are left alone).
    Estates and buildings without a code are matched by identical geometry. Parents:
    street→district and community→street by code prefix; estate→community by largest
    overlap; building→estate and →community by the point on its surface. Everything runs
    in one savepoint; an ``import_run`` row records the report.

    Parameters
    ----------
    conn:
        Connection; the caller commits.
    source:
        A file (see :func:`read_file`) or a GeoDataFrame with the canonical columns.
    dry_run:
        Validate and count what would change, then roll everything back.
    progress:
        Optional :class:`Progress` callback.

    Raises
    ------
    ImportRefused
        Validation found errors (``exc.report`` has every problem); nothing written.
    InputTooLarge, ValidationError
        From :func:`read_file`.
    """
    started = time.monotonic()
    progress = progress or no_progress
    check_level(level)
    if isinstance(source, gpd.GeoDataFrame):
        gdf = source
    else:
        progress("read", 0, None)
        gdf = read_file(source, level=level, crs=crs, coords=coords, max_bytes=max_bytes,
                        fields=fields)
        progress("read", len(gdf), len(gdf))
    clean, report = prepare(conn, gdf, level=level, params=params, progress=progress)
    report.dry_run = dry_run
    if report.errors:
        report.seconds = time.monotonic() - started
        raise ImportRefused(report)
    if report.source_file is None and not isinstance(source, gpd.GeoDataFrame):
        report.source_file = str(source)
    if report.source_crs is None:
        report.source_crs = str(clean["source_crs"].iloc[0]) if len(clean) else None
    _write_in_savepoint(conn, clean, level, report, params, progress, started)
    report.seconds = time.monotonic() - started
    progress("done", len(clean), len(clean))
    return report


def _write_in_savepoint(
    conn: Connection, clean: gpd.GeoDataFrame, level: str, report: ImportReport,
    params: IngestParams, progress: Progress, started: float,
) -> None:
    """Load, match, count and (unless a dry run) write, in one savepoint."""
    savepoint = conn.begin_nested()
    try:
        if not report.dry_run:
            report.import_id = write.start_run(conn, level, report, params)
        write.load_rows(conn, clean, level, progress)
        write.match_and_link(conn, level, progress)
        write.count_changes(conn, level, report, params)
        if not report.dry_run:
            write.write_rows(conn, level, report, params, progress)
            if level == "community":
                report.linked = linking.link_to_communities(conn)
            elif level == "estate":
                report.linked = {"building": linking.link_buildings_to_estates(conn)}
            report.seconds = time.monotonic() - started
            write.finish_run(conn, report)
            savepoint.commit()
        else:
            savepoint.rollback()
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
