"""Reading an OSM extract: one column per tag key, decoded and repaired geometries.

GDAL's OSM driver (pyogrio) reads ``.osm.pbf`` and ``.osm`` files with a generated
``osmconf.ini`` that turns every tag gridmap needs into a column (the fixed keys below
plus every key of the facility catalogue's ``osm_tags``). Geometries GDAL cannot decode
(rings clipped at the extract edge) are dropped, invalid ones repaired with
``make_valid``; both are listed with their OSM ids.
"""

from __future__ import annotations

import os
import re
import tempfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyogrio
import shapely

from gridmap.errors import InputTooLarge, Problem, ValidationError
from gridmap.imports.geometry import POLYGONAL, REPAIRED, ROW_COL, repair_geometries

Geoms = npt.NDArray[np.object_]
_ALLOWED: dict[str, tuple[str, ...]] = {
    "points": ("Point",), "lines": ("LineString",), "multipolygons": POLYGONAL,
}

NETWORK_TAG_KEYS: tuple[str, ...] = (
    "foot", "sidewalk", "access", "service", "bridge", "tunnel", "layer", "area", "motorroad",
    "junction", "oneway", "footway", "cycleway", "crossing", "bicycle", "surface", "level",
    "indoor", "name:zh", "name:en", "ref",
)
"""Tags kept in ``osm_line.tags`` for the walking network."""

BASE_TAG_KEYS: tuple[str, ...] = (
    "name", "name:zh", "name:en", "highway", "building", "building:levels", "height",
    "amenity", "shop", "leisure", "healthcare", "social_facility", "social_facility:for",
    "isced:level", "railway", "station", "subway", "public_transport", "bus", "office",
    "landuse", "residential", "place", "recycling_type", "entrance", "barrier", "addr:street",
    "addr:housenumber", "natural", "waterway", "water", "capacity", "beds", *NETWORK_TAG_KEYS,
)

_CLOSED_WAYS_ARE_POLYGONS = (
    "aeroway,amenity,boundary,building,craft,geological,historic,landuse,leisure,military,"
    "natural,office,place,shop,sport,tourism,highway=platform,public_transport=platform,"
    "waterway=riverbank,waterway=dock"
)
SUFFIXES = (".osm.pbf", ".pbf", ".osm")
"""Usual names; files are recognised by their content (:func:`sniff_osm`), not by these."""
_UNDECODABLE = {
    "points": "point without usable coordinates",
    "lines": "line with fewer than two usable nodes (nodes outside the extract?)",
    "multipolygons": "undecodable polygon (ring too short or not closed, clipped at the "
                     "extract edge?)",
}
_DEGENERATE = {
    "points": "empty point",
    "lines": "degenerate line (no length after repair)",
    "multipolygons": "degenerate polygon (no area left after repair)",
}


def check_file(path: Path, max_bytes: int | None) -> None:
    """Refuse a missing, empty, wrongly named or too large OSM file (nothing read yet).

    Raises
    ------
    ValidationError
        Missing, empty or wrongly named file.
    InputTooLarge
        File over ``max_bytes``.
    """
    problems: list[Problem] = []
    if not path.is_file():
        raise ValidationError("imports.osm_file_not_found", params={"path": str(path)})
    size = path.stat().st_size
    if size and sniff_osm(path) is None:
        problems.append(Problem("layers.osm_not_osm", {"name": path.name}, field="file"))
    if size == 0:
        problems.append(Problem("imports.osm_file_empty", {"name": path.name}, field="file"))
    if max_bytes is not None and size > max_bytes:
        raise InputTooLarge("imports.osm_file_too_large",
                            params={"name": path.name, "size": size, "limit": max_bytes})
    if problems:
        raise ValidationError("imports.osm_cannot_import", problems)


def sniff_osm(path: Path) -> str | None:
    """``"pbf"`` or ``"xml"`` when the file's first bytes are those of an OSM PBF (an
    ``OSMHeader`` blob) or OSM XML (an ``<osm`` root element), whatever its name; else None."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if b"OSMHeader" in head[:64]:
        return "pbf"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<") and re.search(rb"<osm[\s>]", text):
        return "xml"
    return None


def osmconf_text(keys: Iterable[str]) -> str:
    """An ``osmconf.ini`` for GDAL's OSM driver with one column per tag key in ``keys``."""
    attrs = ",".join(dict.fromkeys(keys))
    section = (
        "osm_id=yes\nosm_version=no\nosm_timestamp=no\nosm_uid=no\nosm_user=no\n"
        "osm_changeset=no\nother_tags=no\nall_tags=no\n"
        f"attributes={attrs}\n"
        "ignore=created_by,converted_by,source,time,ele,note,todo,openGeoDB:,fixme,FIXME\n"
    )
    parts = [f"closed_ways_are_polygons={_CLOSED_WAYS_ARE_POLYGONS}\n"]
    for layer in ("points", "lines", "multipolygons", "multilinestrings", "other_relations"):
        parts.append(f"[{layer}]\n{section}")
    return "\n".join(parts)


@dataclass
class Layer:
    """One OSM layer: tag columns (by OSM key), decoded geometries, OSM ids."""

    tags: pd.DataFrame
    geoms: Geoms
    osm_ids: npt.NDArray[np.object_]
    rows_read: int = -1
    """Features of the layer in the file, before dropping undecodable ones (-1: unknown)."""


def _read_layer(path: Path, layer: str, conf: str, keys: list[str]) -> tuple[pd.DataFrame,
                                                                             npt.NDArray[Any]]:
    with warnings.catch_warnings():
        # GDAL warns about unclosed rings at the clip edge; they are reported per feature.
        warnings.simplefilter("ignore", RuntimeWarning)
        meta, _fids, wkb, fields = pyogrio.raw.read(str(path), layer=layer, CONFIG_FILE=conf)
    by_col = {name: values for name, values in zip(meta["fields"], fields, strict=True)}
    n = len(wkb) if wkb is not None else 0
    data: dict[str, Any] = {}
    for key in keys:
        col = key.replace(":", "_")
        values = by_col.get(col)
        data[key] = np.asarray(values, dtype=object) if values is not None else np.full(
            n, None, dtype=object)
    frame = pd.DataFrame(data)
    if layer == "multipolygons":
        rel = by_col.get("osm_id", [None] * n)
        way = by_col.get("osm_way_id", [None] * n)
        ids = np.array([f"way/{w}" if w is not None else f"relation/{r}"
                        for w, r in zip(way, rel, strict=True)], dtype=object)
    else:
        prefix = "node/" if layer == "points" else "way/"
        ids = np.array([f"{prefix}{i}" for i in by_col["osm_id"]], dtype=object)
    frame["_osm_id"] = ids
    return frame, (wkb if wkb is not None else np.array([], dtype=object))


def decode_geometries(
    wkb: npt.NDArray[Any], osm_ids: npt.NDArray[np.object_], layer: str
) -> tuple[Geoms, list[dict[str, str]], list[dict[str, str]]]:
    """Decode WKB from GDAL, repairing invalid geometries and dropping unusable ones.

    Undecodable WKB (rings GDAL could not close, typically clipped at the extract edge)
    is dropped here; the rest goes through :func:`gridmap.imports.geometry.repair_geometries`
    (``make_valid``; degenerate results dropped).

    Returns
    -------
    geoms, repaired, dropped
        ``geoms`` has None where a feature was dropped; ``repaired``/``dropped`` list
        ``{"osm_id", "layer", "reason"}``.
    """
    n = len(wkb)
    decoded = np.asarray(shapely.from_wkb(wkb, on_invalid="ignore"), dtype=object)
    missing = shapely.is_missing(decoded) if n else np.zeros(0, dtype=bool)
    repaired: list[dict[str, str]] = []
    dropped: list[dict[str, str]] = [
        {"osm_id": str(osm_ids[i]), "layer": layer, "reason": _UNDECODABLE[layer]}
        for i in np.flatnonzero(missing)
    ]
    out = np.full(n, None, dtype=object)
    present = np.flatnonzero(~missing)
    if len(present) == 0:
        return out, repaired, dropped
    gdf = gpd.GeoDataFrame({ROW_COL: present + 1}, geometry=list(decoded[present]), crs=4326)
    fixed, problems = repair_geometries(gdf, allowed_types=_ALLOWED[layer])
    for p in problems:
        reason = (_DEGENERATE[layer] if p.code == "imports.geometry_degenerate"
                  else p.reason)
        item = {"osm_id": str(osm_ids[(p.row or 1) - 1]), "layer": layer, "reason": reason}
        (repaired if p.code == REPAIRED else dropped).append(item)
    rows = np.asarray(fixed[ROW_COL], dtype=np.int64) - 1
    out[rows] = np.asarray(fixed.geometry.values, dtype=object)
    if layer == "lines":
        bad = np.flatnonzero(~shapely.is_missing(out) & (shapely.get_type_id(out) != 1))
        for i in bad:
            dropped.append({"osm_id": str(osm_ids[i]), "layer": layer,
                            "reason": "degenerate line (no length after repair)"})
            out[i] = None
            repaired[:] = [r for r in repaired if r["osm_id"] != str(osm_ids[i])]
    return out, repaired, dropped


def read_osm(path: Path, keys: list[str]) -> tuple[dict[str, Layer], list[dict[str, str]],
                                                   list[dict[str, str]]]:
    """Read points, lines and multipolygons of an OSM file with one column per key."""
    layers: dict[str, Layer] = {}
    repaired: list[dict[str, str]] = []
    dropped: list[dict[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="gridmap-osm-") as tmp:
        conf = os.path.join(tmp, "osmconf.ini")
        with open(conf, "w", encoding="utf-8") as fh:
            fh.write(osmconf_text(keys))
        for layer in ("points", "lines", "multipolygons"):
            frame, wkb = _read_layer(path, layer, conf, keys)
            geoms, rep, drop = decode_geometries(wkb, frame["_osm_id"].to_numpy(), layer)
            repaired += rep
            dropped += drop
            keep = np.array([g is not None for g in geoms], dtype=bool)
            layers[layer] = Layer(frame[keep].reset_index(drop=True), geoms[keep],
                                  frame["_osm_id"].to_numpy()[keep], rows_read=len(frame))
    return layers, repaired, dropped
