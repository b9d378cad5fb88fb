"""OpenStreetMap import: streets, buildings, estates, street blocks and facilities.

``import_osm`` reads an ``.osm.pbf`` or ``.osm`` file (:mod:`.read`), matches POIs to the
facility catalogue (:mod:`.facilities`) and writes every table in one savepoint
(:mod:`.write`); :mod:`.report` holds its parameters and report. Rule details in
docs/osm-import.md. Callers write ``from gridmap.imports import osm; osm.import_osm(...)``.
"""

from gridmap.imports.osm.facilities import match_facilities, parse_osm_tags
from gridmap.imports.osm.read import (
    BASE_TAG_KEYS,
    NETWORK_TAG_KEYS,
    SUFFIXES,
    Layer,
    decode_geometries,
    osmconf_text,
    read_osm,
)
from gridmap.imports.osm.report import ATTRIBUTION, OsmImportParams, OsmImportReport
from gridmap.imports.osm.write import import_osm

__all__ = [
    "ATTRIBUTION", "BASE_TAG_KEYS", "NETWORK_TAG_KEYS", "SUFFIXES", "Layer", "OsmImportParams",
    "OsmImportReport", "decode_geometries", "import_osm", "match_facilities", "osmconf_text",
    "parse_osm_tags", "read_osm",
]
