"""``gridmap import facilities FILE``: facilities from a POI table (an Amap export …).

Types (docs: reference/life_circle.md §6):

- a ``type`` value that is a catalogue code (put there by a ``--map`` profile's
  ``values: {type: {…: code}}`` or ``values: {typecode: {141203: primary_school}}``) is that
  type;
- else the POI is a candidate for every type whose ``amap_types`` names one level of its
  Amap type (``大类;中类;小类``, several joined by ``|``); a name matching the ``name_hint``
  of some candidates narrows it to those (as for OSM: a 卫生院 named 社区卫生服务站 is a
  station, not a centre); the name-required types (canteens) need their hint;
- types the catalogue has no Amap category for (elderly care, culture rooms, canteens) are
  found by ``name_hint`` alone.

Amap numeric type codes are not in the catalogue: without a mapping they are reported as
unmatched. Rows keep ``source`` (``poi:<name>``), ``licence`` and their own id (``ext_id``).
A POI within ``dedup_m`` of a stored facility of the same type is a duplicate: reported, not
inserted; a row of the same source and id already stored is skipped (re-runs add nothing).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import crs as gcrs
from gridmap.errors import Problem, ValidationError
from gridmap.imports.layers.columns import mapped, numbers, profile_for, texts
from gridmap.imports.layers.report import LayerReport
from gridmap.imports.tables import read_table

FIELDS = ("key", "name", "type", "typecode", "lon", "lat", "location", "address", "licence",
          "capacity")  # capacity: places or beds (2SFCA, issue #17)
_OSM_WORDS = re.compile(r"osm|openstreetmap|开放街道地图", re.IGNORECASE)


@dataclass(frozen=True)
class FacilityImportParams:
    """Parameters of a POI import (``dedup_m`` from ``Settings.facility_dedup_m``)."""

    source: str | None = None
    licence: str | None = None
    coords: str | None = None
    """Lon/lat system; None: the profile's (default WGS84)."""
    dedup_m: float = 30.0
    name_required_types: frozenset[str] = frozenset({"community_canteen"})
    actor: str | None = None


def import_facilities(conn: Connection, path: str | Path, *, profile: str | None = None,
                      params: FacilityImportParams | None = None, dry_run: bool = False
                      ) -> LayerReport:
    """Import a POI table as facilities (see the module docstring) in one savepoint.

    Raises
    ------
    ValidationError
        Unreadable file, missing columns, bad coordinates, a source named as OSM — every
        problem at once; nothing written.
    """
    params = params or FacilityImportParams()
    path = Path(path)
    started = time.monotonic()
    prof = profile_for(profile)
    table = read_table(path, sheet=prof.sheet, encoding=prof.encoding, separator=prof.separator)
    source = params.source or path.stem
    report = LayerReport(kind="facilities", source=source, dry_run=dry_run,
                         rows_read=len(table))
    frame, problems = mapped(table.frame, prof, FIELDS, required=("name",))
    coords = params.coords or prof.coords
    report.source_crs = coords
    rows = np.arange(1, len(frame) + 1, dtype=np.int64)
    points = _points(frame, coords, rows, problems)
    capacity = numbers(frame["capacity"], "capacity", rows, problems)
    licence = params.licence or prof.defaults.get("licence")
    _check_provenance(source, licence, frame, problems)
    if coords == "wgs84" and frame["typecode"].notna().any():
        problems.append(Problem("layers.poi_coords_wgs84", severity="warning", field="coords"))
    types = [dict(r) for r in conn.execute(sa.text(
        "SELECT code, amap_types, name_hint FROM facility_type ORDER BY code")).mappings()]
    idx, codes = match_types(frame, types, params.name_required_types, report)
    errors = [p for p in problems if p.severity == "error"]
    report.warnings = [p for p in problems if p.severity != "error"]
    if errors:
        raise ValidationError("layers.cannot_import", sorted(problems, key=lambda p: p.row or 0),
                              {"name": path.name})
    names, ext_ids, licences = (texts(frame[c]) for c in ("name", "key", "licence"))
    binds = {"row_no": [int(rows[i]) for i in idx], "type_code": codes,
             "name": [names[i] for i in idx], "ext_id": [ext_ids[i] for i in idx],
             "licence": [licences[i] or licence for i in idx],
             "capacity": [None if np.isnan(capacity[i]) else int(capacity[i]) for i in idx],
             "wkb": list(shapely.to_wkb(shapely.set_srid(points[idx], 4326), include_srid=True)),
             "source": f"poi:{source}", "dist": params.dedup_m,
             # index prefilter: metres → degrees of longitude, safe up to 60° latitude
             "deg": params.dedup_m / 111_000.0 * 2.0}
    savepoint = conn.begin_nested()
    try:
        _write(conn, binds, report, params)
    except BaseException:
        savepoint.rollback()
        raise
    (savepoint.rollback if dry_run else savepoint.commit)()
    report.elapsed_s = round(time.monotonic() - started, 2)
    return report


def _points(frame: pd.DataFrame, coords: str, rows: npt.NDArray[np.int64],
            problems: list[Problem]) -> npt.NDArray[np.object_]:
    """WGS84 points from lon/lat columns or an Amap ``location`` (``lon,lat``)."""
    loc = frame["location"].fillna("").astype(str).str.split(",", n=1, expand=True)
    lon_text = frame["lon"].where(frame["lon"].notna(), loc[0] if 0 in loc else None)
    lat_text = frame["lat"].where(frame["lat"].notna(), loc[1] if 1 in loc else None)
    if frame["lon"].isna().all() and frame["location"].isna().all():
        problems.append(Problem("layers.poi_no_coordinates", field="lon"))
        return np.full(len(frame), None, dtype=object)
    lon = pd.to_numeric(lon_text, errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(lat_text, errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(lon) & np.isfinite(lat)) | (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if coords in ("gcj02", "bd09"):
        bad |= ~gcrs.in_china_box(np.nan_to_num(lon), np.nan_to_num(lat))
    problems.extend(Problem("layers.poi_bad_coordinates", {
        "lon": str(a), "lat": str(b), "coords": coords}, row=int(r), field="lon,lat")
        for r, a, b in zip(rows[bad], lon_text[bad], lat_text[bad], strict=True))
    lon, lat = np.where(bad, 0.0, lon), np.where(bad, 0.0, lat)
    if coords in ("gcj02", "bd09"):
        lon, lat = gcrs.to_wgs84(lon, lat, coords)
    return np.asarray(shapely.points(lon, lat), dtype=object)


def _check_provenance(source: str, licence: str | None, frame: pd.DataFrame,
                      problems: list[Problem]) -> None:
    if _OSM_WORDS.search(source) or (licence and _OSM_WORDS.search(licence)):
        problems.append(Problem("layers.poi_labelled_osm", {"source": source}, field="source"))
    if licence is None and frame["licence"].isna().all():
        problems.append(Problem("layers.poi_no_licence", severity="warning", field="licence"))


def _levels(value: str | None) -> set[str]:
    if not value:
        return set()
    return {p.strip() for part in value.split("|") for p in part.split(";") if p.strip()}


def match_types(frame: pd.DataFrame, types: list[dict[str, Any]],
                name_required: frozenset[str], report: LayerReport
                ) -> tuple[list[int], list[str]]:
    """Row indexes and type codes of the matches (a POI may count for several types);
    unmatched type texts go to ``report.unmatched`` with their counts."""
    codes = {str(t["code"]) for t in types}
    amap = {str(t["code"]): _levels(t["amap_types"]) for t in types}
    hints = {str(t["code"]): re.compile(str(t["name_hint"])) for t in types if t["name_hint"]}
    names = texts(frame["name"])
    type_text = texts(frame["type"])
    typecode = texts(frame["typecode"])
    idx: list[int] = []
    out: list[str] = []
    for i, (name, ttext, tcode) in enumerate(zip(names, type_text, typecode, strict=True)):
        hit = _match_one(name or "", ttext, tcode, codes, amap, hints, name_required)
        idx += [i] * len(hit)
        out += hit
        if not hit:
            key = ttext or tcode or "-"
            report.unmatched[key] = report.unmatched.get(key, 0) + 1
    return idx, out


def _match_one(name: str, ttext: str | None, tcode: str | None, codes: set[str],
               amap: dict[str, set[str]], hints: dict[str, re.Pattern[str]],
               name_required: frozenset[str]) -> list[str]:
    direct = [c for c in (ttext, tcode) if c in codes]
    if direct:
        return direct[:1]
    levels = _levels(ttext)
    candidates = [c for c, names in amap.items() if names & levels]
    if candidates:
        hinted = [c for c in candidates if c in hints and hints[c].search(name)]
        return hinted or [c for c in candidates if c not in name_required]
    return [c for c, names in amap.items() if not names and c in hints and hints[c].search(name)]


_LOAD = (
    "CREATE TEMP TABLE IF NOT EXISTS gm_poi_in (row_no int, type_code text, name text, "
    "ext_id text, licence text, geom geometry, capacity int) ON COMMIT DROP",
    "TRUNCATE gm_poi_in",
    "INSERT INTO gm_poi_in SELECT r, t, n, e, c, ST_GeomFromEWKB(w), k FROM unnest("
    "CAST(:row_no AS int[]), CAST(:type_code AS text[]), CAST(:name AS text[]), "
    "CAST(:ext_id AS text[]), CAST(:licence AS text[]), CAST(:wkb AS bytea[]), "
    "CAST(:capacity AS int[])) AS u(r, t, n, e, c, w, k)",
)
_DUPLICATES = sa.text(
    """
    CREATE TEMP TABLE gm_poi_dup ON COMMIT DROP AS
    SELECT n.row_no, n.type_code, n.name, f.name AS existing, f.source, 0 AS d, true AS same
    FROM gm_poi_in n JOIN facility f
      ON f.source = :source AND f.ext_id = n.ext_id AND f.type_code = n.type_code
    UNION ALL
    SELECT n.row_no, n.type_code, n.name, f.name, f.source, round(f.d), false
    FROM gm_poi_in n CROSS JOIN LATERAL (
        SELECT f.name, f.source, ST_Distance(f.location::geography, n.geom::geography) AS d
        FROM facility f
        -- `|| ''` keeps the planner on the location index (the type index scans every
        -- facility of the type for each POI: minutes on 100,000s of rows)
        WHERE (f.type_code || '') = n.type_code
          AND f.location && ST_Expand(n.geom, :deg)
          AND ST_DWithin(f.location::geography, n.geom::geography, :dist)
        ORDER BY 3 LIMIT 1) f
    WHERE NOT EXISTS (SELECT 1 FROM facility s WHERE s.source = :source
                      AND s.ext_id = n.ext_id AND s.type_code = n.type_code)
    """)


_INSERT = sa.text(
    """
    INSERT INTO facility (type_code, name, source, licence, ext_id, import_id, geom, location,
                          capacity)
    SELECT n.type_code, n.name, :source, n.licence, n.ext_id, :import_id, n.geom, n.geom,
           n.capacity
    FROM gm_poi_in n
    WHERE NOT EXISTS (SELECT 1 FROM gm_poi_dup d
                      WHERE d.row_no = n.row_no AND d.type_code = n.type_code)
    ORDER BY n.row_no, n.type_code
    RETURNING type_code
    """)


_CAPACITY = sa.text(
    """
    UPDATE facility f SET capacity = n.capacity FROM gm_poi_in n
    WHERE f.source = :source AND f.ext_id = n.ext_id AND f.type_code = n.type_code
      AND n.capacity IS NOT NULL AND f.capacity IS DISTINCT FROM n.capacity
    """)
"""Capacity (places, beds) of POIs already imported from the same source (same id)."""


def _write(conn: Connection, binds: dict[str, Any], report: LayerReport,
           params: FacilityImportParams) -> None:
    report.import_id = int(conn.execute(sa.text(
        "INSERT INTO import_run (kind, source_file, actor) VALUES ('facilities', :f, :a) "
        "RETURNING id"), {"f": report.source, "a": params.actor}).scalar_one())
    for sql in _LOAD:
        conn.execute(sa.text(sql), binds)
    conn.execute(sa.text("ANALYZE gm_poi_in"))
    conn.execute(sa.text("DROP TABLE IF EXISTS gm_poi_dup"))
    conn.execute(_DUPLICATES, binds)
    dups = conn.execute(sa.text(
        "SELECT row_no, type_code, name, existing, source, d, same FROM gm_poi_dup "
        "ORDER BY row_no, type_code")).mappings().all()
    present = [d for d in dups if d["same"]]
    near = [d for d in dups if not d["same"]]
    report.unchanged = len(present)
    for d in near:
        key = f"duplicate:{d['type_code']}"
        report.counts[key] = report.counts.get(key, 0) + 1
    report.warnings += [Problem("layers.poi_duplicate", {
        "name": d["name"] or "-", "type": d["type_code"], "existing": d["existing"] or "-",
        "source": d["source"] or "-", "distance": int(d["d"])}, row=int(d["row_no"]),
        severity="warning") for d in near]
    inserted = conn.execute(_INSERT, {**binds, "import_id": report.import_id}).scalars().all()
    conn.execute(_CAPACITY, binds)  # a re-import brings the current places/beds
    report.inserted = len(inserted)
    for code in inserted:
        report.counts[code] = report.counts.get(code, 0) + 1
    conn.execute(sa.text("UPDATE import_run SET finished_at = now(), report = CAST(:r AS jsonb) "
                         "WHERE id = :id"), {"r": _json(report), "id": report.import_id})


def _json(report: LayerReport) -> str:
    import json

    return json.dumps(report.as_dict(), ensure_ascii=False, default=str)
