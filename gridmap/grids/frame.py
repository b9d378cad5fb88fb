"""A community's frame: its boundary and metric CRS, and the geometry I/O of grid versions.

Grid geometry is stored in EPSG:4326 and measured in the metric CRS of the community
(:func:`gridmap.crs.metric_crs`); every reprojection goes through :mod:`gridmap.crs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
import sqlalchemy as sa
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy.engine import Connection

from gridmap.crs import STORAGE_EPSG, from_metric, metric_crs, project_xy, to_metric
from gridmap.errors import NotFound
from gridmap.grids.geometry import polygonal, repaired

GeomArray = npt.NDArray[np.object_]


def _one_or_many(out: GeomArray) -> Any:
    return out.item() if out.ndim == 0 else out


@dataclass
class Frame:
    """A community's boundary (EPSG:4326) and its metric CRS (an EPSG code)."""

    community_id: int
    code: str
    name: str
    geom: BaseGeometry
    epsg: int

    def to_m(self, g: Any) -> Any:
        """Lon/lat geometry (or array of them) → the community's metric CRS."""
        return _one_or_many(to_metric(g, self.epsg))

    def to_ll(self, g: Any) -> Any:
        """Metric geometry (or array of them) → lon/lat."""
        return _one_or_many(from_metric(g, self.epsg))

    def lonlat(self, x: float, y: float) -> tuple[float, float]:
        """A metric point as (lon, lat)."""
        lon, lat = project_xy(np.array([x]), np.array([y]), self.epsg, STORAGE_EPSG)
        return float(lon[0]), float(lat[0])


def load_frame(conn: Connection, community_id: int) -> Frame:
    """The frame of a community (raises :class:`NotFound`)."""
    row = conn.execute(
        sa.text("SELECT code, name, ST_AsBinary(geom) FROM community WHERE id = :id"),
        {"id": community_id},
    ).first()
    if row is None:
        raise NotFound("grids.community_not_found", {"community": community_id})
    geom = shapely.from_wkb(bytes(row[2]))
    return Frame(community_id, row[0], row[1], geom, metric_crs(*geom.bounds).to_epsg() or 0)


def valid_ll(fr: Frame, geoms_m: GeomArray) -> GeomArray:
    """Metric polygons → EPSG:4326, repaired where the projection made them invalid."""
    ll = np.asarray(fr.to_ll(geoms_m), dtype=object)
    bad = ~shapely.is_valid(ll)
    if bad.any():
        ll[bad] = [polygonal(shapely.make_valid(g)) for g in ll[bad]]
    return ll


def wkb(g: BaseGeometry) -> bytes:
    """Well-known binary of a geometry (for ``ST_GeomFromWKB``)."""
    return bytes(shapely.to_wkb(g))


def geojson(g: BaseGeometry) -> dict[str, Any]:
    """A geometry as a GeoJSON mapping."""
    return dict(mapping(g))


def version_geoms(conn: Connection, fr: Frame, version_id: int
                  ) -> tuple[list[int], list[BaseGeometry], list[str | None]]:
    """Grid ids, metric geometries (repaired if projection broke them) and the database's
    invalidity reason (``None`` when valid) of every grid of a version."""
    rows = conn.execute(sa.text(
        "SELECT grid_id, ST_AsBinary(geom),"
        " CASE WHEN ST_IsValid(geom) THEN NULL ELSE ST_IsValidReason(geom) END"
        " FROM grid_geometry WHERE version_id = :v ORDER BY grid_id"), {"v": version_id}).all()
    ids = [int(r[0]) for r in rows]
    geoms = list(fr.to_m(shapely.from_wkb([bytes(r[1]) for r in rows]))) if rows else []
    return ids, [repaired(g) for g in geoms], [r[2] for r in rows]
