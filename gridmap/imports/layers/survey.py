"""``gridmap import buildings|streets|estates FILE``: a survey office's layer, merged with OSM.

Steps: read the file (:mod:`.vector`, any format and CRS), map its columns (:mod:`.columns`,
``--map`` profile on top of the built-in aliases), validate every row (all problems at once;
any error refuses the whole file), then merge in one savepoint (:mod:`.merge`) and link
buildings to estates and communities. ``dry_run`` does everything and rolls back.
"""

from __future__ import annotations

import json
import re
import time
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
from gridmap.imports import population
from gridmap.imports.geometry import Progress
from gridmap.imports.layers import merge
from gridmap.imports.layers.columns import mapped, numbers, profile_for, texts
from gridmap.imports.layers.report import MATCH_COLUMNS, MERGE_MODES, LayerImportParams, LayerReport
from gridmap.imports.layers.vector import (
    KINDS,
    VectorLayer,
    check_geometries,
    first_of_list,
    read_vector,
)
from gridmap.imports.linking import link_buildings_to_estates, link_to_communities
from gridmap.imports.osm.read import NETWORK_TAG_KEYS

FIELDS = {
    "buildings": ("key", "name", "floors", "height", "households", "residents", "building_type"),
    "estates": ("key", "name"),
    "streets": ("key", "name", "road_class"),
}
ROAD_CLASSES: dict[str, str] = {
    "高速公路": "motorway", "快速路": "trunk", "城市快速路": "trunk", "主干路": "primary",
    "主干道": "primary", "次干路": "secondary", "次干道": "secondary", "支路": "tertiary",
    "城市支路": "tertiary", "街坊路": "residential", "小区路": "residential",
    "小区道路": "service", "内部道路": "service", "街巷": "living_street",
    "胡同": "living_street", "里弄": "living_street", "弄堂": "living_street",
    "步行街": "pedestrian", "人行道": "footway", "步行道": "footway", "绿道": "path",
    "自行车道": "cycleway", "台阶": "steps", "梯道": "steps",
}
"""Chinese road classes (CJJ 37 and common survey wording) → OSM ``highway`` values."""
OSM_HIGHWAYS = frozenset({
    "motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential",
    "living_street", "pedestrian", "service", "footway", "path", "steps", "cycleway", "track",
    "road", "bridleway", "corridor", "motorway_link", "trunk_link", "primary_link",
    "secondary_link", "tertiary_link", "busway"})
_OSM_VALUE = re.compile(r"^[a-z][a-z0-9_]*$")
"""Any OSM-style value (OSMnx files carry every ``highway`` value OSM has) passes as is."""
_RESIDENTIAL = re.compile(r"住宅|居住|宿舍|公寓|住房|民居|别墅|residential|apartments|house",
                          re.IGNORECASE)


def import_layer(conn: Connection, path: str | Path, kind: str, *, crs: str | None = None,
                 coords: str = "wgs84", layer: str | None = None, profile: str | None = None,
                 params: LayerImportParams | None = None, dry_run: bool = False,
                 max_bytes: int | None = None, progress: Progress | None = None
                 ) -> LayerReport:
    """Import a buildings, streets or estates layer (see the module docstring).

    Returns
    -------
    LayerReport

    Raises
    ------
    ValidationError
        Unreadable file, bad CRS, unknown option, any bad row (every problem at once);
        nothing is written.
    """
    params = params or LayerImportParams()
    path = Path(path)
    started = time.monotonic()
    _check_options(kind, params)
    vec = read_vector(path, kind, crs=crs, coords=coords, layer=layer, max_bytes=max_bytes)
    source = params.source or path.name
    report = LayerReport(kind=kind, source=source, dry_run=dry_run, layer=vec.layer,
                         source_crs=vec.source_crs, rows_read=len(vec.rows))
    binds = _prepare(vec, kind, profile, params, report)
    binds.update(source=source, source_crs=vec.source_crs, pop_date=params.population_date)
    if progress is not None:
        progress("write", 0, len(vec.rows))
    savepoint = conn.begin_nested()
    try:
        _write(conn, kind, params, binds, report)
    except BaseException:
        savepoint.rollback()
        raise
    (savepoint.rollback if dry_run else savepoint.commit)()
    report.elapsed_s = round(time.monotonic() - started, 2)
    if progress is not None:
        progress("write", len(vec.rows), len(vec.rows))
    return report


def _check_options(kind: str, params: LayerImportParams) -> None:
    problems = []
    if kind not in KINDS:
        problems.append(Problem("layers.unknown_kind", {"kind": kind, "kinds": KINDS}))
    if params.merge not in MERGE_MODES:
        problems.append(Problem("layers.unknown_merge", {"merge": params.merge,
                                                         "modes": MERGE_MODES}))
    if params.match not in MATCH_COLUMNS:
        problems.append(Problem("layers.unknown_match", {"match": params.match,
                                                         "columns": MATCH_COLUMNS}))
    if problems:
        raise ValidationError("layers.bad_options", problems)


def _prepare(vec: VectorLayer, kind: str, profile_name: str | None,
             params: LayerImportParams, report: LayerReport) -> dict[str, Any]:
    """Bind arrays of the rows; raises with every problem when any row is bad."""
    ok = check_geometries(vec, kind)
    frame, problems = mapped(vec.attributes, profile_for(profile_name), FIELDS[kind])
    problems = vec.problems + problems
    for col in ("key", "name", "road_class"):
        if col in frame:
            frame[col] = first_of_list(frame[col])
    keys = _keys(frame["key"], vec.rows, params, problems)
    values: dict[str, Any] = {"row_no": [int(r) for r in vec.rows], "key": keys,
                              "name": texts(frame["name"]),
                              "wkb": list(shapely.to_wkb(shapely.set_srid(
                                  _kept(vec.geoms, ok), 4326), include_srid=True))}
    if kind == "buildings":
        values.update(_building_values(vec, frame, params, problems, report))
    elif kind == "streets":
        values.update(_street_values(vec, frame, problems, report))
    errors = [p for p in problems if p.severity == "error"]
    report.warnings = [p for p in problems if p.severity != "error"]
    if errors:
        raise ValidationError("layers.cannot_import", sorted(
            problems, key=lambda p: (p.row or 0)), {"name": report.source})
    return values


def _kept(geoms: npt.NDArray[np.object_], ok: npt.NDArray[np.bool_]) -> npt.NDArray[np.object_]:
    out = np.array(geoms, dtype=object)
    out[~ok] = None
    return out


def _keys(col: pd.Series, rows: npt.NDArray[np.int64], params: LayerImportParams,
          problems: list[Problem]) -> list[str | None]:
    keys = [None if v is None or pd.isna(v) else str(v).removesuffix(".0") for v in col]
    if params.match == "osm_id":
        keys = [k if k is None or "/" in k else f"way/{k}" for k in keys]
    if params.merge == "key":
        problems.extend(Problem("layers.key_missing", row=int(r), field="key")
                        for r, k in zip(rows, keys, strict=True) if k is None)
    seen: dict[str, int] = {}
    for r, k in zip(rows, keys, strict=True):
        if k is not None and k in seen:
            problems.append(Problem("layers.key_duplicate", {"key": k, "first": seen[k]},
                                    row=int(r), field="key"))
        elif k is not None:
            seen[k] = int(r)
    return keys


def _building_values(vec: VectorLayer, frame: pd.DataFrame, params: LayerImportParams,
                     problems: list[Problem], report: LayerReport) -> dict[str, Any]:
    rows = vec.rows
    levels = numbers(frame["floors"], "floors", rows, problems)
    height = numbers(frame["height"], "height", rows, problems, whole=False)
    hh = numbers(frame["households"], "households", rows, problems)
    res = numbers(frame["residents"], "residents", rows, problems)
    pph = params.population.persons_per_household
    official = np.isfinite(hh) | np.isfinite(res)
    hh = np.where(np.isfinite(hh), hh, np.round(res / pph))
    res = np.where(np.isfinite(res), res, np.round(hh * pph))
    btype = frame["building_type"]
    has_type = btype.notna().to_numpy()
    residential = np.where(has_type, btype.fillna("").map(
        lambda v: bool(_RESIDENTIAL.search(str(v)))).to_numpy(dtype=bool),
        params.all_residential) | (official & (np.nan_to_num(hh) > 0))
    geoms = np.where(shapely.is_missing(vec.geoms), shapely.Polygon(), vec.geoms)
    metric = gcrs.metric_for(geoms)
    footprint = shapely.area(gcrs.to_metric(geoms, metric))
    est_res, est_hh = population.estimate(footprint, levels, residential, params.population)
    report.counts = {"residential": int(residential.sum()), "official": int(official.sum()),
                     "official_households": int(np.nansum(np.where(official, hh, 0))),
                     "official_residents": int(np.nansum(np.where(official, res, 0))),
                     "estimated": int((residential & ~official).sum())}
    return {
        "btype": texts(btype), "residential": [bool(x) for x in residential],
        "levels": [None if np.isnan(x) else int(x) for x in levels],
        "height": [None if np.isnan(x) else float(x) for x in height],
        "footprint": [float(x) for x in footprint],
        "households": [int(h) if o else int(e) for o, h, e in zip(official, hh, est_hh,
                                                                     strict=True)],
        "residents": [int(r) if o else int(e) for o, r, e in zip(official, res, est_res,
                                                                    strict=True)],
        "official": [bool(x) for x in official]}


def _street_values(vec: VectorLayer, frame: pd.DataFrame, problems: list[Problem],
                   report: LayerReport) -> dict[str, Any]:
    raw = frame["road_class"].astype(object)
    lowered = raw.map(lambda v: None if v is None else str(v).strip())
    highway = lowered.map(lambda v: v if v in OSM_HIGHWAYS or (v and _OSM_VALUE.match(v))
                          else ROAD_CLASSES.get(v or ""))
    unknown = lowered.notna() & highway.isna()
    for value, count in lowered[unknown].value_counts().items():
        problems.append(Problem("layers.unknown_road_class", {
            "value": str(value), "count": int(count), "known": sorted(ROAD_CLASSES)},
            field="road_class"))
    missing = lowered.isna().to_numpy()
    if missing.any():
        problems.append(Problem("layers.road_class_missing", {"count": int(missing.sum())},
                                field="road_class"))
    report.counts = {str(k): int(v) for k, v in highway.value_counts().items()}
    attrs = vec.attributes
    tag_cols = [k for k in NETWORK_TAG_KEYS if k in attrs.columns]
    tags = [json.dumps({k: str(v) for k, v in r.items() if v is not None and v == v and v != ""},
                       ensure_ascii=False) for r in attrs[tag_cols].to_dict("records")]
    return {"highway": texts(highway), "tags": tags}


def _write(conn: Connection, kind: str, params: LayerImportParams, binds: dict[str, Any],
           report: LayerReport) -> None:
    report.import_id = int(conn.execute(sa.text(
        "INSERT INTO import_run (kind, source_file, actor) VALUES (:k, :f, :a) RETURNING id"),
        {"k": f"layer_{kind}", "f": report.source, "a": params.actor}).scalar_one())
    binds["import_id"] = report.import_id
    merge.load_rows(conn, kind, {k: v for k, v in binds.items()
                                 if k not in ("source", "source_crs", "pop_date", "import_id")})
    write = merge.merge_by_key if params.merge == "key" else merge.merge_replace
    ids = write(conn, kind, params, binds, report)
    if kind == "estates" and ids:  # buildings in changed estates find their estate again
        conn.execute(sa.text(
            "UPDATE building b SET estate_id = NULL FROM estate e WHERE e.id = ANY(:ids) "
            "AND ST_Intersects(e.geom, ST_PointOnSurface(b.geom))"), {"ids": ids})
    if kind != "streets":
        link_buildings_to_estates(conn)
        link_to_communities(conn)
    if kind == "buildings" and ids:  # the communities' unit cells are rebuilt when needed
        conn.execute(sa.text(
            "DELETE FROM grid_cell WHERE community_id IN (SELECT DISTINCT community_id "
            "FROM building WHERE id = ANY(:ids))"), {"ids": ids})
    conn.execute(sa.text("UPDATE import_run SET finished_at = now(), report = CAST(:r AS jsonb) "
                         "WHERE id = :id"),
                 {"r": json.dumps(report.as_dict(), ensure_ascii=False, default=str),
                  "id": report.import_id})
