"""Which OSM objects count as which facility type, and their write to ``facility``.

Rule (docs/osm-import.md): a POI is a candidate for a type when one ``|`` alternative of
the type's ``osm_tags`` in the facility catalogue matches; a name matching the type's
``name_hint`` narrows the candidates (:func:`match_facilities`).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.imports.geometry import Progress
from gridmap.imports.osm.read import Layer
from gridmap.imports.osm.report import OsmImportParams, OsmImportReport
from gridmap.imports.osm.rows import ewkb, first_name, report_progress, sync_existing
from gridmap.imports.population import parse_number

Mask = npt.NDArray[np.bool_]


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


def _matched_rows(
    points: Layer, polys: Layer, types: list[dict[str, Any]], params: OsmImportParams
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """POIs (points and polygons) matched to types: tags, geometries, OSM ids, the matched
    row indexes and their type codes (a POI may count for several types)."""
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
    return poi_tags, poi_geoms, poi_ids, np.asarray(f_idx, dtype=int), f_type


def capacities(tags: pd.DataFrame) -> list[int | None]:
    """Places or beds of POIs: OSM ``capacity``, else ``beds`` (first number of the value),
    None when absent or unusable (the 2SFCA input, issue #17)."""
    def column(key: str) -> list[Any]:
        return list(tags[key]) if key in tags else [None] * len(tags)

    first, beds = parse_number(column("capacity")), parse_number(column("beds"))
    value = np.where(np.isnan(first), beds, first)
    return [None if not np.isfinite(v) or v <= 0 else int(round(v)) for v in value]


def write_facilities(
    conn: Connection, points: Layer, polys: Layer, types: list[dict[str, Any]],
    params: OsmImportParams, report: OsmImportReport, progress: Progress | None,
) -> None:
    """Insert the matched POIs into ``facility`` (one row per POI and type), counted by type."""
    source, import_id = f"osm:{report.source}", report.import_id
    poi_tags, poi_geoms, poi_ids, idx, f_type = _matched_rows(points, polys, types, params)
    fgeoms = poi_geoms[idx] if len(idx) else np.array([], dtype=object)
    locations = shapely.point_on_surface(fgeoms) if len(idx) else fgeoms
    fnames = first_name(poi_tags.iloc[idx]) if len(idx) else []
    caps = capacities(poi_tags.iloc[idx]) if len(idx) else []
    report_progress(progress, "facilities", 0, len(idx))
    fsrc = ("unnest(CAST(:types AS text[]), CAST(:names AS text[]), CAST(:ids AS text[]), "
            "CAST(:wkbs AS bytea[]), CAST(:locs AS bytea[]), CAST(:caps AS int[])) "
            "AS n(type_code, name, osm_id, wkb, loc, capacity)")
    fbinds = {"source": source, "import_id": import_id, "types": f_type, "names": fnames,
              "ids": list(poi_ids[idx]) if len(idx) else [],
              "wkbs": ewkb(fgeoms), "locs": ewkb(locations), "caps": caps}
    sync_existing(
        conn, "facility", fsrc, "t.osm_id = n.osm_id AND t.type_code = n.type_code",
        "t.name IS DISTINCT FROM n.name OR ST_AsEWKB(t.location) <> n.loc "
        "OR ST_AsEWKB(t.geom) <> n.wkb "
        "OR (n.capacity IS NOT NULL AND t.capacity IS DISTINCT FROM n.capacity)",
        "name = n.name, geom = ST_GeomFromEWKB(n.wkb), location = ST_GeomFromEWKB(n.loc), "
        "capacity = COALESCE(n.capacity, t.capacity), import_id = :import_id", fbinds, params.update_existing, report)
    frows = conn.execute(sa.text(
        f"""
        INSERT INTO facility (type_code, name, osm_id, source, licence, import_id, geom,
                              location, capacity)
        SELECT n.type_code, n.name, n.osm_id, :source, 'ODbL 1.0', :import_id,
               ST_GeomFromEWKB(n.wkb),
               ST_GeomFromEWKB(n.loc), n.capacity
        FROM {fsrc}
        WHERE NOT EXISTS (SELECT 1 FROM facility f
                          WHERE f.osm_id = n.osm_id AND f.type_code = n.type_code)
        RETURNING type_code
        """), fbinds).scalars().all()  # noqa: S608 - constant fragment
    for code in frows:
        report.facilities_by_type[code] = report.facilities_by_type.get(code, 0) + 1
    report.inserted["facility"] = len(frows)
    report.skipped_existing["facility"] = len(idx) - len(frows)
    report_progress(progress, "facilities", len(idx), len(idx))
