"""Address files: vector layers and OSM extracts in, geocoded tables out.

Tabular files (CSV/TSV/Excel) are read by the caller through ``gridmap.imports.tables``;
this module reads what only the geocoder needs: a vector layer's features as register rows
(point on surface in WGS84, GCJ-02/BD-09 converted explicitly) and writes a geocoded table
back in its own format.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pyogrio
import shapely

from gridmap import crs
from gridmap.errors import ValidationError

VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb")
OSM_SUFFIXES = (".osm", ".pbf")
ADDRESS_ALIASES: dict[str, tuple[str, ...]] = {
    "address": ("address", "地址", "标准地址", "门牌地址", "详细地址", "addr", "address_string",
                "事发地址", "full_address"),
    "lon": ("lon", "lng", "long", "longitude", "x", "经度"),
    "lat": ("lat", "latitude", "y", "纬度"),
    "building_id": ("building_id", "建筑id", "楼栋id", "building"),
}
"""Headers recognised without a ``--map`` profile (field → aliases, first match wins)."""


def _column(frame: pd.DataFrame, field: str, column: str | None) -> str | None:
    if column:
        return column if column in frame.columns else None
    lower = {str(c).strip().lower(): c for c in frame.columns}
    return next((lower[a] for a in ADDRESS_ALIASES[field] if a in lower), None)


def read_vector_addresses(path: Path, *, column: str | None = None, coords: str = "wgs84"
                          ) -> pd.DataFrame:
    """Register rows (``address``, ``lon``, ``lat``) from a vector layer's features.

    Raises
    ------
    ValidationError
        Unreadable file, or no address column (``--column`` names it).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gdf = pyogrio.read_dataframe(path, on_invalid="ignore")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise ValidationError("geocode.unreadable_file",
                              params={"file": path.name, "error": str(exc)}) from exc
    col = _column(gdf, "address", column)
    if col is None:
        raise ValidationError("geocode.no_address_column",
                              params={"file": path.name, "columns": [str(c) for c in gdf.columns
                                                                     if c != "geometry"]})
    if gdf.crs is not None and gdf.crs.to_epsg() not in (4326, 4490):
        gdf = gdf.to_crs(crs.STORAGE_EPSG)
    geoms = gdf.geometry.to_numpy()
    ok = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    pts = shapely.point_on_surface(geoms[ok])
    lon, lat = shapely.get_x(pts), shapely.get_y(pts)
    if coords != "wgs84":
        lon, lat = crs.to_wgs84(lon, lat, coords)
    out = pd.DataFrame({"address": gdf[col].to_numpy()[ok], "lon": lon, "lat": lat})
    bid = _column(gdf, "building_id", None)
    if bid is not None:
        out["building_id"] = gdf[bid].to_numpy()[ok]
    return out


def address_frame(frame: pd.DataFrame, *, column: str | None = None,
                  coords: str = "wgs84") -> pd.DataFrame:
    """``address``, ``lon``, ``lat``, ``building_id`` of a table (recognised headers)."""
    out = pd.DataFrame(index=frame.index)
    for field in ADDRESS_ALIASES:
        src = _column(frame, field, column if field == "address" else None)
        out[field] = frame[src] if src is not None else None
    if coords != "wgs84":
        lon = pd.to_numeric(out["lon"], errors="coerce").to_numpy(float)
        lat = pd.to_numeric(out["lat"], errors="coerce").to_numpy(float)
        out["lon"], out["lat"] = crs.to_wgs84(lon, lat, coords)
    return out


def write_back(frame: pd.DataFrame, path: Path, *, sheet: str | None = None) -> None:
    """Write a table in the format its suffix names (CSV with BOM for Excel users, XLSX)."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        frame.to_excel(path, index=False, sheet_name=sheet or "Sheet1")
    elif suffix in (".tsv", ".tab"):
        frame.to_csv(path, index=False, sep="\t", encoding="utf-8-sig")
    else:
        frame.to_csv(path, index=False, encoding="utf-8-sig")


def geocoded_columns(result: pd.DataFrame, reason_text: Any) -> pd.DataFrame:
    """The columns added to a geocoded file (reason rendered by ``reason_text(code)``)."""
    return pd.DataFrame({
        "geocode_level": result["level"], "geocode_score": result["score"].round(3),
        "geocode_status": result["status"],
        "geocode_reason": [reason_text(c) for c in result["reason"]],
        "geocode_lon": result["lon"].round(7), "geocode_lat": result["lat"].round(7),
        "geocode_candidates": [len(c) if isinstance(c, list) else 0
                               for c in result["candidates"]]})
