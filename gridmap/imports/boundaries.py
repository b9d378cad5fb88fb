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

import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
import sqlalchemy as sa
from pyproj import CRS
from sqlalchemy.engine import Connection

from gridmap import crs as gcrs
from gridmap.config import Settings
from gridmap.db.engine import raw_psycopg
from gridmap.errors import InputTooLarge, Problem, ValidationError
from gridmap.imports import linking
from gridmap.reference import codes

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
    repaired[~usable] = None
    cleaned = _polygonal_part(repaired) if polygonal else repaired
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


# --------------------------------------------------------------------------------------
# Levels, parameters and the report
# --------------------------------------------------------------------------------------

Level = Literal["district", "street", "community", "estate", "building"]
LEVELS: tuple[str, ...] = ("district", "street", "community", "estate", "building")
CODED_LEVELS = codes.CODE_LENGTH
"""Levels whose code is a statistical division code (6/9/12 digits), mandatory."""
PARENT_LEVEL = {"street": "district", "community": "street"}
OnExisting = Literal["update", "skip", "error"]
FORMATS = (".geojson", ".json", ".gpkg", ".zip", ".shp", ".csv")

# table names are interpolated into SQL only from this closed mapping
_TABLES = {"district": "district", "street": "street", "community": "community",
           "estate": "estate", "building": "building"}


@dataclass(frozen=True)
class FieldMap:
    """Names of the input columns holding each attribute.

    When a name is left at its default, common aliases are also accepted
    (case-insensitive), e.g. ``CODE``, ``adcode``, ``名称``. A non-default name must exist.
    """

    code: str = "code"
    name: str = "name"
    parent: str = "parent_code"
    households: str = "households"
    residents: str = "residents"
    levels: str = "levels"
    population_source: str = "population_source"
    layer: str | None = None
    """Layer of a multi-layer file (GeoPackage); default: the one named like the level,
    else the first (with a warning naming the others)."""


_ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("code", "adcode", "division_code", "区划代码", "代码", "编码"),
    "name": ("name", "名称"),
    "parent": ("parent_code", "parent", "上级代码"),
    "households": ("households", "户数"),
    "residents": ("residents", "population", "人口", "人数"),
    "levels": ("levels", "building:levels", "floors", "层数"),
    "population_source": ("population_source",),
}
_TARGET = {"code": "code", "name": "name", "parent": "parent_code",
           "households": "households", "residents": "residents", "levels": "levels",
           "population_source": "population_source"}
_INT_FIELDS = ("households", "residents", "levels")
POPULATION_SOURCES = ("imported", "estimated", "none")
"""Allowed ``population_source`` values; without the column it is ``imported`` when
households or residents are given, else ``none``."""


@dataclass(frozen=True)
class IngestParams:
    """Validation and write parameters (defaults documented in docs/ingest.md).

    Parameters
    ----------
    region:
        Expected bbox ``(lon_min, lat_min, lon_max, lat_max)``; when ``None`` it is the
        extent of the boundaries already in the database widened by
        ``region_margin_deg``, or the China rectangle of ``gridmap.crs`` if there are none.
    outside_parent_ratio, outside_parent_min_m2:
        A street/community may stick out of its parent by up to
        ``max(ratio × own area, min_m2)`` square metres (digitising slivers); more is an error.
    on_existing:
        What to do with a code already in the database: ``update`` (default: replace
        name/geometry/attributes if they differ), ``skip`` (keep the stored row) or
        ``error`` (report it as a duplicate and refuse the import).
    synthetic:
        Mark the imported rows as synthetic (generated, not official) data.
    source:
        Text stored in the ``source`` column (defaults to the file name).
    actor:
        Who ran the import (stored in ``import_run.actor``).
    """

    region: tuple[float, float, float, float] | None = None
    region_margin_deg: float = 0.5
    outside_parent_ratio: float = 0.01
    outside_parent_min_m2: float = 50.0
    on_existing: OnExisting = "update"
    synthetic: bool = False
    source: str | None = None
    actor: str | None = None


@dataclass
class ImportReport:
    """Outcome of a validation or import; ``problems`` lists every problem found."""

    level: str
    source_file: str | None = None
    source_crs: str | None = None
    rows_read: int = 0
    rows_valid: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    repaired: int = 0
    dropped: int = 0
    unlinked: int = 0
    linked: dict[str, int] = field(default_factory=dict)
    """Rows of other levels linked to the imported ones where their link was missing
    (:mod:`gridmap.linking`), e.g. buildings imported before their community."""
    region: tuple[float, float, float, float] | None = None
    region_source: str | None = None
    dry_run: bool = False
    import_id: int | None = None
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        """Problems that block the import."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Problems reported but allowed."""
        return [p for p in self.problems if p.severity != "error"]

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (stored in ``import_run.report``)."""
        return {
            "level": self.level, "source_file": self.source_file,
            "source_crs": self.source_crs, "rows_read": self.rows_read,
            "rows_valid": self.rows_valid, "inserted": self.inserted,
            "updated": self.updated, "unchanged": self.unchanged, "skipped": self.skipped,
            "repaired": self.repaired, "dropped": self.dropped, "unlinked": self.unlinked,
            "linked": dict(self.linked),
            "region": list(self.region) if self.region else None,
            "region_source": self.region_source, "dry_run": self.dry_run,
            "import_id": self.import_id, "seconds": round(self.seconds, 3),
            "problems": [p.as_dict() for p in self.problems],
        }

    def summary_lines(self) -> list[str]:
        """Human-readable report lines (English; the CLI prints them)."""
        head = "dry run (nothing written)" if self.dry_run else f"import #{self.import_id}"
        lines = [
            f"{head}: {self.level} from {self.source_file or '<data frame>'}"
            f" [{self.source_crs or '?'}]",
            f"  rows read {self.rows_read}, valid {self.rows_valid}, "
            f"repaired {self.repaired}, dropped {self.dropped}",
            f"  {'would insert' if self.dry_run else 'inserted'} {self.inserted}, "
            f"{'would update' if self.dry_run else 'updated'} {self.updated}, "
            f"unchanged {self.unchanged}, skipped {self.skipped}",
        ]
        if self.level in ("estate", "building"):
            unit = "community" if self.level == "building" else "containing community"
            lines.append(f"  without a {unit} {self.unlinked}")
        if self.linked:
            lines.append("  linked where missing: " + ", ".join(
                f"{n} {table}(s)" for table, n in self.linked.items()))
        if self.region:
            x0, y0, x1, y1 = self.region
            lines.append(f"  region checked: lon {x0:.3f}..{x1:.3f}, lat {y0:.3f}..{y1:.3f}"
                         f" ({self.region_source})")
        lines.append(f"  {len(self.errors)} error(s), {len(self.warnings)} warning(s),"
                     f" {self.seconds:.2f} s")
        lines.extend(f"  - [{p.severity}] {p}" for p in self.problems)
        return lines


class ImportRefused(ValidationError):
    """Validation found errors; nothing was written. ``report`` holds the full report."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        super().__init__(
            f"{report.level} import refused: {len(report.errors)} problem(s) found, nothing written",
            report.problems,
        )


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValidationError(f"unknown level {level!r}; use one of {', '.join(LEVELS)}")


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------

def read_file(
    path: str | Path,
    *,
    level: str,
    crs: str | None = None,
    coords: str = "wgs84",
    max_bytes: int = Settings.max_upload_bytes,
    fields: FieldMap = FieldMap(),
) -> gpd.GeoDataFrame:
    """Read a boundary file and normalise it to EPSG:4326 with canonical columns.

    Parameters
    ----------
    path:
        ``.geojson``/``.json``, ``.gpkg`` (the layer named like ``level``, else the first),
        ``.zip`` (zipped Shapefile), ``.shp`` or ``.csv`` (a ``wkt``/``geometry`` column,
        or ``lon``/``lat`` columns; UTF-8 or GB18030).
    level:
        Target level (decides which attribute columns are read).
    crs:
        CRS of the coordinates (``EPSG:xxxx``); required when the file declares none
        (always for CSV). EPSG:4490 (CGCS2000) is taken as EPSG:4326; projected CRSs
        (e.g. Gauss-Krüger EPSG:4549) are reprojected.
    coords:
        ``wgs84`` | ``cgcs2000`` | ``gcj02`` | ``bd09``: the lon/lat system of the data.
        GCJ-02 and BD-09 are converted to WGS84 explicitly; the original system is kept
        in the ``source_crs`` column.
    max_bytes:
        Size limit (``Settings.max_upload_bytes``).
    fields:
        Column names of code, name, parent code and building attributes.

    Returns
    -------
    GeoDataFrame
        EPSG:4326, columns ``_row`` (1-based input row), ``code``, ``name``,
        ``parent_code`` (+ ``households``, ``residents``, ``levels`` for buildings),
        ``source_crs`` and ``geometry`` (not yet repaired). Row-level problems found while
        parsing (bad WKT, non-numeric values) are in ``gdf.attrs["problems"]``; such rows
        are dropped or their value left empty.

    Raises
    ------
    InputTooLarge
        The file is larger than ``max_bytes``.
    ValidationError
        Missing, empty, unreadable or unsupported file; missing CRS; unknown CRS;
        missing columns (every such problem at once).
    """
    _check_level(level)
    path = Path(path)
    if coords not in gcrs.COORD_SYSTEMS:
        raise ValidationError(
            f"unknown coordinate system {coords!r}; use one of {', '.join(gcrs.COORD_SYSTEMS)}")
    if not path.is_file():
        raise ValidationError(f"file {path} does not exist")
    size = path.stat().st_size
    if size > max_bytes:
        raise InputTooLarge(
            f"file {path.name} is {size} bytes, over the limit of {max_bytes} bytes"
            " (setting GRIDMAP_MAX_UPLOAD_BYTES)")
    if size == 0:
        raise ValidationError(f"file {path.name} is empty")
    lower = path.name.lower()
    if not lower.endswith(FORMATS):
        raise ValidationError(
            f"unsupported file type {path.suffix or path.name!r}; use one of {', '.join(FORMATS)}")

    row_problems: list[Problem] = []
    raw = _read_csv(path, row_problems) if lower.endswith(".csv") else _read_ogr(
        path, level, row_problems, fields.layer)
    rows_in_file = int(raw.attrs.get("rows_in_file", len(raw)))
    if rows_in_file == 0:
        raise ValidationError(f"file {path.name} contains no features")

    problems: list[Problem] = []
    declared: CRS | None = None
    if crs:
        try:
            declared = CRS.from_user_input(crs)
        except Exception:
            problems.append(Problem(f"unknown CRS {crs!r}; give it as EPSG:xxxx", field="crs"))
    file_crs = raw.crs
    if file_crs is None and declared is None and not (crs and problems):
        problems.append(Problem(
            "the file declares no coordinate reference system; pass --crs EPSG:xxxx"
            " (EPSG:4326 for lon/lat)", field="crs"))
    elif file_crs is not None and declared is not None and not _same_crs(file_crs, declared):
        problems.append(Problem(
            f"the file declares {_crs_label(file_crs)} but --crs says {_crs_label(declared)}",
            field="crs"))
    source = file_crs if file_crs is not None else declared
    if source is not None and not (source.is_geographic or source.is_projected):
        problems.append(Problem(
            f"coordinate reference system {_crs_label(source)} is not a known geographic or"
            " projected CRS; pass --crs EPSG:xxxx", field="crs"))
    if source is not None and source.is_projected and coords in ("gcj02", "bd09"):
        problems.append(Problem(f"--coords {coords} applies to lon/lat data, but the file is"
                                f" projected ({_crs_label(source)})", field="crs"))

    out, column_problems = _canonical_columns(raw, level, fields, row_problems)
    problems.extend(column_problems)
    if problems:
        raise ValidationError(f"cannot import {path.name}", problems)
    assert source is not None

    out = out.set_geometry(raw.geometry.values).set_crs(source, allow_override=True)
    if source.is_geographic and source.to_epsg() in (4326, 4490):
        out = out.set_crs(gcrs.STORAGE_EPSG, allow_override=True)
    else:
        out = out.to_crs(gcrs.STORAGE_EPSG)
    if coords in ("gcj02", "bd09"):
        out = out.set_geometry(shapely.transform(np.asarray(out.geometry.values, dtype=object),
                                                 _converter(coords)), crs=gcrs.STORAGE_EPSG)
    label = _crs_label(source) + ("" if coords == "wgs84" else f" ({coords})")
    out["source_crs"] = label
    out.attrs["problems"] = row_problems
    out.attrs["rows_in_file"] = rows_in_file
    out.attrs["source_file"] = str(path)
    out.attrs["source_crs"] = label
    return out


def _converter(system: str) -> Callable[[np.ndarray], np.ndarray]:
    def convert(xy: np.ndarray) -> np.ndarray:
        lon, lat = gcrs.to_wgs84(xy[:, 0], xy[:, 1], system)
        return np.column_stack([lon, lat])

    return convert


def _same_crs(a: CRS, b: CRS) -> bool:
    geo = {4326, 4490}
    if a.to_epsg() in geo and b.to_epsg() in geo:
        return True
    return bool(a.equals(b, ignore_axis_order=True))


def _crs_label(value: CRS) -> str:
    epsg = value.to_epsg()
    return f"EPSG:{epsg}" if epsg else (value.name or "unnamed CRS")


def _read_ogr(path: Path, level: str, problems: list[Problem], wanted: str | None = None
              ) -> gpd.GeoDataFrame:
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # GDAL reports every unreadable input its own way
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValidationError(f"cannot read {path.name}: {detail}") from exc
    if wanted is not None and wanted not in layers:
        raise ValidationError(f"{path.name} has no layer {wanted!r}; its layers: "
                              f"{', '.join(layers) or 'none'}")
    try:
        layer = wanted or (level if level in layers else (layers[0] if layers else None))
        if len(layers) > 1 and layer != level and wanted is None:
            problems.append(Problem(f"file has layers {', '.join(layers)}; read {layer!r} "
                                    "(choose with --layer)", severity="warning"))
        return pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:  # GDAL reports every unreadable input its own way
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValidationError(f"cannot read {path.name}: {detail}") from exc


def _read_csv(path: Path, problems: list[Problem]) -> gpd.GeoDataFrame:
    data = path.read_bytes()
    df: pd.DataFrame | None = None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False,
                             encoding=encoding)
            break
        except UnicodeDecodeError:
            continue
        except Exception as exc:
            raise ValidationError(f"cannot read {path.name} as CSV: {exc}") from exc
    if df is None:
        raise ValidationError(f"cannot read {path.name}: not UTF-8 or GB18030 text")
    lower = {c.lower().strip(): c for c in df.columns}
    wkt_col = next((lower[c] for c in ("wkt", "geometry", "geom", "the_geom") if c in lower), None)
    lon_col = next((lower[c] for c in ("lon", "lng", "longitude", "x", "经度") if c in lower), None)
    lat_col = next((lower[c] for c in ("lat", "latitude", "y", "纬度") if c in lower), None)
    rows = np.arange(1, len(df) + 1)
    if wkt_col is not None:
        text = df[wkt_col].astype(str).str.strip().to_numpy(dtype=object)
        geoms = shapely.from_wkt(np.where(text == "", None, text), on_invalid="ignore")
        bad = (text != "") & shapely.is_missing(geoms)
        problems.extend(Problem("WKT cannot be parsed", row=int(r), field=str(wkt_col))
                        for r in rows[bad])
        df = df.drop(columns=[wkt_col])
    elif lon_col is not None and lat_col is not None:
        lon = pd.to_numeric(df[lon_col], errors="coerce").to_numpy(dtype=float)
        lat = pd.to_numeric(df[lat_col], errors="coerce").to_numpy(dtype=float)
        bad = ~(np.isfinite(lon) & np.isfinite(lat))
        problems.extend(Problem("lon/lat is not a number", row=int(r),
                                field=f"{lon_col},{lat_col}") for r in rows[bad])
        geoms = shapely.points(np.where(bad, np.nan, lon), np.where(bad, np.nan, lat))
        geoms[bad] = None
        df = df.drop(columns=[lon_col, lat_col])
    else:
        raise ValidationError(
            f"{path.name} has neither a WKT column (wkt/geometry) nor lon/lat columns")
    gdf = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms), crs=None)
    gdf[ROW_COL] = rows
    gdf = gdf[~bad] if bad.any() else gdf
    gdf.attrs["rows_in_file"] = len(rows)
    return gdf


def _text_value(v: Any) -> str | None:
    if v is None or v is pd.NA or (isinstance(v, float | np.floating) and np.isnan(v)):
        return None
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    text = str(v).strip()
    return text or None


def _as_code_text(values: pd.Series) -> pd.Series:
    """Codes/names as text (object dtype): integral floats lose their ``.0``, blanks and
    missing values (None, NaN, NA) become ``None``."""
    return pd.Series([_text_value(v) for v in values], index=values.index, dtype=object)


def _texts(values: pd.Series) -> np.ndarray:
    """:func:`_as_code_text` as an object array."""
    return np.array([_text_value(v) for v in values], dtype=object)


def _canonical_columns(
    raw: gpd.GeoDataFrame, level: str, fields: FieldMap, row_problems: list[Problem]
) -> tuple[pd.DataFrame, list[Problem]]:
    problems: list[Problem] = []
    columns = [c for c in raw.columns if c != raw.geometry.name]
    lower = {str(c).lower().strip(): c for c in columns}
    wanted = ["code", "name", "parent"] + (
        [*_INT_FIELDS, "population_source"] if level == "building" else [])
    out = pd.DataFrame(index=raw.index)
    out[ROW_COL] = (raw[ROW_COL].to_numpy() if ROW_COL in raw.columns
                    else np.arange(1, len(raw) + 1))
    for key in wanted:
        configured = getattr(fields, key)
        default = getattr(FieldMap, key)
        candidates = (configured,) if configured != default else _ALIASES[key]
        col = next((lower[c.lower()] for c in candidates if c.lower() in lower), None)
        target = _TARGET[key]
        if col is None:
            if configured != default:
                problems.append(Problem(
                    f"column {configured!r} not found (columns: {', '.join(map(str, columns))})",
                    field=configured))
            out[target] = None
            continue
        if key in _INT_FIELDS:
            text = _as_code_text(raw[col])
            numbers = pd.to_numeric(text, errors="coerce")
            bad = text.notna() & (numbers.isna() | (numbers < 0) | (numbers % 1 != 0))
            row_problems.extend(
                Problem(f"{target} {v!r} is not a non-negative whole number", row=int(r),
                        field=str(col))
                for r, v in zip(out.loc[bad, ROW_COL], text[bad], strict=True))
            out[target] = numbers.where(~bad).astype("Int64")
        else:
            out[target] = _as_code_text(raw[col])
    if level in CODED_LEVELS and out["code"].isna().all() and not problems:
        problems.append(Problem(
            f"no code column found for {level} (looked for {', '.join(_ALIASES['code'])});"
            " use --code-field", field="code"))
    return out, problems


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------

def validate(
    conn: Connection,
    gdf: gpd.GeoDataFrame,
    *,
    level: str,
    params: IngestParams = IngestParams(),
    progress: Progress | None = None,
) -> ImportReport:
    """Check rows (from :func:`read_file`) against every rule; write nothing.

    Returns the report with every problem (errors and warnings) and the counts of rows
    that would be inserted/updated/unchanged are left at 0 (they need the load step:
    use ``import_boundaries(..., dry_run=True)`` for them).
    """
    _, report = _prepare(conn, gdf, level=level, params=params, progress=progress or no_progress)
    return report


def _prepare(
    conn: Connection, gdf: gpd.GeoDataFrame, *, level: str, params: IngestParams,
    progress: Progress,
) -> tuple[gpd.GeoDataFrame, ImportReport]:
    _check_level(level)
    report = ImportReport(level=level, rows_read=len(gdf),
                          source_file=params.source or gdf.attrs.get("source_file"),
                          source_crs=gdf.attrs.get("source_crs"))
    problems: list[Problem] = list(gdf.attrs.get("problems", []))
    report.rows_read = int(gdf.attrs.get("rows_in_file", len(gdf)))
    progress("validate", 0, len(gdf))
    if gdf.crs is None:
        raise ValidationError("rows have no CRS; read them with read_file or set one")
    if gdf.crs.to_epsg() != gcrs.STORAGE_EPSG:
        gdf = gdf.to_crs(gcrs.STORAGE_EPSG)
    gdf = gdf.copy()
    for col in ("code", "name", "parent_code"):
        if col not in gdf.columns:
            gdf[col] = None
    if ROW_COL not in gdf.columns:
        gdf[ROW_COL] = np.arange(1, len(gdf) + 1)
    if "source_crs" not in gdf.columns:
        gdf["source_crs"] = report.source_crs or "EPSG:4326"
    if level == "building":
        for col in _INT_FIELDS:
            if col not in gdf.columns:
                gdf[col] = pd.array([pd.NA] * len(gdf), dtype="Int64")
                continue
            numbers = pd.to_numeric(gdf[col], errors="coerce")
            bad = gdf[col].notna() & (numbers.isna() | (numbers < 0) | (numbers % 1 != 0))
            problems.extend(Problem(f"{col} {v!r} is not a non-negative whole number",
                                    row=int(r), field=col)
                            for r, v in zip(gdf.loc[bad, ROW_COL], gdf.loc[bad, col], strict=True))
            gdf[col] = numbers.where(~bad).astype("Int64")
        source = (pd.Series(_texts(gdf["population_source"]), index=gdf.index, dtype=object)
                  if "population_source" in gdf.columns
                  else pd.Series([None] * len(gdf), index=gdf.index, dtype=object))
        bad = source.notna() & ~source.isin(POPULATION_SOURCES)
        problems.extend(Problem(f"population_source {v!r} is not one of"
                                f" {', '.join(POPULATION_SOURCES)}", row=int(r),
                                field="population_source")
                        for r, v in zip(gdf.loc[bad, ROW_COL], source[bad], strict=True))
        gdf["population_source"] = source.where(~bad, None)

    clean, repair_problems = repair_geometries(gdf, allowed_types=POLYGONAL)
    problems.extend(repair_problems)
    report.repaired = sum(1 for p in repair_problems if "repaired" in p.reason)
    report.dropped = len(gdf) - len(clean)
    rows = row_numbers(clean)
    geoms = np.asarray(clean.geometry.values, dtype=object)

    # --- position: swapped axes, expected region ------------------------------------
    region, region_source = _expected_region(conn, params)
    report.region, report.region_source = region, region_source
    misplaced = np.zeros(len(clean), dtype=bool)
    if len(clean):
        anchor = shapely.point_on_surface(geoms)
        lon, lat = shapely.get_x(anchor), shapely.get_y(anchor)
        swapped = gcrs.looks_swapped_for_region(lon, lat, region)
        for r, x, y in zip(rows[swapped], lon[swapped], lat[swapped], strict=True):
            problems.append(Problem(
                f"longitude and latitude look swapped (first coordinate {x:.5f}, second"
                f" {y:.5f}); put longitude first (x) and re-import", row=int(r),
                field="geometry"))
        b = shapely.bounds(geoms)
        x0, y0, x1, y1 = region
        inside = (b[:, 0] >= x0) & (b[:, 1] >= y0) & (b[:, 2] <= x1) & (b[:, 3] <= y1)
        outside = ~inside & ~swapped
        for r, bb in zip(rows[outside], b[outside], strict=True):
            problems.append(Problem(
                f"coordinates lon {bb[0]:.4f}..{bb[2]:.4f}, lat {bb[1]:.4f}..{bb[3]:.4f} lie"
                f" outside the expected region ({region_source}); check --crs/--coords or pass"
                " --region", row=int(r), field="geometry"))
        misplaced = swapped | outside

    # --- codes -----------------------------------------------------------------------
    code = _texts(clean["code"])
    has_code = np.array([c is not None for c in code], dtype=bool)
    good_code = has_code.copy()
    if level in CODED_LEVELS:
        width = CODED_LEVELS[level]
        for r in rows[~has_code]:
            problems.append(Problem(f"{level} code is missing", row=int(r), field="code"))
        for i in np.flatnonzero(has_code):
            if not (len(code[i]) == width and code[i].isdigit()):
                good_code[i] = False
                problems.append(Problem(f"{level} code {code[i]!r} must be {width} digits",
                                        row=int(rows[i]), field="code"))
    counts = pd.Series(code[has_code]).value_counts()
    repeated = set(counts[counts > 1].index)
    for c in sorted(repeated):
        where = rows[code == c]
        for r in where:
            problems.append(Problem(
                f"code {c} appears more than once in the file (rows"
                f" {', '.join(str(int(x)) for x in where)})", row=int(r), field="code"))

    valid_codes = sorted({str(c) for c in code[good_code]})
    names = _texts(clean["name"])
    if level in CODED_LEVELS and valid_codes:
        unknown = codes.unknown_codes(conn, level, valid_codes)
        for i in np.flatnonzero(good_code):
            if code[i] in unknown:
                problems.append(Problem(
                    f"{level} code {code[i]} is not in the division code catalogue"
                    " (admin_division)" + ("; accepted because --synthetic" if params.synthetic
                                           else "; use --synthetic for generated data"),
                    row=int(rows[i]), field="code",
                    severity="warning" if params.synthetic else "error"))
        catalogue: dict[str, str] = dict(conn.execute(
            sa.text("SELECT code, name FROM admin_division WHERE code = ANY(:codes)"),
            {"codes": valid_codes}).all())
        missing_name = np.array([n is None for n in names], dtype=bool)
        from_catalogue = pd.Series([catalogue.get(c) for c in code], dtype=object).to_numpy()
        names = np.where(missing_name & good_code, from_catalogue, names)
        clean["name"] = pd.Series(names, index=clean.index, dtype=object)
    if level != "building":
        for i in np.flatnonzero(np.array([n is None for n in names], dtype=bool)):
            problems.append(Problem(f"{level} name is missing", row=int(rows[i]), field="name"))

    # --- hierarchy: parent code, parent exists, child inside parent -----------------
    if level in PARENT_LEVEL:
        parent_level = PARENT_LEVEL[level]
        width = CODED_LEVELS[parent_level]
        parent_code = np.array([c[:width] if c else None for c in code], dtype=object)
        given = _texts(clean["parent_code"])
        for i in np.flatnonzero(good_code):
            if given[i] is not None and given[i] != parent_code[i]:
                problems.append(Problem(
                    f"parent_code {given[i]} does not match code {code[i]} (a {level} code"
                    f" starts with its {parent_level} code {parent_code[i]})",
                    row=int(rows[i]), field="parent_code"))
        wanted = sorted({str(p) for p in parent_code[good_code]})
        parents = _fetch_geoms(conn, parent_level, wanted)
        for i in np.flatnonzero(good_code):
            if parent_code[i] not in parents:
                problems.append(Problem(
                    f"parent {parent_level} {parent_code[i]} is not in the database; import"
                    f" the {parent_level} boundaries first", row=int(rows[i]), field="code"))
        check = good_code & ~misplaced & np.array([p in parents for p in parent_code])
        if check.any():
            problems.extend(_outside_parent(
                geoms[check], np.array([parents[p] for p in parent_code[check]], dtype=object),
                rows[check], parent_code[check], parent_level, params))

    if params.on_existing == "error" and valid_codes:
        existing = _existing_codes(conn, level, valid_codes)
        for i in np.flatnonzero(good_code):
            if code[i] in existing:
                problems.append(Problem(
                    f"code {code[i]} already exists in the database (on_existing=error)",
                    row=int(rows[i]), field="code"))

    problems.sort(key=lambda p: (p.row or 0, p.severity != "error"))
    report.problems = problems
    error_rows = {p.row for p in problems if p.severity == "error"}
    report.rows_valid = int(sum(1 for r in rows if int(r) not in error_rows))
    progress("validate", len(gdf), len(gdf))
    return clean, report


def _expected_region(
    conn: Connection, params: IngestParams
) -> tuple[tuple[float, float, float, float], str]:
    if params.region is not None:
        return params.region, "given region"
    row = conn.execute(sa.text(
        """
        SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (
          SELECT ST_Extent(geom) AS e FROM (
            SELECT geom FROM district UNION ALL SELECT geom FROM street
            UNION ALL SELECT geom FROM community UNION ALL SELECT geom FROM estate) u) x
        """)).one()
    if row[0] is None:
        return gcrs.CHINA_BOX, "China; no boundaries in the database yet"
    m = params.region_margin_deg
    return ((row[0] - m, row[1] - m, row[2] + m, row[3] + m),
            f"boundaries in the database ± {m}°")


def _fetch_geoms(conn: Connection, level: str, wanted: list[str]) -> dict[str, Any]:
    if not wanted:
        return {}
    result = conn.execute(
        sa.text(f"SELECT code, ST_AsBinary(geom) FROM {_TABLES[level]}"  # noqa: S608 (whitelist)
                " WHERE code = ANY(:codes)"), {"codes": wanted}).all()
    if not result:
        return {}
    geoms = shapely.from_wkb([bytes(w) for _, w in result])
    return {c: g for (c, _), g in zip(result, geoms, strict=True)}


def _existing_codes(conn: Connection, level: str, wanted: list[str]) -> set[str]:
    return set(conn.execute(
        sa.text(f"SELECT code FROM {_TABLES[level]} WHERE code = ANY(:codes)"),  # noqa: S608
        {"codes": wanted}).scalars())


def _outside_parent(
    child: np.ndarray, parent: np.ndarray, rows: np.ndarray, parent_codes: np.ndarray,
    parent_level: str, params: IngestParams,
) -> list[Problem]:
    """Rows whose area outside the parent exceeds max(ratio × area, min m²) (metric CRS)."""
    bounds = shapely.total_bounds(child)
    metric = gcrs.metric_crs(*bounds)
    c = gpd.GeoSeries(child, crs=gcrs.STORAGE_EPSG).to_crs(metric)
    p = gpd.GeoSeries(parent, crs=gcrs.STORAGE_EPSG).to_crs(metric)
    area = c.area.to_numpy()
    outside = c.difference(p, align=False).area.to_numpy()
    allowed = np.maximum(params.outside_parent_ratio * area, params.outside_parent_min_m2)
    bad = outside > allowed
    return [
        Problem(f"{out:.0f} m² ({100 * out / a:.1f}% of its area) lies outside its parent"
                f" {parent_level} {pc} (tolerance {allowed_i:.0f} m²)", row=int(r),
                field="geometry")
        for r, out, a, pc, allowed_i in zip(rows[bad], outside[bad], area[bad],
                                            parent_codes[bad], allowed[bad], strict=True)
    ]


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------

def import_boundaries(
    conn: Connection,
    source: str | Path | gpd.GeoDataFrame,
    *,
    level: str,
    crs: str | None = None,
    coords: str = "wgs84",
    fields: FieldMap = FieldMap(),
    params: IngestParams = IngestParams(),
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
    _check_level(level)
    if isinstance(source, gpd.GeoDataFrame):
        gdf = source
    else:
        progress("read", 0, None)
        gdf = read_file(source, level=level, crs=crs, coords=coords, max_bytes=max_bytes,
                        fields=fields)
        progress("read", len(gdf), len(gdf))
    clean, report = _prepare(conn, gdf, level=level, params=params, progress=progress)
    report.dry_run = dry_run
    if report.errors:
        report.seconds = time.monotonic() - started
        raise ImportRefused(report)
    if report.source_file is None and not isinstance(source, gpd.GeoDataFrame):
        report.source_file = str(source)
    if report.source_crs is None:
        report.source_crs = str(clean["source_crs"].iloc[0]) if len(clean) else None

    savepoint = conn.begin_nested()
    try:
        if not dry_run:
            report.import_id = _start_run(conn, level, report, params)
        _load_rows(conn, clean, level, progress)
        _match_and_link(conn, level, progress)
        _count(conn, level, report, params)
        if not dry_run:
            _write(conn, level, report, params, progress)
            if level == "community":
                report.linked = linking.link_to_communities(conn)
            elif level == "estate":
                report.linked = {"building": linking.link_buildings_to_estates(conn)}
            report.seconds = time.monotonic() - started
            _finish_run(conn, report)
            savepoint.commit()
        else:
            savepoint.rollback()
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    report.seconds = time.monotonic() - started
    progress("done", len(clean), len(clean))
    return report


_COPY_COLUMNS = ("row_no", "code", "name", "parent_code", "households", "residents", "levels",
                 "population_source", "source_crs", "geom")


def _start_run(conn: Connection, level: str, report: ImportReport, params: IngestParams) -> int:
    return int(conn.execute(
        sa.text("INSERT INTO import_run (kind, source_file, actor) VALUES (:kind, :src, :actor)"
                " RETURNING id"),
        {"kind": f"boundaries:{level}", "src": report.source_file, "actor": params.actor},
    ).scalar_one())


def _finish_run(conn: Connection, report: ImportReport) -> None:
    conn.execute(
        sa.text("UPDATE import_run SET finished_at = now(), report = CAST(:report AS jsonb)"
                " WHERE id = :id"),
        {"id": report.import_id, "report": _json(report.as_dict())})


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def _load_rows(
    conn: Connection, clean: gpd.GeoDataFrame, level: str, progress: Progress
) -> None:
    """COPY the validated rows into ``pg_temp.ingest_rows`` (dropped at commit)."""
    conn.execute(sa.text("DROP TABLE IF EXISTS pg_temp.ingest_rows"))
    conn.execute(sa.text(
        """
        CREATE TEMP TABLE ingest_rows (
          row_no integer PRIMARY KEY, code text, name text, parent_code text,
          households integer, residents integer, levels integer, population_source text,
          source_crs text,
          geom geometry(MultiPolygon, 4326) NOT NULL,
          match_id integer, same boolean NOT NULL DEFAULT false,
          parent_id integer, community_id integer
        ) ON COMMIT DROP
        """))
    total = len(clean)
    progress("load", 0, total)
    geoms = shapely.set_srid(to_multipolygons(np.asarray(clean.geometry.values, dtype=object)),
                             gcrs.STORAGE_EPSG)
    wkb = shapely.to_wkb(geoms, hex=True, include_srid=True)
    frame = pd.DataFrame({
        "row_no": clean[ROW_COL].to_numpy(dtype=np.int64),
        "code": _texts(clean["code"]),
        "name": _texts(clean["name"]),
        "parent_code": _texts(clean["parent_code"]),
        "source_crs": _texts(clean["source_crs"]),
        "geom": wkb,
    })
    for col in _INT_FIELDS:
        frame[col] = (clean[col].astype("Int64") if col in clean.columns
                      else pd.array([pd.NA] * total, dtype="Int64"))
    frame["population_source"] = (_texts(clean["population_source"])
                                  if "population_source" in clean.columns else None)
    frame = frame[list(_COPY_COLUMNS)]
    # CSV COPY: text values are never empty (blanks were normalised to NULL), so an
    # unquoted empty field is NULL; pandas writes the text in C, chunk by chunk.
    cursor = raw_psycopg(conn).cursor()
    chunk = 20_000
    with cursor.copy(f"COPY pg_temp.ingest_rows ({', '.join(_COPY_COLUMNS)})"
                     " FROM STDIN (FORMAT csv)") as cp:
        for start in range(0, total, chunk):
            part = frame.iloc[start:start + chunk]
            cp.write(part.to_csv(header=False, index=False, na_rep="", lineterminator="\n"))
            progress("load", min(start + chunk, total), total)
    progress("load", total, total)
    conn.execute(sa.text("ANALYZE pg_temp.ingest_rows"))


# Per level: how a temp row finds its stored row, its parent and its community.
_MATCH = """
UPDATE pg_temp.ingest_rows t SET match_id = m.id FROM (
  SELECT t2.row_no, e.id FROM pg_temp.ingest_rows t2 JOIN {table} e ON e.code = t2.code
  UNION ALL
  SELECT t2.row_no, (SELECT e.id FROM {table} e
                     WHERE e.code IS NULL AND e.geom && t2.geom AND ST_Equals(e.geom, t2.geom)
                     ORDER BY e.id LIMIT 1)
  FROM pg_temp.ingest_rows t2 WHERE t2.code IS NULL
) m WHERE m.row_no = t.row_no
"""
_LINK = {
    "district": None,
    "street": "UPDATE pg_temp.ingest_rows t SET parent_id = d.id FROM district d"
              " WHERE d.code = left(t.code, 6)",
    "community": "UPDATE pg_temp.ingest_rows t SET parent_id = s.id FROM street s"
                 " WHERE s.code = left(t.code, 9)",
    "estate": """
        UPDATE pg_temp.ingest_rows t SET parent_id = (
          SELECT c.id FROM community c WHERE c.geom && t.geom AND ST_Intersects(c.geom, t.geom)
          ORDER BY ST_Area(ST_Intersection(c.geom, t.geom)) DESC, c.id LIMIT 1)
        """,
    "building": """
        UPDATE pg_temp.ingest_rows t SET
          parent_id = (SELECT e.id FROM estate e WHERE ST_Contains(e.geom, p.pt)
                       ORDER BY ST_Area(e.geom), e.id LIMIT 1),
          community_id = (SELECT c.id FROM community c WHERE ST_Contains(c.geom, p.pt)
                          ORDER BY c.id LIMIT 1)
        FROM (SELECT row_no, ST_PointOnSurface(geom) AS pt FROM pg_temp.ingest_rows) p
        WHERE p.row_no = t.row_no
        """,
}
_SAME = {
    "building": """
        UPDATE pg_temp.ingest_rows t SET same = (
          e.name IS NOT DISTINCT FROM t.name AND ST_Equals(e.geom, t.geom)
          AND e.households = coalesce(t.households, 0) AND e.residents = coalesce(t.residents, 0)
          AND e.levels IS NOT DISTINCT FROM t.levels
          AND e.population_source = coalesce(t.population_source, CASE WHEN t.households IS NOT NULL
            OR t.residents IS NOT NULL THEN 'imported' ELSE 'none' END))
        FROM building e WHERE e.id = t.match_id
        """,
}
_SAME_DEFAULT = """
UPDATE pg_temp.ingest_rows t SET same = (e.name IS NOT DISTINCT FROM t.name
  AND ST_Equals(e.geom, t.geom))
FROM {table} e WHERE e.id = t.match_id
"""


def _match_and_link(conn: Connection, level: str, progress: Progress) -> None:
    table = _TABLES[level]
    progress("link", 0, None)
    conn.execute(sa.text(_MATCH.format(table=table)))
    link = _LINK[level]
    if link:
        conn.execute(sa.text(link))
    conn.execute(sa.text(_SAME.get(level, _SAME_DEFAULT).format(table=table)))


def _count(conn: Connection, level: str, report: ImportReport, params: IngestParams) -> None:
    row = conn.execute(sa.text(
        """
        SELECT count(*) FILTER (WHERE match_id IS NULL),
               count(*) FILTER (WHERE match_id IS NOT NULL AND same),
               count(*) FILTER (WHERE match_id IS NOT NULL AND NOT same),
               count(*) FILTER (WHERE CASE WHEN :level = 'building' THEN community_id
                                           ELSE parent_id END IS NULL)
        FROM pg_temp.ingest_rows
        """), {"level": level}).one()
    report.inserted, report.unchanged = int(row[0]), int(row[1])
    if params.on_existing == "skip":
        report.skipped, report.updated = int(row[2]), 0
    else:
        report.updated = int(row[2])
    report.unlinked = int(row[3]) if level in ("estate", "building") else 0


_POP_SOURCE = ("coalesce(t.population_source, CASE WHEN t.households IS NOT NULL"
               " OR t.residents IS NOT NULL THEN 'imported' ELSE 'none' END)")
_WRITE = {
    "district": ("", "", ""),
    "street": (", district_id", ", t.parent_id", ", district_id = t.parent_id"),
    "community": (", street_id", ", t.parent_id", ", street_id = t.parent_id"),
    "estate": (", community_id, derived_from", ", t.parent_id, 'import'",
               ", community_id = t.parent_id"),
    "building": (
        ", estate_id, community_id, levels, households, residents, population_source,"
        " residential, footprint_m2",
        ", t.parent_id, t.community_id, t.levels, coalesce(t.households, 0),"
        " coalesce(t.residents, 0), " + _POP_SOURCE + ", coalesce(t.households, 0) > 0"
        " OR coalesce(t.residents, 0) > 0, ST_Area(t.geom::geography)",
        ", estate_id = t.parent_id, community_id = t.community_id, levels = t.levels,"
        " households = coalesce(t.households, 0), residents = coalesce(t.residents, 0),"
        " population_source = " + _POP_SOURCE + ", residential = coalesce(t.households, 0) > 0"
        " OR coalesce(t.residents, 0) > 0, footprint_m2 = ST_Area(t.geom::geography)"),
}


def _write(
    conn: Connection, level: str, report: ImportReport, params: IngestParams,
    progress: Progress,
) -> None:
    table = _TABLES[level]
    extra_cols, extra_vals, extra_set = _WRITE[level]
    bind = {"synthetic": params.synthetic, "import_id": report.import_id,
            "source": params.source or (Path(report.source_file).name if report.source_file
                                        else None)}
    progress("write", 0, report.inserted + report.updated)
    if params.on_existing == "update" and report.updated:
        conn.execute(sa.text(
            f"UPDATE {table} e SET name = t.name, geom = t.geom, source = :source,"  # noqa: S608
            f" source_crs = t.source_crs, synthetic = :synthetic, import_id = :import_id"
            f"{extra_set} FROM pg_temp.ingest_rows t WHERE e.id = t.match_id AND NOT t.same"),
            bind)
    if report.inserted:
        conn.execute(sa.text(
            f"INSERT INTO {table} (code, name, geom, source, source_crs, synthetic,"  # noqa: S608
            f" import_id{extra_cols}) SELECT t.code, t.name, t.geom, :source, t.source_crs,"
            f" :synthetic, :import_id{extra_vals} FROM pg_temp.ingest_rows t"
            " WHERE t.match_id IS NULL ORDER BY t.row_no"), bind)
    progress("write", report.inserted + report.updated, report.inserted + report.updated)
