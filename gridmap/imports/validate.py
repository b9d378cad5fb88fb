"""Validation of one level of boundaries: position, codes, names, hierarchy, duplicates.

Every rule runs on every row and every problem is reported at once (rules in
docs/ingest.md): geometry repaired or refused (:mod:`gridmap.imports.geometry`), swapped
lon/lat and rows outside the expected region, code format and uniqueness, codes missing
from the division catalogue, names (filled from the catalogue when missing), a street or
community whose code does not start with its parent's, whose parent is not stored or that
lies outside its parent, and codes already stored when ``on_existing='error'``.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import crs as gcrs
from gridmap.errors import Problem, ValidationError
from gridmap.imports.columns import INT_FIELDS, POPULATION_SOURCES, texts, whole_numbers
from gridmap.imports.geometry import (
    POLYGONAL,
    REPAIRED,
    ROW_COL,
    Progress,
    no_progress,
    repair_geometries,
    row_numbers,
    to_storage,
)
from gridmap.imports.levels import (
    CODED_LEVELS,
    DEFAULT_PARAMS,
    PARENT_LEVEL,
    TABLES,
    IngestParams,
    check_level,
    level_code,
)
from gridmap.imports.report import ImportReport
from gridmap.reference import codes

Region = tuple[float, float, float, float]


@dataclass
class _Rows:
    """The repaired rows under validation, as arrays in row order."""

    level: str
    rows: np.ndarray
    geoms: np.ndarray
    code: np.ndarray
    good_code: np.ndarray
    problems: list[Problem]

    def add(self, code: str, params: dict[str, object], i: int | np.integer, field: str,
            severity: str = "error") -> None:
        self.problems.append(Problem(code, params, row=int(self.rows[i]), field=field,
                                     severity=severity))


def validate(
    conn: Connection,
    gdf: gpd.GeoDataFrame,
    *,
    level: str,
    params: IngestParams = DEFAULT_PARAMS,
    progress: Progress | None = None,
) -> ImportReport:
    """Check rows (from :func:`~gridmap.imports.read.read_file`) against every rule; write nothing.

    Returns the report with every problem (errors and warnings) and the counts of rows
    that would be inserted/updated/unchanged are left at 0 (they need the load step:
    use ``import_boundaries(..., dry_run=True)`` for them).
    """
    _, report = prepare(conn, gdf, level=level, params=params, progress=progress or no_progress)
    return report


def prepare(
    conn: Connection, gdf: gpd.GeoDataFrame, *, level: str, params: IngestParams,
    progress: Progress,
) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """Normalise and validate ``gdf``: the rows to load (repaired) and the report."""
    check_level(level)
    report = ImportReport(level=level, rows_read=len(gdf),
                          source_file=params.source or gdf.attrs.get("source_file"),
                          source_crs=gdf.attrs.get("source_crs"))
    problems: list[Problem] = list(gdf.attrs.get("problems", []))
    report.rows_read = int(gdf.attrs.get("rows_in_file", len(gdf)))
    progress("validate", 0, len(gdf))
    gdf = _normalised(gdf, report)
    if level == "building":
        gdf = _building_values(gdf, problems)

    clean, repair_problems = repair_geometries(gdf, allowed_types=POLYGONAL)
    problems.extend(repair_problems)
    report.repaired = sum(1 for p in repair_problems if p.code == REPAIRED)
    report.dropped = len(gdf) - len(clean)
    code = texts(clean["code"])
    rows = _Rows(level, row_numbers(clean), np.asarray(clean.geometry.values, dtype=object),
                 code, np.array([c is not None for c in code], dtype=bool), problems)

    misplaced = _check_position(conn, rows, params, report)
    valid_codes = _check_codes(conn, rows, params)
    _check_names(conn, rows, clean, valid_codes)
    if level in PARENT_LEVEL:
        _check_hierarchy(conn, rows, texts(clean["parent_code"]), misplaced, params)
    if params.on_existing == "error" and valid_codes:
        existing = _existing_codes(conn, level, valid_codes)
        for i in np.flatnonzero(rows.good_code):
            if rows.code[i] in existing:
                rows.add("imports.code_exists", {"code": rows.code[i]}, i, "code")

    problems.sort(key=lambda p: (p.row or 0, p.severity != "error"))
    report.problems = problems
    error_rows = {p.row for p in problems if p.severity == "error"}
    report.rows_valid = int(sum(1 for r in rows.rows if int(r) not in error_rows))
    progress("validate", len(gdf), len(gdf))
    return clean, report


def _normalised(gdf: gpd.GeoDataFrame, report: ImportReport) -> gpd.GeoDataFrame:
    """A copy in EPSG:4326 with every canonical column present."""
    if gdf.crs is None:
        raise ValidationError("imports.rows_without_crs")
    if gdf.crs.to_epsg() != gcrs.STORAGE_EPSG:
        gdf = gdf.set_geometry(to_storage(gdf.geometry.values, gdf.crs), crs=gcrs.STORAGE_EPSG)
    gdf = gdf.copy()
    for col in ("code", "name", "parent_code"):
        if col not in gdf.columns:
            gdf[col] = None
    if ROW_COL not in gdf.columns:
        gdf[ROW_COL] = np.arange(1, len(gdf) + 1)
    if "source_crs" not in gdf.columns:
        gdf["source_crs"] = report.source_crs or "EPSG:4326"
    return gdf


def _building_values(gdf: gpd.GeoDataFrame, problems: list[Problem]) -> gpd.GeoDataFrame:
    """Households, residents and levels as whole numbers; population_source checked."""
    for col in INT_FIELDS:
        if col not in gdf.columns:
            gdf[col] = pd.array([pd.NA] * len(gdf), dtype="Int64")
        else:
            gdf[col] = whole_numbers(gdf[col], gdf[ROW_COL], col, col, problems)
    source = (pd.Series(texts(gdf["population_source"]), index=gdf.index, dtype=object)
              if "population_source" in gdf.columns
              else pd.Series([None] * len(gdf), index=gdf.index, dtype=object))
    bad = source.notna() & ~source.isin(POPULATION_SOURCES)
    problems.extend(Problem("imports.bad_population_source",
                            {"value": v, "allowed": POPULATION_SOURCES}, row=int(r),
                            field="population_source")
                    for r, v in zip(gdf.loc[bad, ROW_COL], source[bad], strict=True))
    gdf["population_source"] = source.where(~bad, None)
    return gdf


def _check_position(
    conn: Connection, rows: _Rows, params: IngestParams, report: ImportReport
) -> np.ndarray:
    """Swapped lon/lat and rows outside the expected region; returns the misplaced rows."""
    region, region_kind, margin = _expected_region(conn, params)
    report.region = region
    report.region_source = _REGION_SOURCES[region_kind].format(margin=margin)
    if not len(rows.rows):
        return np.zeros(0, dtype=bool)
    anchor = shapely.point_on_surface(rows.geoms)
    lon, lat = shapely.get_x(anchor), shapely.get_y(anchor)
    swapped = gcrs.looks_swapped_for_region(lon, lat, region)
    for i in np.flatnonzero(swapped):
        rows.add("imports.swapped_lonlat", {"x": float(lon[i]), "y": float(lat[i])}, i,
                 "geometry")
    b = shapely.bounds(rows.geoms)
    x0, y0, x1, y1 = region
    inside = (b[:, 0] >= x0) & (b[:, 1] >= y0) & (b[:, 2] <= x1) & (b[:, 3] <= y1)
    outside = ~inside & ~swapped
    for i in np.flatnonzero(outside):
        rows.add(_OUTSIDE[region_kind],
                 {"lon_min": float(b[i, 0]), "lon_max": float(b[i, 2]),
                  "lat_min": float(b[i, 1]), "lat_max": float(b[i, 3]), "margin": margin},
                 i, "geometry")
    return np.asarray(swapped | outside, dtype=bool)


# Where the expected region comes from: its English description (stored in the report)
# and the code of the problem of a row outside it.
_REGION_SOURCES = {"given": "given region",
                   "china": "China; no boundaries in the database yet",
                   "database": "boundaries in the database ± {margin}°"}
_OUTSIDE = {"given": "imports.outside_region.given", "china": "imports.outside_region.china",
            "database": "imports.outside_region.database"}


def _expected_region(conn: Connection, params: IngestParams) -> tuple[Region, str, float]:
    """The expected bbox, where it comes from (given/china/database) and the margin used."""
    if params.region is not None:
        return params.region, "given", 0.0
    row = conn.execute(sa.text(
        """
        SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (
          SELECT ST_Extent(geom) AS e FROM (
            SELECT geom FROM district UNION ALL SELECT geom FROM street
            UNION ALL SELECT geom FROM community UNION ALL SELECT geom FROM estate) u) x
        """)).one()
    if row[0] is None:
        return gcrs.CHINA_BOX, "china", 0.0
    m = params.region_margin_deg
    return (row[0] - m, row[1] - m, row[2] + m, row[3] + m), "database", m


def _check_codes(conn: Connection, rows: _Rows, params: IngestParams) -> list[str]:
    """Code format, duplicates in the file and the division catalogue; the valid codes."""
    level, code, has_code = rows.level, rows.code, rows.good_code.copy()
    if level in CODED_LEVELS:
        width = CODED_LEVELS[level]
        for i in np.flatnonzero(~has_code):
            rows.add(level_code("imports.code_missing", level), {}, i, "code")
        for i in np.flatnonzero(has_code):
            if not (len(code[i]) == width and code[i].isdigit()):
                rows.good_code[i] = False
                rows.add(level_code("imports.bad_code_width", level),
                         {"code": code[i], "width": width}, i, "code")
    counts = pd.Series(code[has_code]).value_counts()
    for c in sorted(set(counts[counts > 1].index)):
        where = rows.rows[code == c]
        for i in np.flatnonzero(code == c):
            rows.add("imports.duplicate_code", {"code": c, "rows": [int(x) for x in where]},
                     i, "code")
    valid_codes = sorted({str(c) for c in code[rows.good_code]})
    if level in CODED_LEVELS and valid_codes:
        unknown = codes.unknown_codes(conn, level, valid_codes)
        stem = "imports.unknown_division_code" + (".synthetic" if params.synthetic else "")
        for i in np.flatnonzero(rows.good_code):
            if code[i] in unknown:
                rows.add(level_code(stem, level), {"code": code[i]}, i, "code",
                         severity="warning" if params.synthetic else "error")
    return valid_codes


def _check_names(
    conn: Connection, rows: _Rows, clean: gpd.GeoDataFrame, valid_codes: list[str]
) -> None:
    """Missing names are taken from the division catalogue; still missing is an error
    (except for buildings)."""
    names = texts(clean["name"])
    if rows.level in CODED_LEVELS and valid_codes:
        catalogue: dict[str, str] = dict(conn.execute(
            sa.text("SELECT code, name FROM admin_division WHERE code = ANY(:codes)"),
            {"codes": valid_codes}).all())
        missing_name = np.array([n is None for n in names], dtype=bool)
        from_catalogue = pd.Series([catalogue.get(c) for c in rows.code],
                                   dtype=object).to_numpy()
        names = np.where(missing_name & rows.good_code, from_catalogue, names)
        clean["name"] = pd.Series(names, index=clean.index, dtype=object)
    if rows.level != "building":
        for i in np.flatnonzero(np.array([n is None for n in names], dtype=bool)):
            rows.add(level_code("imports.name_missing", rows.level), {}, i, "name")


def _check_hierarchy(
    conn: Connection, rows: _Rows, given: np.ndarray, misplaced: np.ndarray,
    params: IngestParams,
) -> None:
    """Parent code consistent with the code, parent stored, child inside its parent."""
    level = rows.level
    parent_level = PARENT_LEVEL[level]
    width = CODED_LEVELS[parent_level]
    parent_code = np.array([c[:width] if c else None for c in rows.code], dtype=object)
    for i in np.flatnonzero(rows.good_code):
        if given[i] is not None and given[i] != parent_code[i]:
            rows.add(level_code("imports.parent_mismatch", level),
                     {"given": given[i], "code": rows.code[i], "parent": parent_code[i]}, i,
                     "parent_code")
    parents = _fetch_geoms(conn, parent_level,
                           sorted({str(p) for p in parent_code[rows.good_code]}))
    for i in np.flatnonzero(rows.good_code):
        if parent_code[i] not in parents:
            rows.add(level_code("imports.parent_missing", level), {"parent": parent_code[i]},
                     i, "code")
    check = rows.good_code & ~misplaced & np.array([p in parents for p in parent_code])
    if check.any():
        rows.problems.extend(_outside_parent(
            rows.geoms[check], np.array([parents[p] for p in parent_code[check]], dtype=object),
            rows.rows[check], parent_code[check], level, params))


def _fetch_geoms(conn: Connection, level: str, wanted: list[str]) -> dict[str, object]:
    if not wanted:
        return {}
    result = conn.execute(
        sa.text(f"SELECT code, ST_AsBinary(geom) FROM {TABLES[level]}"  # noqa: S608 (whitelist)
                " WHERE code = ANY(:codes)"), {"codes": wanted}).all()
    if not result:
        return {}
    geoms = shapely.from_wkb([bytes(w) for _, w in result])
    return {c: g for (c, _), g in zip(result, geoms, strict=True)}


def _existing_codes(conn: Connection, level: str, wanted: list[str]) -> set[str]:
    return set(conn.execute(
        sa.text(f"SELECT code FROM {TABLES[level]} WHERE code = ANY(:codes)"),  # noqa: S608
        {"codes": wanted}).scalars())


def _outside_parent(
    child: np.ndarray, parent: np.ndarray, rows: np.ndarray, parent_codes: np.ndarray,
    level: str, params: IngestParams,
) -> list[Problem]:
    """Rows whose area outside the parent exceeds max(ratio × area, min m²) (metric CRS)."""
    metric = gcrs.metric_for(child)
    c = gcrs.to_metric(child, metric)
    p = gcrs.to_metric(parent, metric)
    area = shapely.area(c)
    outside = shapely.area(shapely.difference(c, p))
    allowed = np.maximum(params.outside_parent_ratio * area, params.outside_parent_min_m2)
    bad = outside > allowed
    return [
        Problem(level_code("imports.outside_parent", level),
                {"area": float(out), "share": float(100 * out / a), "parent": pc,
                 "tolerance": float(allowed_i)}, row=int(r), field="geometry")
        for r, out, a, pc, allowed_i in zip(rows[bad], outside[bad], area[bad],
                                            parent_codes[bad], allowed[bad], strict=True)
    ]
