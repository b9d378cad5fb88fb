"""Export a level to GeoPackage or GeoJSON (EPSG:4326) that QGIS opens as is.

Columns are named so that :func:`gridmap.imports.boundaries.import_boundaries` reads the file back
unchanged (``code``, ``name``, ``parent_code``, ``households``, ...): export → import into
an empty database gives the same rows.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError

EXPORT_LEVELS: tuple[str, ...] = (
    "district", "street", "community", "estate", "building", "facility", "grid")
DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON"}

_SQL = {
    "district": """
        SELECT code, name, synthetic, source, source_crs, ST_AsBinary(geom) AS geom
        FROM district ORDER BY code""",
    "street": """
        SELECT s.code, s.name, d.code AS parent_code, s.synthetic, s.source, s.source_crs,
               ST_AsBinary(s.geom) AS geom
        FROM street s JOIN district d ON d.id = s.district_id ORDER BY s.code""",
    "community": """
        SELECT c.code, c.name, s.code AS parent_code, c.synthetic, c.source, c.source_crs,
               ST_AsBinary(c.geom) AS geom
        FROM community c JOIN street s ON s.id = c.street_id ORDER BY c.code""",
    "estate": """
        SELECT e.code, e.name, c.code AS community_code, e.derived_from, e.osm_id, e.synthetic,
               e.source, e.source_crs, ST_AsBinary(e.geom) AS geom
        FROM estate e LEFT JOIN community c ON c.id = e.community_id ORDER BY e.id""",
    "building": """
        SELECT b.code, b.name, e.code AS estate_code, e.name AS estate_name,
               c.code AS community_code, b.building_type, b.residential, b.levels, b.height_m,
               b.footprint_m2,
               -- unknown population stays empty so a re-import keeps it unknown
               CASE WHEN b.population_source = 'none' THEN NULL ELSE b.households END
                 AS households,
               CASE WHEN b.population_source = 'none' THEN NULL ELSE b.residents END
                 AS residents,
               b.population_source, b.osm_id,
               b.synthetic, b.source, ST_AsBinary(b.geom) AS geom
        FROM building b LEFT JOIN estate e ON e.id = b.estate_id
        LEFT JOIN community c ON c.id = b.community_id ORDER BY b.id""",
    "facility": """
        SELECT f.id, f.type_code, t.name_zh AS type_name_zh, t.name_en AS type_name_en,
               t.tier, f.name, f.capacity, f.osm_id, f.synthetic, f.source,
               ST_AsBinary(f.geom) AS geom
        FROM facility f JOIN facility_type t ON t.code = f.type_code ORDER BY f.id""",
    "grid": """
        SELECT g.grid_code AS code, g.name, c.code AS community_code, g.grid_kind,
               coalesce(gg.responsible_party, g.responsible_party) AS responsible_party,
               g.synthetic, v.generation, v.valid_from, ST_AsBinary(gg.geom) AS geom
        FROM grid_geometry gg
        JOIN grid_version v ON v.id = gg.version_id AND v.status = 'active'
        JOIN grid g ON g.id = gg.grid_id JOIN community c ON c.id = g.community_id
        ORDER BY g.grid_code""",
}


def read_level(conn: Connection, level: str) -> gpd.GeoDataFrame:
    """All rows of ``level`` as a GeoDataFrame in EPSG:4326 (grids: the active versions).

    Raises
    ------
    ValidationError
        Unknown level.
    """
    if level not in _SQL:
        raise ValidationError("imports.unknown_level",
                              params={"level": level, "levels": EXPORT_LEVELS})
    result = conn.execute(sa.text(_SQL[level]))
    frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    wkb = [bytes(w) for w in frame.pop("geom")]
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(shapely.from_wkb(wkb)
                                                          if wkb else [], index=frame.index),
                            crs=4326)


def export_level(conn: Connection, level: str, path: str | Path) -> int:
    """Write ``level`` to ``path`` (.gpkg or .geojson by extension); return the row count.

    The file is written next to the target and renamed into place, so a failure never
    leaves a half-written file. The layer is named after the level.

    Raises
    ------
    ValidationError
        Unknown level or unsupported extension.
    """
    path = Path(path)
    driver = DRIVERS.get(path.suffix.lower())
    if driver is None:
        raise ValidationError("imports.unsupported_export_format",
                              params={"suffix": path.suffix or path.name})
    if not path.parent.is_dir():
        raise ValidationError("imports.directory_not_found", params={"path": str(path.parent)})
    gdf = read_level(conn, level)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    os.unlink(tmp_name)  # GDAL creates the file itself
    try:
        kwargs = {"geometry_type": "MultiPolygon"} if len(gdf) == 0 else {}
        pyogrio.write_dataframe(gdf, tmp_name, layer=level, driver=driver, **kwargs)
        os.replace(tmp_name, path)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return len(gdf)
