"""Water and green areas of the basemap (issue #16): OSM polygons → ``landcover``, rivers
and canals → ``waterway``.

Only context for the basemap (:mod:`gridmap.basemap.tiles`); nothing is measured from
them. Classes (``landcover.kind``), first matching rule wins:

========= ==============================================================================
kind      OSM tags
========= ==============================================================================
water     ``natural=water``, ``waterway=riverbank|dock``, ``landuse=reservoir|basin``,
          ``water=*``
park      ``leisure=park|garden|nature_reserve``, ``landuse=recreation_ground``
wood      ``landuse=forest``, ``natural=wood``
grass     ``landuse=grass|meadow|village_green|greenfield|cemetery``,
          ``natural=grassland|scrub|heath``, ``leisure=pitch|golf_course``
========= ==============================================================================

Waterway lines: ``waterway=river|canal|stream|drain|ditch`` (``waterway.kind``). Names:
``name:zh``, else ``name``. Rows whose
OSM id is stored are skipped, or updated in place with ``update_existing``. © OpenStreetMap
contributors (ODbL), like every OSM table.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.imports.osm.read import Layer
from gridmap.imports.osm.report import OsmImportParams, OsmImportReport
from gridmap.imports.osm.rows import ewkb, str_or_none, sync_existing

TAG_KEYS: tuple[str, ...] = ("natural", "waterway", "water", "landuse", "leisure")
"""OSM keys this module reads (all in :data:`~gridmap.imports.osm.read.BASE_TAG_KEYS`)."""

AREA_RULES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("water", "natural", ("water",)),
    ("water", "waterway", ("riverbank", "dock")),
    ("water", "landuse", ("reservoir", "basin")),
    ("park", "leisure", ("park", "garden", "nature_reserve")),
    ("park", "landuse", ("recreation_ground",)),
    ("wood", "landuse", ("forest",)),
    ("wood", "natural", ("wood",)),
    ("grass", "landuse", ("grass", "meadow", "village_green", "greenfield", "cemetery")),
    ("grass", "natural", ("grassland", "scrub", "heath")),
    ("grass", "leisure", ("pitch", "golf_course")),
)
WATERWAY_KINDS: tuple[str, ...] = ("river", "canal", "stream", "drain", "ditch")


def _col(tags: pd.DataFrame, key: str) -> pd.Series:
    return tags[key] if key in tags else pd.Series([None] * len(tags), index=tags.index)


def zh_first_name(tags: pd.DataFrame) -> list[str | None]:
    """``name:zh``, else ``name``, of each row (labels are Chinese where OSM has it)."""
    zh = _col(tags, "name:zh")
    return str_or_none(zh.where(zh.notna(), _col(tags, "name")))


def area_kinds(tags: pd.DataFrame) -> npt.NDArray[np.object_]:
    """The landcover kind of each polygon (None where it is none), one vectorised pass per
    rule (:data:`AREA_RULES`; ``water=*`` alone also counts as water)."""
    kinds = np.full(len(tags), None, dtype=object)
    for kind, key, values in AREA_RULES:
        hit = _col(tags, key).isin(values).to_numpy(dtype=bool) & (kinds == None)  # noqa: E711
        kinds[hit] = kind
    water_any = _col(tags, "water").notna().to_numpy(dtype=bool) & (kinds == None)  # noqa: E711
    kinds[water_any] = "water"
    return kinds


_AREAS = ("unnest(CAST(:ids AS text[]), CAST(:kinds AS text[]), CAST(:names AS text[]), "
          "CAST(:wkbs AS bytea[])) AS n(osm_id, kind, name, wkb)")
_DIFFERS = ("t.kind IS DISTINCT FROM n.kind OR t.name IS DISTINCT FROM n.name "
            "OR ST_AsEWKB(t.geom) <> ST_AsEWKB({g})")
_ASSIGN = "kind = n.kind, name = n.name, geom = {g}, import_id = :import_id"
_INSERT = """
INSERT INTO {table} (osm_id, kind, name, source, import_id, geom)
SELECT n.osm_id, n.kind, n.name, :source, :import_id, {g}
FROM {src} WHERE NOT EXISTS (SELECT 1 FROM {table} o WHERE o.osm_id = n.osm_id)
"""


def _store(conn: Connection, table: str, geom_sql: str, binds: dict[str, object],
           params: OsmImportParams, report: OsmImportReport) -> None:
    """Write one table set-based: changed stored rows counted/updated, new rows inserted."""
    sync_existing(conn, table, _AREAS, "t.osm_id = n.osm_id", _DIFFERS.format(g=geom_sql),
                  _ASSIGN.format(g=geom_sql), binds, params.update_existing, report)
    n = conn.execute(sa.text(_INSERT.format(table=table, g=geom_sql, src=_AREAS)),
                     binds).rowcount
    report.inserted[table] = int(n or 0)
    report.skipped_existing[table] = len(binds["ids"]) - int(n or 0)  # type: ignore[arg-type]


def write_landcover(conn: Connection, polys: Layer, lines: Layer, params: OsmImportParams,
                    report: OsmImportReport) -> None:
    """Water and green polygons → ``landcover``; waterway lines → ``waterway``."""
    base = {"source": f"osm:{report.source}", "import_id": report.import_id}
    kinds = area_kinds(polys.tags)
    amask = kinds != None  # noqa: E711
    _store(conn, "landcover", "ST_Multi(ST_GeomFromEWKB(n.wkb))", {
        **base, "ids": list(polys.osm_ids[amask]), "kinds": str_or_none(kinds[amask]),
        "names": zh_first_name(polys.tags[amask]), "wkbs": ewkb(polys.geoms[amask])},
        params, report)
    ww = _col(lines.tags, "waterway")
    wmask = ww.isin(WATERWAY_KINDS).to_numpy(dtype=bool, copy=True)
    wmask &= np.array([g.geom_type == "LineString" for g in lines.geoms], dtype=bool)
    _store(conn, "waterway", "ST_GeomFromEWKB(n.wkb)", {
        **base, "ids": list(lines.osm_ids[wmask]), "kinds": str_or_none(ww[wmask]),
        "names": zh_first_name(lines.tags[wmask]), "wkbs": ewkb(lines.geoms[wmask])},
        params, report)
