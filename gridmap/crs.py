"""Coordinate reference systems: metric CRS choice, GCJ-02/BD-09 conversion,
swapped-axis detection and reprojection of input to EPSG:4326.

Rules follow ``reference/crs.md`` §7: store EPSG:4326; measure in a 3° Gauss-Krüger
CRS (China) or UTM (elsewhere) chosen from the data's extent; never convert
GCJ-02/BD-09 silently.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS, Transformer

from gridmap.errors import ValidationError

Floats = npt.NDArray[np.float64]
CoordSystem = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]
COORD_SYSTEMS: tuple[str, ...] = ("wgs84", "cgcs2000", "gcj02", "bd09")

STORAGE_EPSG = 4326

# GCJ-02 constants (reference/crs.md §4) [practice]
_A = 6378245.0
_EE = 0.00669342162296594323
CHINA_BOX = (72.004, 0.8293, 137.8347, 55.8271)  # lon_min, lat_min, lon_max, lat_max
_X_PI = math.pi * 3000.0 / 180.0


def in_china_box(lon: Floats, lat: Floats) -> npt.NDArray[np.bool_]:
    """True where a point lies in the rectangle inside which GCJ-02 offsets apply.

    The rule is the common rectangle of the public implementations; it also covers
    neighbouring countries, which the common algorithm shifts too (reference/crs.md §4).
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon >= CHINA_BOX[0]) & (lon <= CHINA_BOX[2]) & (lat >= CHINA_BOX[1]) & (
        lat <= CHINA_BOX[3]
    )


def in_china(lon: float, lat: float) -> bool:
    """Scalar form of :func:`in_china_box`."""
    return bool(in_china_box(np.array([lon]), np.array([lat]))[0])


def _gcj_delta(lon: Floats, lat: Floats) -> tuple[Floats, Floats]:
    """Offset (dlon, dlat) in degrees to add to WGS84 to get GCJ-02."""
    x = lon - 105.0
    y = lat - 35.0
    pi = math.pi
    t_lat = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    )
    t_lon = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    )
    rad = lat / 180.0 * pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (t_lat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * pi)
    dlon = (t_lon * 180.0) / (_A / sqrt_magic * np.cos(rad) * pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: Floats, lat: Floats) -> tuple[Floats, Floats]:
    """WGS84 → GCJ-02 (vectorised). Points outside the China box are returned unchanged."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlon, dlat = _gcj_delta(lon, lat)
    inside = in_china_box(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def gcj02_to_wgs84(
    lon: Floats, lat: Floats, tol_deg: float = 1e-10, max_iter: int = 20
) -> tuple[Floats, Floats]:
    """GCJ-02 → WGS84 by the iterative inverse (near exact; reference/crs.md §5)."""
    g_lon = np.asarray(lon, dtype=float)
    g_lat = np.asarray(lat, dtype=float)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _ in range(max_iter):
        f_lon, f_lat = wgs84_to_gcj02(w_lon, w_lat)
        step_lon, step_lat = g_lon - f_lon, g_lat - f_lat
        w_lon = w_lon + step_lon
        w_lat = w_lat + step_lat
        if np.all(np.abs(step_lon) < tol_deg) and np.all(np.abs(step_lat) < tol_deg):
            break
    return w_lon, w_lat


def gcj02_to_bd09(lon: Floats, lat: Floats) -> tuple[Floats, Floats]:
    """GCJ-02 → BD-09 (bd09ll)."""
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: Floats, lat: Floats) -> tuple[Floats, Floats]:
    """BD-09 → GCJ-02 (approximate inverse, 0.02–0.15 m round trip)."""
    x = np.asarray(lon, dtype=float) - 0.0065
    y = np.asarray(lat, dtype=float) - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def to_wgs84(lon: Floats, lat: Floats, system: str) -> tuple[Floats, Floats]:
    """Convert lon/lat arrays declared in ``system`` to WGS84.

    Parameters
    ----------
    system:
        ``wgs84`` or ``cgcs2000`` (taken as equal within a metre, reference/crs.md §2),
        ``gcj02`` (iterative inverse) or ``bd09`` (BD→GCJ→WGS; tens of metres accuracy).
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if system in ("wgs84", "cgcs2000"):
        return lon, lat
    if system == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if system == "bd09":
        g_lon, g_lat = bd09_to_gcj02(lon, lat)
        return gcj02_to_wgs84(g_lon, g_lat)
    raise ValidationError("crs.unknown_coordinate_system",
                          params={"system": system, "systems": COORD_SYSTEMS})


def metric_crs(lon_min: float, lat_min: float, lon_max: float, lat_max: float) -> CRS:
    """Projected metric CRS for an extent in lon/lat.

    China (centre inside the GCJ box and east of 73°E): CGCS2000 3° Gauss-Krüger with
    truncated codes EPSG 4534–4554 (CM = 3·round(lon/3)). Elsewhere: WGS84 UTM zone of the
    centre (326zz north, 327zz south). Axis order of the GK CRSs is northing-first, so
    transform with ``always_xy=True``.
    """
    lon = (lon_min + lon_max) / 2.0
    lat = (lat_min + lat_max) / 2.0
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise ValidationError("crs.not_lonlat_extent", params={"lon": lon, "lat": lat})
    if in_china(lon, lat) and 73.5 <= lon <= 136.5 and lat >= 15.0:
        cm = 3 * round(lon / 3.0)
        return CRS.from_epsg(4534 + (cm - 75) // 3)
    zone = int(math.floor((lon + 180.0) / 6.0)) + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def metric_crs_for(geoms_bounds: tuple[float, float, float, float]) -> CRS:
    """:func:`metric_crs` from a ``total_bounds``-style tuple."""
    return metric_crs(*geoms_bounds)


def metric_for(geoms: Any) -> CRS:
    """The metric CRS for the extent of lon/lat geometries (an array or a single one)."""
    return metric_crs(*shapely.total_bounds(np.asarray(geoms, dtype=object)))


@lru_cache(maxsize=64)
def transformer(src: CRS | int | str, dst: CRS | int | str) -> Transformer:
    """The one (cached) x/y-ordered transformer between two CRSs used by gridmap.

    Every reprojection in the library goes through this function (or :func:`to_metric` /
    :func:`from_metric`), so axis order (``always_xy``) is never forgotten.
    """
    return Transformer.from_crs(src, dst, always_xy=True)


def project_xy(x: Floats, y: Floats, src: CRS | int, dst: CRS | int) -> tuple[Floats, Floats]:
    """Coordinate arrays from ``src`` to ``dst`` (x/y = lon/lat order for EPSG:4326)."""
    out = transformer(src, dst).transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(out[0], dtype=float), np.asarray(out[1], dtype=float)


def _reproject(geoms: Any, src: CRS | int, dst: CRS | int) -> npt.NDArray[np.object_]:
    arr = np.asarray(geoms, dtype=object)
    if arr.size == 0:
        return arr
    tr = transformer(src, dst)
    return np.asarray(shapely.transform(
        arr, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))), dtype=object)


def to_metric(geoms: Any, metric: CRS | int) -> npt.NDArray[np.object_]:
    """Lon/lat (EPSG:4326) geometries → ``metric`` (vectorised; one transformer)."""
    return _reproject(geoms, STORAGE_EPSG, metric)


def from_metric(geoms: Any, metric: CRS | int) -> npt.NDArray[np.object_]:
    """``metric`` geometries → lon/lat (EPSG:4326)."""
    return _reproject(geoms, metric, STORAGE_EPSG)


def looks_swapped(lon: Floats, lat: Floats) -> npt.NDArray[np.bool_]:
    """True where a (lon, lat) pair looks like (lat, lon).

    |lat| > 90 with |lon| ≤ 90 is always swapped; for Chinese data a "lat" in 73–135 with a
    "lon" in 18–54 is almost certainly swapped (reference/crs.md §7.3).
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    impossible = (np.abs(lat) > 90.0) & (np.abs(lon) <= 90.0)
    chinese = (lat >= 73.0) & (lat <= 135.0) & (lon >= 18.0) & (lon <= 54.0)
    return impossible | chinese


def looks_swapped_for_region(
    lon: Floats, lat: Floats, region: tuple[float, float, float, float]
) -> npt.NDArray[np.bool_]:
    """True where the pair lies outside ``region`` but its swap lies inside.

    Catches swaps anywhere in the world once the expected region is known
    (e.g. NYC data given as (40.7, -74.0)).
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    x0, y0, x1, y1 = region
    inside = (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
    swapped_inside = (lat >= x0) & (lat <= x1) & (lon >= y0) & (lon <= y1)
    return (~inside & swapped_inside) | looks_swapped(lon, lat)
