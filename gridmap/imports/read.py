"""Read a boundary file of any supported format and normalise it to EPSG:4326.

Formats: GeoJSON, GeoPackage, zipped Shapefile, Shapefile, CSV with a WKT column or
lon/lat columns (UTF-8 or GB18030). Rules come from ``reference/crs.md`` §7: store
EPSG:4326, never convert GCJ-02/BD-09 silently, flag swapped lon/lat (the last one in
:mod:`gridmap.imports.validate`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from gridmap import crs as gcrs
from gridmap.config import Settings
from gridmap.errors import InputTooLarge, Problem, ValidationError
from gridmap.imports.columns import DEFAULT_FIELDS, FieldMap, canonical_columns
from gridmap.imports.geometry import ROW_COL, to_storage
from gridmap.imports.levels import check_level
from gridmap.imports.tables import read_table

FORMATS = (".geojson", ".json", ".gpkg", ".zip", ".shp", ".csv")
_GEOGRAPHIC_STORAGE = (4326, 4490)  # CGCS2000 is taken as WGS84 (reference/crs.md §2)


def read_file(
    path: str | Path,
    *,
    level: str,
    crs: str | None = None,
    coords: str = "wgs84",
    max_bytes: int = Settings.max_upload_bytes,
    fields: FieldMap = DEFAULT_FIELDS,
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
    check_level(level)
    path = Path(path)
    if coords not in gcrs.COORD_SYSTEMS:
        raise ValidationError("crs.unknown_coordinate_system",
                              params={"system": coords, "systems": gcrs.COORD_SYSTEMS})
    _check_file(path, max_bytes)
    row_problems: list[Problem] = []
    raw = _read_csv(path, row_problems) if path.name.lower().endswith(".csv") else _read_ogr(
        path, level, row_problems, fields.layer)
    rows_in_file = int(raw.attrs.get("rows_in_file", len(raw)))
    if rows_in_file == 0:
        raise ValidationError("imports.no_features", params={"name": path.name})

    source, problems = _source_crs(raw.crs, crs, coords)
    out, column_problems = canonical_columns(raw, level, fields, row_problems)
    problems.extend(column_problems)
    if problems:
        raise ValidationError("imports.cannot_import_file", problems, {"name": path.name})
    assert source is not None

    out = gpd.GeoDataFrame(out, geometry=_to_wgs84(raw.geometry.values, source, coords),
                           crs=gcrs.STORAGE_EPSG)
    label = _crs_label(source) + ("" if coords == "wgs84" else f" ({coords})")
    out["source_crs"] = label
    out.attrs.update(problems=row_problems, rows_in_file=rows_in_file, source_file=str(path),
                     source_crs=label)
    return out


def _check_file(path: Path, max_bytes: int) -> None:
    if not path.is_file():
        raise ValidationError("imports.file_not_found", params={"path": str(path)})
    size = path.stat().st_size
    if size > max_bytes:
        raise InputTooLarge("imports.file_too_large",
                            params={"name": path.name, "size": size, "limit": max_bytes})
    if size == 0:
        raise ValidationError("imports.file_empty", params={"name": path.name})
    if not path.name.lower().endswith(FORMATS):
        raise ValidationError("imports.unsupported_file_type",
                              params={"suffix": path.suffix or path.name, "formats": FORMATS})


def _source_crs(
    file_crs: CRS | None, given: str | None, coords: str
) -> tuple[CRS | None, list[Problem]]:
    """The CRS of the coordinates (declared by the file, else given) and its problems."""
    problems: list[Problem] = []
    declared: CRS | None = None
    if given:
        try:
            declared = CRS.from_user_input(given)
        except Exception:  # pyproj raises CRSError or others for arbitrary text
            problems.append(Problem("imports.unknown_crs", {"crs": given}, field="crs"))
    if file_crs is None and declared is None and not (given and problems):
        problems.append(Problem("imports.no_crs", field="crs"))
    elif file_crs is not None and declared is not None and not _same_crs(file_crs, declared):
        problems.append(Problem("imports.crs_conflict", {"file_crs": _crs_label(file_crs),
                                                         "given": _crs_label(declared)},
                                field="crs"))
    source = file_crs if file_crs is not None else declared
    if source is not None and not (source.is_geographic or source.is_projected):
        problems.append(Problem("imports.crs_not_usable", {"crs": _crs_label(source)},
                                field="crs"))
    if source is not None and source.is_projected and coords in ("gcj02", "bd09"):
        problems.append(Problem("imports.coords_need_lonlat",
                                {"coords": coords, "crs": _crs_label(source)}, field="crs"))
    return source, problems


def _to_wgs84(geoms: np.ndarray, source: CRS, coords: str) -> np.ndarray:
    """Geometries in ``source`` (lon/lat in the ``coords`` system) → EPSG:4326 WGS84."""
    geoms = np.asarray(geoms, dtype=object)
    if not (source.is_geographic and source.to_epsg() in _GEOGRAPHIC_STORAGE):
        geoms = to_storage(geoms, source)
    if coords in ("gcj02", "bd09"):
        geoms = shapely.transform(geoms, _converter(coords))
    return geoms


def _converter(system: str) -> Callable[[np.ndarray], np.ndarray]:
    def convert(xy: np.ndarray) -> np.ndarray:
        lon, lat = gcrs.to_wgs84(xy[:, 0], xy[:, 1], system)
        return np.column_stack([lon, lat])

    return convert


def _same_crs(a: CRS, b: CRS) -> bool:
    if a.to_epsg() in _GEOGRAPHIC_STORAGE and b.to_epsg() in _GEOGRAPHIC_STORAGE:
        return True
    return bool(a.equals(b, ignore_axis_order=True))


def _crs_label(value: CRS) -> str:
    epsg = value.to_epsg()
    return f"EPSG:{epsg}" if epsg else (value.name or "unnamed CRS")


def _gdal_detail(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _read_ogr(path: Path, level: str, problems: list[Problem], wanted: str | None = None
              ) -> gpd.GeoDataFrame:
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # GDAL reports every unreadable input its own way
        raise ValidationError("imports.cannot_read",
                              params={"name": path.name, "detail": _gdal_detail(exc)}) from exc
    if wanted is not None and wanted not in layers:
        if not layers:
            raise ValidationError("imports.no_layers", params={"name": path.name, "layer": wanted})
        raise ValidationError("imports.no_such_layer",
                              params={"name": path.name, "layer": wanted, "layers": layers})
    try:
        layer = wanted or (level if level in layers else (layers[0] if layers else None))
        if len(layers) > 1 and layer != level and wanted is None:
            problems.append(Problem("imports.layer_chosen", {"layers": layers, "layer": layer},
                                    severity="warning"))
        return pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:  # GDAL reports every unreadable input its own way
        raise ValidationError("imports.cannot_read",
                              params={"name": path.name, "detail": _gdal_detail(exc)}) from exc


def _decode_csv(path: Path) -> pd.DataFrame:
    """Text cells of a CSV in any encoding (BOM, GB18030 …) and separator (``read_table``)."""
    try:
        return read_table(path).frame
    except ValidationError as exc:
        if exc.code == "tables.undecodable":
            raise ValidationError("imports.csv_encoding", params={"name": path.name}) from exc
        raise ValidationError("imports.csv_unreadable", params={
            "name": path.name, "detail": str(exc.params.get("error", exc))}) from exc


def _read_csv(path: Path, problems: list[Problem]) -> gpd.GeoDataFrame:
    df = _decode_csv(path)
    lower = {c.lower().strip(): c for c in df.columns}
    wkt_col = next((lower[c] for c in ("wkt", "geometry", "geom", "the_geom") if c in lower), None)
    lon_col = next((lower[c] for c in ("lon", "lng", "longitude", "x", "经度") if c in lower), None)
    lat_col = next((lower[c] for c in ("lat", "latitude", "y", "纬度") if c in lower), None)
    rows = np.arange(1, len(df) + 1)
    if wkt_col is not None:
        text = df[wkt_col].astype(str).str.strip().to_numpy(dtype=object)
        geoms = shapely.from_wkt(np.where(text == "", None, text), on_invalid="ignore")
        bad = (text != "") & shapely.is_missing(geoms)
        problems.extend(Problem("imports.wkt_unparsable", row=int(r), field=str(wkt_col))
                        for r in rows[bad])
        df = df.drop(columns=[wkt_col])
    elif lon_col is not None and lat_col is not None:
        lon = pd.to_numeric(df[lon_col], errors="coerce").to_numpy(dtype=float)
        lat = pd.to_numeric(df[lat_col], errors="coerce").to_numpy(dtype=float)
        bad = ~(np.isfinite(lon) & np.isfinite(lat))
        problems.extend(Problem("imports.lonlat_not_number", row=int(r),
                                field=f"{lon_col},{lat_col}") for r in rows[bad])
        geoms = shapely.points(np.where(bad, np.nan, lon), np.where(bad, np.nan, lat))
        geoms[bad] = None
        df = df.drop(columns=[lon_col, lat_col])
    else:
        raise ValidationError("imports.csv_no_geometry", params={"name": path.name})
    gdf = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms), crs=None)
    gdf[ROW_COL] = rows
    gdf = gdf[~bad] if bad.any() else gdf
    gdf.attrs["rows_in_file"] = len(rows)
    return gdf
