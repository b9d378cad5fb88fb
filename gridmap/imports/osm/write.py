"""The OSM import: read the extract, then write every table in one savepoint.

- ``highway=*`` lines → ``osm_line`` (with the tags the walking network needs);
- ``building=*`` polygons → ``building`` with footprint, levels and, for residential
  buildings, an estimated population (:mod:`gridmap.imports.population`);
- ``landuse=residential`` polygons and named residential areas → ``estate``;
- blocks enclosed by roads → ``street_block`` (:mod:`gridmap.imports.blocks`); blocks holding
  residential buildings outside every estate become estates (``derived_from='street_block'``);
- POIs → ``facility`` (:mod:`gridmap.imports.osm.facilities`);
- water and green polygons → ``landcover``, rivers and canals → ``waterway`` (basemap
  context, :mod:`gridmap.imports.osm.landcover`);
- buildings are linked to estates and communities set-based (point-on-surface).

Rows whose OSM id is already stored are skipped; those whose tags or geometry changed are
counted, or updated in place with ``update_existing`` (:func:`~.rows.sync_existing`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import shapely
import sqlalchemy as sa
from pyproj import CRS
from sqlalchemy.engine import Connection

from gridmap import crs as gcrs
from gridmap.errors import Problem, ValidationError
from gridmap.imports import blocks as blocks_mod
from gridmap.imports import population
from gridmap.imports.geometry import Progress
from gridmap.imports.linking import link_buildings_to_estates, link_to_communities
from gridmap.imports.osm.facilities import parse_osm_tags, write_facilities
from gridmap.imports.osm.landcover import write_landcover
from gridmap.imports.osm.names import name_estates
from gridmap.imports.osm.read import BASE_TAG_KEYS, NETWORK_TAG_KEYS, Layer, check_file, read_osm
from gridmap.imports.osm.report import OsmImportParams, OsmImportReport
from gridmap.imports.osm.rows import (
    ewkb,
    first_name,
    report_progress,
    str_or_none,
    sync_existing,
)

Mask = np.ndarray


def import_osm(
    conn: Connection, path: str | Path, *, params: OsmImportParams | None = None,
    dry_run: bool = False, progress: Progress | None = None,
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
    check_file(path, params.max_file_bytes)
    types = [dict(r) for r in conn.execute(sa.text(
        "SELECT code, osm_tags, name_hint FROM facility_type ORDER BY code")).mappings()]
    keys = list(BASE_TAG_KEYS)
    for t in types:
        for alt in parse_osm_tags(t["osm_tags"]):
            keys += [k for k, _ in alt]
    layers, report = _read(path, list(dict.fromkeys(keys)), dry_run, progress)
    metric = gcrs.metric_for(np.concatenate([v.geoms for v in layers.values()]))
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


def _read(path: Path, keys: list[str], dry_run: bool, progress: Progress | None
          ) -> tuple[dict[str, Layer], OsmImportReport]:
    """The layers of the file and a report holding what was read, repaired and dropped."""
    report_progress(progress, "read", 0, None)
    try:
        layers, repaired, dropped = read_osm(path, keys)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise ValidationError("imports.osm_unreadable", [Problem(
            "imports.reader_message", {"detail": str(exc).splitlines()[0]}, field="file")],
            {"name": path.name}) from exc
    report = OsmImportReport(source=path.name, dry_run=dry_run, repaired=repaired,
                             dropped=dropped)
    report.read = {k: v.rows_read if v.rows_read >= 0 else len(v.geoms)
                   for k, v in layers.items()}
    total_read = sum(len(v.geoms) for v in layers.values())
    report_progress(progress, "read", total_read, total_read)
    if total_read == 0:
        raise ValidationError("imports.osm_no_features",
                              [Problem("imports.osm_no_geometries", field="file")],
                              {"name": path.name})
    return layers, report


def _write(conn: Connection, layers: dict[str, Layer], types: list[dict[str, Any]],
           params: OsmImportParams, metric: CRS, report: OsmImportReport,
           progress: Progress | None) -> None:
    report.import_id = int(conn.execute(sa.text(
        "INSERT INTO import_run (kind, source_file, actor) VALUES ('osm', :f, :a) RETURNING id"),
        {"f": report.source, "a": params.actor}).scalar_one())
    lines, polys, points = layers["lines"], layers["multipolygons"], layers["points"]
    hw = write_streets(conn, lines, params, report, progress)
    bmask, lu_mask = write_buildings(conn, polys, params, metric, report, progress)
    estates, candidates = write_estates(conn, polys, bmask, lu_mask, params, metric, report,
                                        progress)
    block_estates = write_blocks(conn, lines, hw, params, metric, report, progress)
    report.inserted["estate"] = estates + block_estates
    report.skipped_existing["estate"] = candidates - estates
    named = name_estates(conn, report.import_id, layers, metric)
    if any(named.values()):
        report.notes.append("unnamed estates named from their " + ", ".join(
            f"{k} {v}" for k, v in named.items() if v))
    write_facilities(conn, points, polys, types, params, report, progress)
    write_landcover(conn, polys, lines, params, report)
    link_and_finish(conn, metric, report, progress)


def write_streets(conn: Connection, lines: Layer, params: OsmImportParams,
                  report: OsmImportReport, progress: Progress | None) -> Mask:
    """``highway=*`` lines → ``osm_line``; returns which lines are streets."""
    hw = lines.tags["highway"].notna().to_numpy(dtype=bool, copy=True)
    hw &= np.array([g.geom_type == "LineString" for g in lines.geoms], dtype=bool)
    lt = lines.tags[hw]
    tag_records = lt[list(NETWORK_TAG_KEYS)].to_dict("records")
    tags_json = [json.dumps({k: v for k, v in r.items() if v is not None and v == v},
                            ensure_ascii=False) for r in tag_records]
    report_progress(progress, "streets", 0, int(hw.sum()))
    line_src = ("unnest(CAST(:ids AS text[]), CAST(:hw AS text[]), CAST(:names AS text[]), "
                "CAST(:tags AS jsonb[]), CAST(:wkbs AS bytea[])) "
                "AS n(osm_id, highway, name, tags, wkb)")
    line_binds = {"import_id": report.import_id, "source": f"osm:{report.source}",
                  "ids": list(lines.osm_ids[hw]),
                  "hw": str_or_none(lt["highway"]), "names": first_name(lt),
                  "tags": tags_json, "wkbs": ewkb(lines.geoms[hw])}
    sync_existing(
        conn, "osm_line", line_src, "t.osm_id = n.osm_id",
        "t.highway IS DISTINCT FROM n.highway OR t.name IS DISTINCT FROM n.name "
        "OR t.tags IS DISTINCT FROM n.tags OR ST_AsEWKB(t.geom) <> n.wkb",
        "highway = n.highway, name = n.name, tags = n.tags, geom = ST_GeomFromEWKB(n.wkb), "
        "import_id = :import_id", line_binds, params.update_existing, report)
    n_lines = conn.execute(sa.text(
        f"""
        INSERT INTO osm_line (osm_id, highway, name, tags, source, import_id, geom)
        SELECT n.osm_id, n.highway, n.name, n.tags, :source, :import_id,
               ST_GeomFromEWKB(n.wkb)
        FROM {line_src}
        WHERE NOT EXISTS (SELECT 1 FROM osm_line o WHERE o.osm_id = n.osm_id)
        """), line_binds).rowcount  # noqa: S608 - constant fragment
    report.inserted["osm_line"] = int(n_lines)
    report.skipped_existing["osm_line"] = int(hw.sum()) - int(n_lines)
    report_progress(progress, "streets", int(hw.sum()), int(hw.sum()))
    return hw


def _building_binds(polys: Layer, params: OsmImportParams, metric: CRS
                    ) -> tuple[dict[str, Any], Mask, Mask]:
    """Bind arrays of the buildings (with estimated population), the building mask and
    the ``landuse=residential`` mask of the polygons."""
    bmask = (polys.tags["building"].notna() & (polys.tags["building"] != "no")).to_numpy(
        dtype=bool, copy=True)
    bt = polys.tags[bmask]
    bgeoms = polys.geoms[bmask]
    bmetric = gcrs.to_metric(bgeoms, metric)
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
    binds = {
        "ids": list(polys.osm_ids[bmask]),
        "names": first_name(bt), "btype": list(btype),
        "residential": [bool(x) for x in residential],
        "levels": [None if np.isnan(x) else int(x) for x in levels],
        "height": [None if np.isnan(x) else float(x) for x in height],
        "footprint": [float(x) for x in footprint],
        "households": [int(x) for x in households], "residents": [int(x) for x in residents],
        "wkbs": ewkb(bgeoms)}
    return binds, bmask, lu_mask


_BUILDINGS = ("unnest(CAST(:ids AS text[]), CAST(:names AS text[]), CAST(:btype AS text[]), "
              "CAST(:residential AS boolean[]), CAST(:levels AS int[]), "
              "CAST(:height AS float8[]), CAST(:footprint AS float8[]), "
              "CAST(:households AS int[]), CAST(:residents AS int[]), "
              "CAST(:wkbs AS bytea[])) AS n(osm_id, name, btype, residential, levels, height, "
              "footprint, households, residents, wkb)")
# population figures the city imported (population_source 'imported') are kept
_ESTIMATED = "t.population_source IN ('estimated', 'none')"
_BUILDING_DIFFERS = (
    "t.name IS DISTINCT FROM n.name OR t.building_type IS DISTINCT FROM n.btype "
    "OR t.residential IS DISTINCT FROM n.residential OR t.levels IS DISTINCT FROM n.levels "
    "OR t.height_m IS DISTINCT FROM n.height "
    "OR ST_AsEWKB(t.geom) <> ST_AsEWKB(ST_Multi(ST_GeomFromEWKB(n.wkb)))")
_BUILDING_ASSIGN = (
    "name = n.name, building_type = n.btype, residential = n.residential, "
    "levels = n.levels, height_m = n.height, footprint_m2 = n.footprint, "
    f"households = CASE WHEN {_ESTIMATED} THEN n.households ELSE t.households END, "
    f"residents = CASE WHEN {_ESTIMATED} THEN n.residents ELSE t.residents END, "
    f"population_source = CASE WHEN {_ESTIMATED} THEN CASE WHEN n.residential "
    "THEN 'estimated' ELSE 'none' END ELSE t.population_source END, "
    "geom = ST_Multi(ST_GeomFromEWKB(n.wkb)), import_id = :import_id")


def write_buildings(conn: Connection, polys: Layer, params: OsmImportParams, metric: CRS,
                    report: OsmImportReport, progress: Progress | None) -> tuple[Mask, Mask]:
    """``building=*`` polygons → ``building`` with estimated population; returns the
    building mask and the ``landuse=residential`` mask of the polygons."""
    bbinds, bmask, lu_mask = _building_binds(polys, params, metric)
    bbinds.update(source=f"osm:{report.source}", import_id=report.import_id)
    total = int(bmask.sum())
    report_progress(progress, "buildings", 0, total)
    changed = sync_existing(conn, "building", _BUILDINGS, "t.osm_id = n.osm_id",
                            _BUILDING_DIFFERS, _BUILDING_ASSIGN, bbinds,
                            params.update_existing, report)
    if changed:  # the communities' unit cells are rebuilt when next needed
        conn.execute(sa.text(
            "DELETE FROM grid_cell WHERE community_id IN (SELECT DISTINCT community_id "
            "FROM building WHERE id = ANY(:ids))"), {"ids": changed})
    res = conn.execute(sa.text(
        f"""
        INSERT INTO building (osm_id, name, building_type, residential, levels, height_m,
                              footprint_m2, households, residents, population_source,
                              source, import_id, geom)
        SELECT n.osm_id, n.name, n.btype, n.residential, n.levels, n.height, n.footprint,
               n.households, n.residents,
               CASE WHEN n.residential THEN 'estimated' ELSE 'none' END,
               :source, :import_id, ST_Multi(ST_GeomFromEWKB(n.wkb))
        FROM {_BUILDINGS}
        WHERE NOT EXISTS (SELECT 1 FROM building b WHERE b.osm_id = n.osm_id)
        RETURNING residential, residents, households
        """), bbinds).all()  # noqa: S608 - constant fragment
    report.inserted["building"] = len(res)
    report.skipped_existing["building"] = total - len(res)
    report.estimated_buildings = sum(1 for r in res if r[0])
    report.estimated_residents = sum(int(r[1]) for r in res)
    report.estimated_households = sum(int(r[2]) for r in res)
    report_progress(progress, "buildings", total, total)
    return bmask, lu_mask


def write_estates(conn: Connection, polys: Layer, bmask: Mask, lu_mask: Mask,
                  params: OsmImportParams, metric: CRS, report: OsmImportReport,
                  progress: Progress | None) -> tuple[int, int]:
    """Residential landuse and named residential areas → ``estate``; returns the number
    inserted and the number of candidates."""
    named = polys.tags["name"].notna() | polys.tags["name:zh"].notna()
    place_area = (polys.tags["place"].isin(["neighbourhood", "quarter"]) & named).to_numpy(
        dtype=bool, copy=True)
    if place_area.any():
        areas = shapely.area(gcrs.to_metric(polys.geoms[place_area], metric))
        place_area[np.flatnonzero(place_area)[areas > params.max_named_area_m2]] = False
    named_res = (polys.tags["residential"].notna() & named).to_numpy() | place_area
    emask = lu_mask | (named_res & ~bmask)
    et = polys.tags[emask]
    origin = np.where(lu_mask[emask], "osm_landuse", "osm_named_area")
    enames = first_name(et)  # unnamed: a placeholder, then a readable name (.names)
    esrc = ("unnest(CAST(:ids AS text[]), CAST(:names AS text[]), CAST(:origin AS text[]), "
            "CAST(:wkbs AS bytea[])) AS n(osm_id, name, origin, wkb)")
    ebinds = {"source": f"osm:{report.source}", "import_id": report.import_id,
              "ids": list(polys.osm_ids[emask]), "names": enames, "origin": list(origin),
              "wkbs": ewkb(polys.geoms[emask])}
    sync_existing(
        conn, "estate", esrc, "t.osm_id = n.osm_id",
        "t.name IS DISTINCT FROM coalesce(n.name, t.name) "
        "OR ST_AsEWKB(t.geom) <> ST_AsEWKB(ST_Multi(ST_GeomFromEWKB(n.wkb)))",
        "name = coalesce(n.name, t.name), name_source = CASE WHEN n.name IS NULL "
        "THEN t.name_source ELSE 'osm' END, geom = ST_Multi(ST_GeomFromEWKB(n.wkb)), "
        "import_id = :import_id", ebinds, params.update_existing, report)
    rows = conn.execute(sa.text(
        f"""
        INSERT INTO estate (osm_id, name, name_source, derived_from, source, import_id, geom)
        SELECT n.osm_id, coalesce(n.name, '住宅区 ' || n.osm_id),
               CASE WHEN n.name IS NULL THEN NULL ELSE 'osm' END, n.origin, :source,
               :import_id, ST_Multi(ST_GeomFromEWKB(n.wkb))
        FROM {esrc}
        WHERE NOT EXISTS (SELECT 1 FROM estate e WHERE e.osm_id = n.osm_id)
        RETURNING derived_from
        """), ebinds).scalars().all()  # noqa: S608 - constant fragment
    for o in rows:
        report.estates_by_origin[o] = report.estates_by_origin.get(o, 0) + 1
    report_progress(progress, "estates", len(rows), int(emask.sum()))
    return len(rows), int(emask.sum())


_BLOCK_ESTATES = sa.text(
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
    """)


def write_blocks(conn: Connection, lines: Layer, hw: Mask, params: OsmImportParams,
                 metric: CRS, report: OsmImportReport, progress: Progress | None) -> int:
    """Street blocks from the road lines → ``street_block``, and blocks holding residential
    buildings outside every estate → ``estate``; returns the number of block estates."""
    source = f"osm:{report.source}"
    tunnel = lines.tags["tunnel"].to_numpy() if "tunnel" in lines.tags else np.full(
        len(lines.tags), None)
    bl_mask = blocks_mod.block_lines_mask(lines.tags["highway"].to_numpy(), tunnel,
                                          params.blocks) & hw
    report_progress(progress, "blocks", 0, int(bl_mask.sum()))
    faces = blocks_mod.polygonize_lines(gcrs.to_metric(lines.geoms[bl_mask], metric),
                                        params.blocks)
    faces_4326 = gcrs.from_metric(faces, metric) if len(faces) else faces
    stored = blocks_mod.sync_blocks(conn, faces_4326, shapely.area(faces) if len(faces)
                                    else np.zeros(0), source, rebuild=params.update_existing)
    report.inserted["street_block"] = stored["inserted"]
    report.skipped_existing["street_block"] = stored["present"]
    report.changed_existing["street_block"] = stored["overlapping"] + stored["updated"]
    if stored["updated"] or stored["removed"] or stored["cut"]:
        report.updated["street_block"] = stored["updated"]
        report.notes.append(
            f"street blocks rebuilt where the new roads change them: {stored['updated']} "
            f"updated in place, {stored['removed']} replaced, {stored['cut']} cut back "
            "(held by a grid)")
    elif stored["overlapping"]:
        report.notes.append(
            f"{stored['overlapping']} new street blocks overlap stored ones and were left out "
            "(--update rebuilds them)")
    report_progress(progress, "blocks", len(faces), len(faces))
    n_block_estates = int(conn.execute(
        _BLOCK_ESTATES, {"source": source, "import_id": report.import_id}).rowcount)
    if n_block_estates:
        report.estates_by_origin["street_block"] = n_block_estates
        report.notes.append(
            f"{n_block_estates} estates derived from street blocks (blocks enclosed by roads "
            "holding residential buildings outside any OSM estate boundary); "
            "derived_from='street_block'")
    if len(faces):
        report.notes.append(
            f"{len(faces)} street blocks derived from the road network "
            f"({int(bl_mask.sum())} road lines of classes "
            f"{', '.join(sorted(params.blocks.highways))})")
    return n_block_estates


def link_and_finish(conn: Connection, metric: CRS, report: OsmImportReport,
                    progress: Progress | None) -> None:
    """Link buildings to estates and communities, then store the report in ``import_run``."""
    report_progress(progress, "link", 0, None)
    link_buildings_to_estates(conn)
    link_to_communities(conn)
    report.residential_without_estate = int(conn.execute(sa.text(
        "SELECT count(*) FROM building WHERE import_id = :id AND residential "
        "AND estate_id IS NULL"), {"id": report.import_id}).scalar_one())
    if report.residential_without_estate:
        report.notes.append(
            f"{report.residential_without_estate} residential buildings lie in no estate and no "
            "street block (outside the road network's closed faces)")
    report.notes.append(
        f"measured in {metric.name}; repaired {len(report.repaired)}, dropped "
        f"{len(report.dropped)} geometries")
    conn.execute(sa.text("UPDATE import_run SET finished_at = now(), report = CAST(:r AS jsonb) "
                         "WHERE id = :id"),
                 {"r": json.dumps(report.as_dict(), ensure_ascii=False), "id": report.import_id})
