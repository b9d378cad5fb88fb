"""Reading a vector layer of any common format into EPSG:4326 with its attributes.

Formats: zipped Shapefile, Shapefile, GeoPackage (the layer named for the kind — OSMnx's
``edges`` for streets — else the one layer of the right geometry), GeoJSON, CSV/XLSX with a
WKT column (read with :func:`gridmap.imports.tables.read_table`: any encoding). The CRS is
the file's or ``--crs`` (CGCS2000 EPSG:4490 is taken as WGS84; Gauss-Krüger and other
projected CRSs are reprojected; GCJ-02/BD-09 lon/lat converted explicitly), by the same rules
as the boundary import (:mod:`gridmap.imports.read`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from gridmap.errors import InputTooLarge, Problem, ValidationError
from gridmap.imports.read import _crs_label, _source_crs, _to_wgs84
from gridmap.imports.tables import read_table

KINDS = ("buildings", "streets", "estates")
GEOMETRY: dict[str, tuple[str, ...]] = {
    "buildings": ("Polygon", "MultiPolygon"), "estates": ("Polygon", "MultiPolygon"),
    "streets": ("LineString", "MultiLineString"),
}
LAYER_NAMES: dict[str, tuple[str, ...]] = {
    "buildings": ("buildings", "building", "建筑", "房屋"),
    "estates": ("estates", "estate", "residential_areas", "小区"),
    "streets": ("edges", "streets", "roads", "highways", "道路", "lines"),
}
VECTOR_SUFFIXES = (".zip", ".shp", ".gpkg", ".geojson", ".json", ".csv", ".txt", ".xlsx",
                   ".xls")


@dataclass
class VectorLayer:
    """Rows of one vector layer: attributes as text, geometries in EPSG:4326."""

    attributes: pd.DataFrame
    geoms: npt.NDArray[np.object_]
    rows: npt.NDArray[np.int64]
    """1-based feature numbers in the file."""
    source_crs: str
    layer: str | None = None
    problems: list[Problem] = field(default_factory=list)


def read_vector(path: Path, kind: str, *, crs: str | None = None, coords: str = "wgs84",
                layer: str | None = None, max_bytes: int | None = None) -> VectorLayer:
    """Read ``path`` as a layer of ``kind`` (``buildings`` | ``streets`` | ``estates``).

    Raises
    ------
    ValidationError
        Missing, empty or unreadable file, no such layer, missing or conflicting CRS, GCJ-02
        with a projected CRS — every such problem at once.
    InputTooLarge
        The file is larger than ``max_bytes``.
    """
    if not path.is_file():
        raise ValidationError("layers.file_not_found", params={"path": str(path)})
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise InputTooLarge("layers.file_too_large",
                            params={"name": path.name, "size": size, "limit": max_bytes})
    if size == 0:
        raise ValidationError("layers.file_empty", params={"name": path.name})
    suffix = path.name.lower().rsplit(".", 1)[-1]
    problems: list[Problem] = []
    if suffix in ("csv", "txt", "xlsx", "xls"):
        frame = _read_wkt_table(path, problems)
        geoms = frame.pop("_geom").to_numpy(dtype=object)
        file_crs, chosen = None, None
    else:
        frame, geoms, file_crs, chosen = _read_ogr(path, kind, layer)
    if len(frame) == 0:
        raise ValidationError("layers.no_features", params={"name": path.name})
    source, crs_problems = _source_crs(file_crs, crs, coords)
    if crs_problems:
        raise ValidationError("layers.cannot_import", crs_problems, {"name": path.name})
    assert source is not None
    geoms = _to_wgs84(np.asarray(geoms, dtype=object), source, coords)
    label = _crs_label(source) + ("" if coords == "wgs84" else f" ({coords})")
    rows = np.arange(1, len(frame) + 1, dtype=np.int64)
    return VectorLayer(frame.reset_index(drop=True), geoms, rows, label, chosen, problems)


def _read_ogr(path: Path, kind: str, wanted: str | None
              ) -> tuple[pd.DataFrame, npt.NDArray[np.object_], CRS | None, str | None]:
    target = f"/vsizip/{path}" if path.name.lower().endswith(".zip") else str(path)
    try:
        layers = [(str(n), str(t)) for n, t in pyogrio.list_layers(target)]
    except Exception as exc:  # GDAL reports every unreadable input its own way
        raise ValidationError("layers.unreadable", params={
            "name": path.name, "detail": str(exc).splitlines()[0] if str(exc) else ""}) from exc
    names = [n for n, _ in layers]
    if wanted is not None and wanted not in names:
        raise ValidationError("layers.no_such_layer",
                              params={"name": path.name, "layer": wanted, "layers": names})
    chosen = wanted or _pick_layer(layers, kind)
    if chosen is None:
        raise ValidationError("layers.no_matching_layer", params={
            "name": path.name, "kind": kind, "layers": names})
    try:
        gdf = pyogrio.read_dataframe(target, layer=chosen)
    except Exception as exc:  # GDAL reports every unreadable input its own way
        raise ValidationError("layers.unreadable", params={
            "name": path.name, "detail": str(exc).splitlines()[0] if str(exc) else ""}) from exc
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    return frame, np.asarray(gdf.geometry.values, dtype=object), gdf.crs, chosen


def _pick_layer(layers: list[tuple[str, str]], kind: str) -> str | None:
    """The layer named for ``kind``, else the only layer of its geometry, else the only one."""
    by_lower = {n.lower(): n for n, _ in layers}
    for name in LAYER_NAMES[kind]:
        if name in by_lower:
            return by_lower[name]
    fitting = [n for n, t in layers if any(g in t for g in GEOMETRY[kind])]
    if len(fitting) == 1:
        return fitting[0]
    return layers[0][0] if len(layers) == 1 else None


def _read_wkt_table(path: Path, problems: list[Problem]) -> pd.DataFrame:
    table = read_table(path)
    frame = table.frame
    lower = {str(c).strip().lower(): c for c in frame.columns}
    col = next((lower[c] for c in ("wkt", "geometry", "geom", "the_geom", "几何", "shape")
                if c in lower), None)
    if col is None:
        raise ValidationError("layers.no_wkt_column",
                              params={"name": path.name, "columns": list(frame.columns)})
    text = frame[col].astype(str).str.strip().to_numpy(dtype=object)
    geoms = shapely.from_wkt(np.where(text == "", None, text), on_invalid="ignore")
    bad = (text != "") & shapely.is_missing(geoms)
    problems.extend(Problem("layers.bad_wkt", {"column": str(col)}, row=int(r), field="geometry")
                    for r in np.flatnonzero(bad) + 1)
    out = frame.drop(columns=[col]).copy()
    out["_geom"] = geoms
    return out


def check_geometries(layer: VectorLayer, kind: str) -> npt.NDArray[np.bool_]:
    """Which rows have a usable geometry of the kind's type (others become problems);
    invalid polygons are repaired in place and lines merged to LineStrings."""
    geoms = shapely.force_2d(layer.geoms)
    flagged = np.isin(layer.rows, np.array(
        [p.row for p in layer.problems if p.field == "geometry" and p.row is not None],
        dtype=np.int64))
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    layer.problems.extend(Problem("layers.geometry_missing", row=int(r), field="geometry")
                          for r in layer.rows[missing & ~flagged])
    types = np.array([g.geom_type if g is not None else "" for g in geoms], dtype=object)
    wrong = ~missing & ~np.isin(types, GEOMETRY[kind])
    layer.problems.extend(Problem("layers.geometry_type", {
        "type": str(t), "expected": " / ".join(GEOMETRY[kind])}, row=int(r), field="geometry")
        for r, t in zip(layer.rows[wrong], types[wrong], strict=True))
    ok = ~missing & ~wrong
    if kind == "streets":
        multi = ok & (types == "MultiLineString")
        geoms[multi] = shapely.line_merge(geoms[multi])
        still = multi & (shapely.get_type_id(geoms) != 1)
        geoms[still] = [max(shapely.get_parts(g), key=lambda p: p.length) for g in geoms[still]]
    else:
        invalid = ok & ~shapely.is_valid(geoms)
        geoms[invalid] = shapely.make_valid(geoms[invalid])
        geoms[ok] = [_polygonal(g) for g in geoms[ok]]
        empty = ok & shapely.is_empty(geoms)
        layer.problems.extend(Problem("layers.geometry_degenerate", row=int(r),
                                      field="geometry") for r in layer.rows[empty])
        ok &= ~empty
    layer.geoms = geoms
    return ok


def _polygonal(g: shapely.Geometry) -> shapely.Geometry:
    parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.multipolygons(list(shapely.get_parts(parts))) if parts else shapely.Polygon()


def first_of_list(values: pd.Series) -> pd.Series:
    """OSMnx writes merged attributes as list text (``"['residential', 'service']"``): the
    first item; other values unchanged."""
    def one(v: object) -> object:
        if isinstance(v, str) and v.startswith("[") and v.endswith("]"):
            items = [x.strip().strip("'\"") for x in v[1:-1].split(",")]
            return next((x for x in items if x), None)
        return v
    return values.map(one)


def gdf_of(layer: VectorLayer) -> gpd.GeoDataFrame:
    """The layer as a GeoDataFrame (EPSG:4326)."""
    return gpd.GeoDataFrame(layer.attributes, geometry=list(layer.geoms), crs=4326)
