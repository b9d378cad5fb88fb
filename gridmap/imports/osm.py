"""OpenStreetMap import: streets, buildings, estates, street blocks and facilities.

``import_osm`` reads an ``.osm.pbf`` or ``.osm`` file with GDAL's OSM driver (pyogrio),
with a generated ``osmconf.ini`` that turns every tag gridmap needs into a column (the fixed
keys below plus every key of the facility catalogue's ``osm_tags``). Then, in one savepoint:

- ``highway=*`` lines → ``osm_line`` (with the tags the walking network needs);
- ``building=*`` polygons → ``building`` with footprint, levels and, for residential
  buildings, an estimated population (:mod:`gridmap.population`);
- ``landuse=residential`` polygons and named residential areas → ``estate``;
- blocks enclosed by roads → ``street_block`` (:mod:`gridmap.blocks`); blocks holding
  residential buildings outside every estate become estates (``derived_from='street_block'``);
- POIs (points and polygons) → ``facility`` via the catalogue (reference/facility_catalogue.csv,
  rule in docs/osm-import.md);
- buildings are linked to estates and communities set-based (point-on-surface).

Geometries GDAL cannot decode (rings clipped at the extract edge) are dropped, invalid ones
repaired with ``make_valid``; both are listed in the report with their OSM ids.
Re-importing the same file adds nothing: rows whose OSM id is already stored are skipped, and
those whose tags or geometry changed since are counted, or updated in place with
``update_existing`` (``--update``; docs/osm-import.md).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyogrio
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import crs
from gridmap.errors import InputTooLarge, Problem, ValidationError
from gridmap.imports import blocks as blocks_mod
from gridmap.imports import population
from gridmap.imports.blocks import BlockParams
from gridmap.imports.boundaries import POLYGONAL, ROW_COL, Progress, repair_geometries
from gridmap.imports.linking import link_buildings_to_estates, link_to_communities
from gridmap.imports.population import PopulationParams

Geoms = npt.NDArray[np.object_]
Mask = npt.NDArray[np.bool_]
ProgressFn = Progress
"""``progress(stage, rows_done, rows_total_or_None)`` (:class:`gridmap.ingest.Progress`)."""
_ALLOWED: dict[str, tuple[str, ...]] = {
    "points": ("Point",), "lines": ("LineString",), "multipolygons": POLYGONAL,
}

ATTRIBUTION = "Data © OpenStreetMap contributors, ODbL 1.0 (https://www.openstreetmap.org/copyright)"

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
    "landuse", "residential", "place", "recycling_type", *NETWORK_TAG_KEYS,
)

_CLOSED_WAYS_ARE_POLYGONS = (
    "aeroway,amenity,boundary,building,craft,geological,historic,landuse,leisure,military,"
    "natural,office,place,shop,sport,tourism,highway=platform,public_transport=platform"
)
SUFFIXES = (".osm.pbf", ".pbf", ".osm")


@dataclass(frozen=True)
class OsmImportParams:
    """Parameters of an OSM import (defaults from Settings where they exist).

    Attributes
    ----------
    population:
        Factors of the resident estimate.
    blocks:
        How street blocks are derived.
    unknown_school_level_counts_both:
        ``amenity=school`` without ``isced:level`` counts as both primary and junior school.
    name_required_types:
        Facility types whose OSM tags are too generic (a restaurant is not a community
        canteen): a POI counts for them only when its name matches the type's name_hint.
    max_named_area_m2:
        ``place=neighbourhood|quarter`` polygons larger than this are not taken as estates.
    max_file_bytes:
        Larger files are refused (None = no limit).
    actor:
        Recorded in ``import_run.actor``.
    """

    population: PopulationParams = field(default_factory=PopulationParams)
    blocks: BlockParams = field(default_factory=BlockParams)
    unknown_school_level_counts_both: bool = True
    name_required_types: frozenset[str] = frozenset({"community_canteen"})
    max_named_area_m2: float = 500_000.0
    max_file_bytes: int | None = None
    actor: str | None = None
    update_existing: bool = False
    """Objects already stored (same OSM id) whose tags or geometry changed are updated in
    place (ids kept, so incidents and grid members keep pointing at them); otherwise they are
    left alone and only counted as ``changed_existing``."""

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> OsmImportParams:
        """Parameters from a :class:`~gridmap.config.Settings` plus explicit overrides."""
        values: dict[str, Any] = {
            "population": PopulationParams.from_settings(settings),
            "unknown_school_level_counts_both": bool(
                getattr(settings, "osm_unknown_school_level_counts_both", True)
            ),
            "max_file_bytes": getattr(settings, "max_osm_bytes", None),
        }
        values.update(overrides)
        return cls(**values)


@dataclass
class OsmImportReport:
    """What an OSM import read, wrote, repaired and dropped."""

    source: str
    dry_run: bool
    import_id: int | None = None
    read: dict[str, int] = field(default_factory=dict)
    inserted: dict[str, int] = field(default_factory=dict)
    skipped_existing: dict[str, int] = field(default_factory=dict)
    changed_existing: dict[str, int] = field(default_factory=dict)
    """Stored objects whose OSM tags or geometry differ from this file."""
    updated: dict[str, int] = field(default_factory=dict)
    """Of those, updated in place (``update_existing``)."""
    repaired: list[dict[str, str]] = field(default_factory=list)
    dropped: list[dict[str, str]] = field(default_factory=list)
    facilities_by_type: dict[str, int] = field(default_factory=dict)
    estates_by_origin: dict[str, int] = field(default_factory=dict)
    estimated_buildings: int = 0
    estimated_residents: int = 0
    estimated_households: int = 0
    residential_without_estate: int = 0
    metric_crs: str = ""
    notes: list[str] = field(default_factory=list)
    attribution: str = ATTRIBUTION
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (stored in ``import_run.report``)."""
        return asdict(self)

    def lines(self) -> list[str]:
        """Human-readable summary, one fact per line."""
        out = [f"OSM import of {self.source}" + (" (dry run: nothing written)" if self.dry_run
                                                 else f" (import run {self.import_id})")]
        out.append("read: " + ", ".join(f"{k} {v}" for k, v in self.read.items()))
        out.append(("would insert: " if self.dry_run else "inserted: ") + ", ".join(f"{k} {v}" for k, v in self.inserted.items()))
        if any(self.skipped_existing.values()):
            out.append("already present (skipped): " + ", ".join(
                f"{k} {v}" for k, v in self.skipped_existing.items() if v))
        if any(self.updated.values()):
            out.append("updated in place: " + ", ".join(
                f"{k} {v}" for k, v in self.updated.items() if v)
                + " (then run `gridmap network build` and `gridmap coverage refresh`)")
        elif any(self.changed_existing.values()):
            out.append("changed since the stored version (left alone; --update applies them): "
                       + ", ".join(f"{k} {v}" for k, v in self.changed_existing.items() if v))
        out.append(f"repaired geometries: {len(self.repaired)}"
                   + _ids_suffix(self.repaired))
        out.append(f"dropped geometries: {len(self.dropped)}" + _ids_suffix(self.dropped))
        out.append(f"estimated population: {self.estimated_buildings} residential buildings, "
                   f"{self.estimated_residents} residents, {self.estimated_households} households"
                   " (population_source=estimated)")
        if self.estates_by_origin:
            out.append("estates by origin: " + ", ".join(
                f"{k} {v}" for k, v in self.estates_by_origin.items()))
        if self.facilities_by_type:
            out.append("facilities by type: " + ", ".join(
                f"{k} {v}" for k, v in sorted(self.facilities_by_type.items())))
        out.extend(f"note: {n}" for n in self.notes)
        out.append(self.attribution)
        return out


def _ids_suffix(items: list[dict[str, str]], limit: int = 8) -> str:
    if not items:
        return ""
    ids = [f"{i['osm_id']} ({i['reason']})" for i in items[:limit]]
    more = f", +{len(items) - limit} more" if len(items) > limit else ""
    return ": " + "; ".join(ids) + more


# --------------------------------------------------------------------------- reading


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
    is dropped here; the rest goes through :func:`gridmap.ingest.repair_geometries`
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
        {"osm_id": str(osm_ids[i]), "layer": layer,
         "reason": "undecodable geometry (ring too short, clipped at the extract edge?)"}
        for i in np.flatnonzero(missing)
    ]
    out = np.full(n, None, dtype=object)
    present = np.flatnonzero(~missing)
    if len(present) == 0:
        return out, repaired, dropped
    gdf = gpd.GeoDataFrame({ROW_COL: present + 1}, geometry=list(decoded[present]), crs=4326)
    fixed, problems = repair_geometries(gdf, allowed_types=_ALLOWED[layer])
    for p in problems:
        item = {"osm_id": str(osm_ids[(p.row or 1) - 1]), "layer": layer, "reason": p.reason}
        (repaired if "repaired" in p.reason else dropped).append(item)
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
                                  frame["_osm_id"].to_numpy()[keep])
    return layers, repaired, dropped


# --------------------------------------------------------------------------- facilities


def parse_osm_tags(spec: str | None) -> list[list[tuple[str, str]]]:
    """``"a=b;c=d|e=f"`` → ``[[("a","b"),("c","d")],[("e","f")]]`` (| alternatives, ; all)."""
    if not spec:
        return []
    out = []
    for alt in spec.split("|"):
        conds = []
        for cond in alt.split(";"):
            if "=" in cond:
                k, v = cond.split("=", 1)
                conds.append((k.strip(), v.strip()))
        if conds:
            out.append(conds)
    return out


def _tag_equals(values: pd.Series, value: str) -> Mask:
    """Tag equals ``value``, or contains it as one of a ``;``-separated multi-value."""
    s = values.astype("string")
    exact = (s == value).fillna(False).to_numpy(dtype=bool)
    multi = s.str.contains(";", regex=False).fillna(False).to_numpy(dtype=bool)
    if multi.any():
        parts = s[multi].str.split(";").map(lambda xs: value in [x.strip() for x in xs])
        exact[np.flatnonzero(multi)] |= parts.to_numpy(dtype=bool)
    return exact


def match_facilities(
    tags: pd.DataFrame, types: list[dict[str, Any]], *, unknown_school_level_counts_both: bool,
    name_required_types: frozenset[str],
) -> dict[str, Mask]:
    """Which rows of ``tags`` count as which facility type (vectorised).

    Rule (docs/osm-import.md): a POI is a candidate for a type when one ``|`` alternative of
    the type's ``osm_tags`` matches (all ``;`` conditions hold). If the POI's name matches the
    ``name_hint`` of at least one candidate type, it counts only for those; otherwise it counts
    for every candidate except the ``name_required_types``. ``amenity=school`` without
    ``isced:level`` satisfies any ``isced:level`` condition when
    ``unknown_school_level_counts_both``.
    """
    n = len(tags)
    empty = pd.Series([None] * n, dtype=object)
    name = pd.Series("", index=tags.index, dtype="string")
    for key in ("name", "name:zh", "name:en"):
        if key in tags:
            name = name + " " + tags[key].astype("string").fillna("")
    school_unknown = np.zeros(n, dtype=bool)
    if unknown_school_level_counts_both and "amenity" in tags:
        isced = tags["isced:level"] if "isced:level" in tags else empty
        school_unknown = _tag_equals(tags["amenity"], "school") & isced.isna().to_numpy()
    candidate: dict[str, Mask] = {}
    hinted: dict[str, Mask] = {}
    for t in types:
        mask = np.zeros(n, dtype=bool)
        for alt in parse_osm_tags(t.get("osm_tags")):
            m = np.ones(n, dtype=bool)
            for key, value in alt:
                col = tags[key] if key in tags else empty
                cond = _tag_equals(col, value)
                if key == "isced:level":
                    cond = cond | school_unknown
                m &= cond
            mask |= m
        code = str(t["code"])
        candidate[code] = mask
        hint = t.get("name_hint")
        if hint:
            hits = name.str.contains(str(hint), regex=True, flags=re.IGNORECASE)
            hinted[code] = mask & hits.fillna(False).to_numpy(dtype=bool)
        else:
            hinted[code] = np.zeros(n, dtype=bool)
    any_hint = np.zeros(n, dtype=bool)
    for m in hinted.values():
        any_hint |= m
    result: dict[str, Mask] = {}
    for code, mask in candidate.items():
        plain = mask if code not in name_required_types else np.zeros(n, dtype=bool)
        result[code] = np.where(any_hint, hinted[code], plain)
    return result


# --------------------------------------------------------------------------- import


def _check_file(path: Path, params: OsmImportParams) -> None:
    problems: list[Problem] = []
    name = path.name.lower()
    if not path.exists():
        raise ValidationError(f"OSM file {path} does not exist")
    if not name.endswith(SUFFIXES):
        problems.append(Problem(f"{path.name}: expected a .osm.pbf or .osm file", field="file"))
    size = path.stat().st_size
    if size == 0:
        problems.append(Problem(f"{path.name} is empty", field="file"))
    if params.max_file_bytes is not None and size > params.max_file_bytes:
        raise InputTooLarge(
            f"{path.name} is {size} bytes, over the limit of {params.max_file_bytes} bytes")
    if problems:
        raise ValidationError("cannot import OSM file", problems)


def _str_or_none(values: Iterable[Any]) -> list[str | None]:
    return [None if (v is None or (isinstance(v, float) and np.isnan(v))) else str(v)
            for v in values]


def _ewkb(geoms: Geoms) -> list[bytes]:
    return list(shapely.to_wkb(shapely.set_srid(np.asarray(geoms, dtype=object), 4326),
                               include_srid=True))


def _first_name(tags: pd.DataFrame) -> list[str | None]:
    name = tags["name"].where(tags["name"].notna(), tags["name:zh"])
    return _str_or_none(name)


def _progress(progress: ProgressFn | None, stage: str, done: int, total: int | None = None
              ) -> None:
    if progress is not None:
        progress(stage, done, total)


def import_osm(
    conn: Connection, path: str | Path, *, params: OsmImportParams | None = None,
    dry_run: bool = False, progress: ProgressFn | None = None,
) -> OsmImportReport:
    """Import an OSM extract (``.osm.pbf`` or ``.osm``) in one savepoint.

    Parameters
    ----------
    conn:
        Connection; the caller commits.
    path:
        The OSM file.
    params:
        See :class:`OsmImportParams` (defaults if None).
    dry_run:
        Do everything, report, then roll the savepoint back: nothing is written.
    progress:
        Optional ``progress(stage, rows_done, rows_total)`` callback.

    Returns
    -------
    OsmImportReport

    Raises
    ------
    ValidationError
        Missing, empty, unreadable or wrongly named file (nothing written).
    InputTooLarge
        File over ``params.max_file_bytes``.
    """
    params = params or OsmImportParams()
    path = Path(path)
    started = time.monotonic()
    _check_file(path, params)
    types = [dict(r) for r in conn.execute(sa.text(
        "SELECT code, osm_tags, name_hint FROM facility_type ORDER BY code")).mappings()]
    keys = list(BASE_TAG_KEYS)
    for t in types:
        for alt in parse_osm_tags(t["osm_tags"]):
            keys += [k for k, _ in alt]
    keys = list(dict.fromkeys(keys))
    _progress(progress, "read", 0, None)
    try:
        layers, repaired, dropped = read_osm(path, keys)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise ValidationError(f"cannot read {path.name} as OSM data",
                              [Problem(str(exc).splitlines()[0], field="file")]) from exc
    report = OsmImportReport(source=path.name, dry_run=dry_run, repaired=repaired,
                             dropped=dropped)
    report.read = {k: len(v.geoms) for k, v in layers.items()}
    total_read = sum(report.read.values())
    _progress(progress, "read", total_read, total_read)
    if total_read == 0:
        raise ValidationError(f"{path.name} holds no OSM features",
                              [Problem("no points, lines or polygons", field="file")])
    all_geoms = np.concatenate([v.geoms for v in layers.values()])
    metric = crs.metric_crs(*shapely.total_bounds(all_geoms))
    report.metric_crs = metric.to_string()

    savepoint = conn.begin_nested()
    try:
        _write(conn, layers, types, params, metric, report, progress)
    except BaseException:
        savepoint.rollback()
        raise
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
    report.elapsed_s = round(time.monotonic() - started, 2)
    return report


def _to_metric(geoms: Geoms, metric: Any) -> Geoms:
    if len(geoms) == 0:
        return np.asarray(geoms, dtype=object)
    return np.asarray(gpd.GeoSeries(geoms, crs=4326).to_crs(metric).values, dtype=object)


def _sync_existing(conn: Connection, table: str, source: str, match: str, differs: str,
                   assign: str, binds: dict[str, Any], update: bool, report: OsmImportReport
                   ) -> list[int]:
    """Stored rows of ``table`` (alias ``t``) matching rows of the new data ``source`` (alias
    ``n``) by ``match`` whose values differ (``differs``): counted, and updated in place with
    ``assign`` when ``update``. Returns the updated ids. The SQL fragments are constants of
    this module; values are bound."""
    if not update:
        report.changed_existing[table] = int(conn.execute(sa.text(
            f"SELECT count(*) FROM {table} t JOIN {source} ON {match} "  # noqa: S608
            f"WHERE {differs}"), binds).scalar_one())
        return []
    ids = [int(i) for i in conn.execute(sa.text(
        f"UPDATE {table} t SET {assign} FROM {source} WHERE {match} AND ({differs}) "  # noqa: S608
        "RETURNING t.id"), binds).scalars().all()]
    report.changed_existing[table] = len(ids)
    if ids:
        report.updated[table] = len(ids)
    return ids


def _write(conn: Connection, layers: dict[str, Layer], types: list[dict[str, Any]],
           params: OsmImportParams, metric: Any, report: OsmImportReport,
           progress: ProgressFn | None) -> None:
    source = f"osm:{report.source}"
    import_id = int(conn.execute(sa.text(
        "INSERT INTO import_run (kind, source_file, actor) VALUES ('osm', :f, :a) RETURNING id"),
        {"f": report.source, "a": params.actor}).scalar_one())
    report.import_id = import_id
    lines, polys, points = layers["lines"], layers["multipolygons"], layers["points"]

    # --- streets -----------------------------------------------------------------
    hw = lines.tags["highway"].notna().to_numpy(dtype=bool, copy=True)
    hw &= np.array([g.geom_type == "LineString" for g in lines.geoms], dtype=bool)
    lt = lines.tags[hw]
    tag_records = lt[list(NETWORK_TAG_KEYS)].to_dict("records")
    tags_json = [json.dumps({k: v for k, v in r.items() if v is not None and v == v},
                            ensure_ascii=False) for r in tag_records]
    _progress(progress, "streets", 0, int(hw.sum()))
    line_src = ("unnest(CAST(:ids AS text[]), CAST(:hw AS text[]), CAST(:names AS text[]), "
                "CAST(:tags AS jsonb[]), CAST(:wkbs AS bytea[])) "
                "AS n(osm_id, highway, name, tags, wkb)")
    line_binds = {"import_id": import_id, "ids": list(lines.osm_ids[hw]),
                  "hw": _str_or_none(lt["highway"]), "names": _first_name(lt),
                  "tags": tags_json, "wkbs": _ewkb(lines.geoms[hw])}
    _sync_existing(
        conn, "osm_line", line_src, "t.osm_id = n.osm_id",
        "t.highway IS DISTINCT FROM n.highway OR t.name IS DISTINCT FROM n.name "
        "OR t.tags IS DISTINCT FROM n.tags OR ST_AsEWKB(t.geom) <> n.wkb",
        "highway = n.highway, name = n.name, tags = n.tags, geom = ST_GeomFromEWKB(n.wkb), "
        "import_id = :import_id", line_binds, params.update_existing, report)
    n_lines = conn.execute(sa.text(
        f"""
        INSERT INTO osm_line (osm_id, highway, name, tags, import_id, geom)
        SELECT n.osm_id, n.highway, n.name, n.tags, :import_id, ST_GeomFromEWKB(n.wkb)
        FROM {line_src}
        WHERE NOT EXISTS (SELECT 1 FROM osm_line o WHERE o.osm_id = n.osm_id)
        """), line_binds).rowcount  # noqa: S608 - constant fragment
    report.inserted["osm_line"] = int(n_lines)
    report.skipped_existing["osm_line"] = int(hw.sum()) - int(n_lines)
    _progress(progress, "streets", int(hw.sum()), int(hw.sum()))

    # --- buildings ---------------------------------------------------------------
    bmask = (polys.tags["building"].notna() & (polys.tags["building"] != "no")).to_numpy(
        dtype=bool, copy=True)
    bt = polys.tags[bmask]
    bgeoms = polys.geoms[bmask]
    bmetric = _to_metric(bgeoms, metric)
    footprint = shapely.area(bmetric) if len(bmetric) else np.zeros(0)
    levels, height = population.levels_and_height(
        bt["building:levels"].to_numpy(), bt["height"].to_numpy(), params.population)
    btype = bt["building"].astype(str).to_numpy()
    residential = np.isin(btype, list(population.RESIDENTIAL_BUILDING_TYPES))
    lu_mask = (polys.tags["landuse"] == "residential").fillna(False).to_numpy(dtype=bool)
    if lu_mask.any() and len(bgeoms):
        tree = shapely.STRtree(polys.geoms[lu_mask])
        inside = tree.query(shapely.point_on_surface(bgeoms), predicate="within")
        in_landuse = np.zeros(len(bgeoms), dtype=bool)
        in_landuse[np.unique(inside[0])] = True
        residential |= (btype == "yes") & in_landuse
    residents, households = population.estimate(footprint, levels, residential,
                                                params.population)
    _progress(progress, "buildings", 0, len(bgeoms))
    bsrc = ("unnest(CAST(:ids AS text[]), CAST(:names AS text[]), CAST(:btype AS text[]), "
            "CAST(:residential AS boolean[]), CAST(:levels AS int[]), CAST(:height AS float8[]), "
            "CAST(:footprint AS float8[]), CAST(:households AS int[]), CAST(:residents AS int[]), "
            "CAST(:wkbs AS bytea[])) AS n(osm_id, name, btype, residential, levels, height, "
            "footprint, households, residents, wkb)")
    bbinds = {
        "source": source, "import_id": import_id, "ids": list(polys.osm_ids[bmask]),
        "names": _first_name(bt), "btype": list(btype),
        "residential": [bool(x) for x in residential],
        "levels": [None if np.isnan(x) else int(x) for x in levels],
        "height": [None if np.isnan(x) else float(x) for x in height],
        "footprint": [float(x) for x in footprint],
        "households": [int(x) for x in households], "residents": [int(x) for x in residents],
        "wkbs": _ewkb(bgeoms)}
    # population figures the city imported (population_source 'imported') are kept
    estimated = "t.population_source IN ('estimated', 'none')"
    changed_buildings = _sync_existing(
        conn, "building", bsrc, "t.osm_id = n.osm_id",
        "t.name IS DISTINCT FROM n.name OR t.building_type IS DISTINCT FROM n.btype "
        "OR t.residential IS DISTINCT FROM n.residential OR t.levels IS DISTINCT FROM n.levels "
        "OR t.height_m IS DISTINCT FROM n.height "
        "OR ST_AsEWKB(t.geom) <> ST_AsEWKB(ST_Multi(ST_GeomFromEWKB(n.wkb)))",
        "name = n.name, building_type = n.btype, residential = n.residential, "
        "levels = n.levels, height_m = n.height, footprint_m2 = n.footprint, "
        f"households = CASE WHEN {estimated} THEN n.households ELSE t.households END, "
        f"residents = CASE WHEN {estimated} THEN n.residents ELSE t.residents END, "
        f"population_source = CASE WHEN {estimated} THEN CASE WHEN n.residential "
        "THEN 'estimated' ELSE 'none' END ELSE t.population_source END, "
        "geom = ST_Multi(ST_GeomFromEWKB(n.wkb)), import_id = :import_id",
        bbinds, params.update_existing, report)
    if changed_buildings:  # the communities' unit cells are rebuilt when next needed
        conn.execute(sa.text(
            "DELETE FROM grid_cell WHERE community_id IN (SELECT DISTINCT community_id "
            "FROM building WHERE id = ANY(:ids))"), {"ids": changed_buildings})
    res = conn.execute(sa.text(
        f"""
        INSERT INTO building (osm_id, name, building_type, residential, levels, height_m,
                              footprint_m2, households, residents, population_source,
                              source, import_id, geom)
        SELECT n.osm_id, n.name, n.btype, n.residential, n.levels, n.height, n.footprint,
               n.households, n.residents,
               CASE WHEN n.residential THEN 'estimated' ELSE 'none' END,
               :source, :import_id, ST_Multi(ST_GeomFromEWKB(n.wkb))
        FROM {bsrc}
        WHERE NOT EXISTS (SELECT 1 FROM building b WHERE b.osm_id = n.osm_id)
        RETURNING residential, residents, households
        """), bbinds).all()  # noqa: S608 - constant fragment
    report.inserted["building"] = len(res)
    report.skipped_existing["building"] = len(bgeoms) - len(res)
    report.estimated_buildings = sum(1 for r in res if r[0])
    report.estimated_residents = sum(int(r[1]) for r in res)
    report.estimated_households = sum(int(r[2]) for r in res)
    _progress(progress, "buildings", len(bgeoms), len(bgeoms))

    # --- estates -----------------------------------------------------------------
    named = polys.tags["name"].notna() | polys.tags["name:zh"].notna()
    place_area = (polys.tags["place"].isin(["neighbourhood", "quarter"]) & named).to_numpy(
        dtype=bool, copy=True)
    if place_area.any():
        areas = shapely.area(_to_metric(polys.geoms[place_area], metric))
        place_area[np.flatnonzero(place_area)[areas > params.max_named_area_m2]] = False
    named_res = (polys.tags["residential"].notna() & named).to_numpy() | place_area
    emask = lu_mask | (named_res & ~bmask)
    et = polys.tags[emask]
    origin = np.where(lu_mask[emask], "osm_landuse", "osm_named_area")
    enames = [n or f"住宅区 {i}" for n, i in zip(_first_name(et), polys.osm_ids[emask],
                                                   strict=True)]
    esrc = ("unnest(CAST(:ids AS text[]), CAST(:names AS text[]), CAST(:origin AS text[]), "
            "CAST(:wkbs AS bytea[])) AS n(osm_id, name, origin, wkb)")
    ebinds = {"source": source, "import_id": import_id, "ids": list(polys.osm_ids[emask]),
              "names": enames, "origin": list(origin), "wkbs": _ewkb(polys.geoms[emask])}
    _sync_existing(
        conn, "estate", esrc, "t.osm_id = n.osm_id",
        "t.name IS DISTINCT FROM n.name "
        "OR ST_AsEWKB(t.geom) <> ST_AsEWKB(ST_Multi(ST_GeomFromEWKB(n.wkb)))",
        "name = n.name, geom = ST_Multi(ST_GeomFromEWKB(n.wkb)), import_id = :import_id",
        ebinds, params.update_existing, report)
    rows = conn.execute(sa.text(
        f"""
        INSERT INTO estate (osm_id, name, derived_from, source, import_id, geom)
        SELECT n.osm_id, n.name, n.origin, :source, :import_id, ST_Multi(ST_GeomFromEWKB(n.wkb))
        FROM {esrc}
        WHERE NOT EXISTS (SELECT 1 FROM estate e WHERE e.osm_id = n.osm_id)
        RETURNING derived_from
        """), ebinds).scalars().all()  # noqa: S608 - constant fragment
    for o in rows:
        report.estates_by_origin[o] = report.estates_by_origin.get(o, 0) + 1
    _progress(progress, "estates", len(rows), int(emask.sum()))

    # --- street blocks and block estates ------------------------------------------
    tunnel = lines.tags["tunnel"].to_numpy() if "tunnel" in lines.tags else np.full(
        len(lines.tags), None)
    bl_mask = blocks_mod.block_lines_mask(lines.tags["highway"].to_numpy(), tunnel,
                                          params.blocks) & hw
    _progress(progress, "blocks", 0, int(bl_mask.sum()))
    faces = blocks_mod.polygonize_lines(_to_metric(lines.geoms[bl_mask], metric),
                                        params.blocks)
    faces_4326 = np.asarray(gpd.GeoSeries(faces, crs=metric).to_crs(4326).values,
                            dtype=object) if len(faces) else faces
    block_ids = blocks_mod.store_blocks(conn, faces_4326, shapely.area(faces) if len(faces)
                                        else np.zeros(0), source)
    report.inserted["street_block"] = len(block_ids)
    report.skipped_existing["street_block"] = len(faces) - len(block_ids)
    _progress(progress, "blocks", len(faces), len(faces))
    n_block_estates = conn.execute(sa.text(
        """
        INSERT INTO estate (name, derived_from, source, import_id, geom)
        SELECT '街坊 ' || sb.id, 'street_block', :source, :import_id, sb.geom
        FROM street_block sb
        WHERE EXISTS (
            SELECT 1 FROM building b
            WHERE b.residential
              AND ST_Intersects(sb.geom, ST_PointOnSurface(b.geom))
              AND NOT EXISTS (SELECT 1 FROM estate e
                              WHERE ST_Intersects(e.geom, ST_PointOnSurface(b.geom))))
        ORDER BY sb.id
        """), {"source": source, "import_id": import_id}).rowcount
    if n_block_estates:
        report.estates_by_origin["street_block"] = int(n_block_estates)
    report.inserted["estate"] = len(rows) + int(n_block_estates)
    report.skipped_existing["estate"] = int(emask.sum()) - len(rows)
    if n_block_estates:
        report.notes.append(
            f"{n_block_estates} estates derived from street blocks (blocks enclosed by roads "
            "holding residential buildings outside any OSM estate boundary); "
            "derived_from='street_block'")
    if len(faces):
        report.notes.append(
            f"{len(faces)} street blocks derived from the road network "
            f"({int(bl_mask.sum())} road lines of classes {', '.join(sorted(params.blocks.highways))})")

    # --- facilities --------------------------------------------------------------
    poi_tags = pd.concat([points.tags, polys.tags], ignore_index=True)
    poi_geoms = np.concatenate([points.geoms, polys.geoms])
    poi_ids = np.concatenate([points.osm_ids, polys.osm_ids])
    matches = match_facilities(
        poi_tags, types, unknown_school_level_counts_both=params.unknown_school_level_counts_both,
        name_required_types=params.name_required_types)
    f_idx: list[int] = []
    f_type: list[str] = []
    for code, mask in matches.items():
        hits = np.flatnonzero(mask)
        f_idx += hits.tolist()
        f_type += [code] * len(hits)
    idx = np.asarray(f_idx, dtype=int)
    fgeoms = poi_geoms[idx] if len(idx) else np.array([], dtype=object)
    locations = shapely.point_on_surface(fgeoms) if len(idx) else fgeoms
    fnames = _first_name(poi_tags.iloc[idx]) if len(idx) else []
    _progress(progress, "facilities", 0, len(idx))
    fsrc = ("unnest(CAST(:types AS text[]), CAST(:names AS text[]), CAST(:ids AS text[]), "
            "CAST(:wkbs AS bytea[]), CAST(:locs AS bytea[])) "
            "AS n(type_code, name, osm_id, wkb, loc)")
    fbinds = {"source": source, "import_id": import_id, "types": f_type, "names": fnames,
              "ids": list(poi_ids[idx]) if len(idx) else [],
              "wkbs": _ewkb(fgeoms), "locs": _ewkb(locations)}
    _sync_existing(
        conn, "facility", fsrc, "t.osm_id = n.osm_id AND t.type_code = n.type_code",
        "t.name IS DISTINCT FROM n.name OR ST_AsEWKB(t.location) <> n.loc "
        "OR ST_AsEWKB(t.geom) <> n.wkb",
        "name = n.name, geom = ST_GeomFromEWKB(n.wkb), location = ST_GeomFromEWKB(n.loc), "
        "import_id = :import_id", fbinds, params.update_existing, report)
    frows = conn.execute(sa.text(
        f"""
        INSERT INTO facility (type_code, name, osm_id, source, import_id, geom, location)
        SELECT n.type_code, n.name, n.osm_id, :source, :import_id, ST_GeomFromEWKB(n.wkb),
               ST_GeomFromEWKB(n.loc)
        FROM {fsrc}
        WHERE NOT EXISTS (SELECT 1 FROM facility f
                          WHERE f.osm_id = n.osm_id AND f.type_code = n.type_code)
        RETURNING type_code
        """), fbinds).scalars().all()  # noqa: S608 - constant fragment
    for code in frows:
        report.facilities_by_type[code] = report.facilities_by_type.get(code, 0) + 1
    report.inserted["facility"] = len(frows)
    report.skipped_existing["facility"] = len(idx) - len(frows)
    _progress(progress, "facilities", len(idx), len(idx))

    # --- links -------------------------------------------------------------------
    _progress(progress, "link", 0, None)
    link_buildings_to_estates(conn)
    link_to_communities(conn)
    report.residential_without_estate = int(conn.execute(sa.text(
        "SELECT count(*) FROM building WHERE import_id = :id AND residential "
        "AND estate_id IS NULL"), {"id": import_id}).scalar_one())
    if report.residential_without_estate:
        report.notes.append(
            f"{report.residential_without_estate} residential buildings lie in no estate and no "
            "street block (outside the road network's closed faces)")
    report.notes.append(
        f"measured in {metric.name}; repaired {len(report.repaired)}, dropped "
        f"{len(report.dropped)} geometries")
    conn.execute(sa.text("UPDATE import_run SET finished_at = now(), report = CAST(:r AS jsonb) "
                         "WHERE id = :id"),
                 {"r": json.dumps(report.as_dict(), ensure_ascii=False), "id": import_id})
