"""The sample district: real OSM data of the Chelsea extract plus seeded synthetic
administration (docs/sample-district.md).

Real: streets, buildings and POIs of ``data/geo/osm/chelsea.osm.pbf`` (© OpenStreetMap
contributors, ODbL 1.0), street blocks derived from its road network. Synthetic
(``synthetic = true``, names marked 合成示例): one district and two streets with the real NBS
codes and names of 黄浦区 (reference/grids.md §6), communities built from contiguous groups of
street blocks with real committee codes, grids (via :mod:`gridmap.grids` when available),
incidents (:mod:`gridmap.incidents`). Everything is deterministic for a given seed.

``load_sample`` is idempotent: a finished ``import_run`` of kind ``sample`` means the sample
is already there and nothing is loaded again.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt
import shapely
import sqlalchemy as sa
from pyproj import Transformer
from sqlalchemy.engine import Connection

from gridmap.config import DATA_GEO
from gridmap.crs import metric_crs
from gridmap.errors import Conflict, NotFound
from gridmap.imports import linking, osm
from gridmap.imports.boundaries import Progress
from gridmap.imports.osm import ATTRIBUTION
from gridmap.reference import codes

SAMPLE_OSM = DATA_GEO / "osm" / "chelsea.osm.pbf"
SYNTHETIC_MARK = "（合成示例）"
DEFAULT_SEED = 20261123


@dataclass(frozen=True)
class SampleParams:
    """What the sample builder generates.

    Attributes
    ----------
    osm_path:
        The real OSM extract (its streets, buildings and POIs are kept as they are).
    district_code, street_codes:
        Real NBS codes the synthetic administration borrows (黄浦区, 南京东路街道, 外滩街道).
    communities_per_street:
        How many communities (居委会) each street is split into.
    grid_households_target:
        Households per grid for the fallback grid writer (reference/grids.md §3: 300–500).
    grid_seq_width:
        Digits of the grid sequence (3 → 15-digit grid codes).
    grids_valid_from:
        Start of validity of the first grid version.
    incidents, incidents_start, incidents_end:
        Synthetic incidents (skipped when 0 or when gridmap.incidents is missing).
    with_network, with_coverage:
        Build the walking network (gridmap.network) and the coverage (gridmap.coverage).
    use_grids_module:
        Draw grids with gridmap.grids.auto_partition (else the block-grouping fallback).
    """

    osm_path: Path = SAMPLE_OSM
    district_code: str = "310101"
    street_codes: tuple[str, ...] = ("310101002", "310101013")
    communities_per_street: int = 5
    grid_households_target: int = 400
    grid_seq_width: int = 3
    grids_valid_from: dt.datetime = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    incidents: int = 3000
    incidents_start: dt.datetime | None = None
    """Default: ``incidents_days`` before ``incidents_end``."""
    incidents_end: dt.datetime | None = None
    """Default: the load time (to the hour), so the demo's "last 30 days" has cases."""
    incidents_days: int = 90
    with_network: bool = True
    with_coverage: bool = True
    use_grids_module: bool = True


@dataclass
class SampleReport:
    """What ``load_sample`` did."""

    already_loaded: bool
    import_id: int | None = None
    seed: int = DEFAULT_SEED
    osm: dict[str, Any] | None = None
    district: str = ""
    streets: list[dict[str, Any]] = field(default_factory=list)
    communities: list[dict[str, Any]] = field(default_factory=list)
    blocks_assigned: int = 0
    blocks_unassigned: int = 0
    buildings_assigned: int = 0
    buildings_unassigned: int = 0
    grids: int = 0
    grid_method: str = ""
    incidents: int | None = None
    network: dict[str, Any] | None = None
    coverage: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    attribution: str = ATTRIBUTION
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return json.loads(json.dumps(asdict(self), default=str))

    def lines(self) -> list[str]:
        """Human-readable summary."""
        if self.already_loaded:
            return [f"sample district already loaded (import run {self.import_id}); "
                    "nothing loaded again", self.attribution]
        out = [f"sample district loaded (import run {self.import_id}, seed {self.seed}, "
               f"{self.elapsed_s:.1f} s)"]
        if self.osm:
            ins = self.osm.get("inserted", {})
            out.append("real OSM data: " + ", ".join(f"{k} {v}" for k, v in ins.items()))
        out.append(f"synthetic district {self.district}; streets: "
                   + ", ".join(f"{s['code']} {s['name']}" for s in self.streets))
        out.append(f"synthetic communities: {len(self.communities)} ("
                   + ", ".join(c["code"] for c in self.communities) + ")")
        out.append(f"street blocks assigned {self.blocks_assigned}, unassigned "
                   f"{self.blocks_unassigned}; buildings assigned {self.buildings_assigned}, "
                   f"outside every community {self.buildings_unassigned}")
        out.append(f"grids: {self.grids} ({self.grid_method})")
        out.append("incidents: " + ("skipped" if self.incidents is None else str(self.incidents)))
        out.append("walking network: " + ("skipped" if self.network is None else "built"))
        out.extend(f"note: {n}" for n in self.notes)
        out.append(self.attribution + " — communities, grids and incidents are synthetic")
        return out


def _progress(progress: Progress | None, stage: str, done: int, total: int | None) -> None:
    if progress is not None:
        progress(stage, done, total)


def previous_run(conn: Connection) -> int | None:
    """Id of the finished sample import run, if the sample was loaded before."""
    return conn.execute(sa.text(
        "SELECT id FROM import_run WHERE kind = 'sample' AND finished_at IS NOT NULL "
        "ORDER BY id LIMIT 1")).scalar()


def load_sample(
    conn: Connection, *, seed: int = DEFAULT_SEED, params: SampleParams | None = None,
    osm_params: osm.OsmImportParams | None = None, progress: Progress | None = None,
) -> SampleReport:
    """Load the sample district (real OSM data + seeded synthetic administration).

    Parameters
    ----------
    conn:
        Connection; the caller commits. Everything happens in one savepoint.
    seed:
        Seed of every random choice (grids, incidents); same seed, same sample.
    params, osm_params:
        See :class:`SampleParams` and :class:`gridmap.osm.OsmImportParams`.
    progress:
        Optional progress callback.

    Returns
    -------
    SampleReport
        ``already_loaded=True`` (and nothing written) if a previous sample run exists.

    Raises
    ------
    Conflict
        If the borrowed district/street/community codes are already used by real data.
    NotFound
        If the admin-code catalogue lacks the codes (run ``gridmap db init``).
    """
    p = params or SampleParams()
    started = time.monotonic()
    prev = previous_run(conn)
    if prev is not None:
        return SampleReport(already_loaded=True, import_id=prev, seed=seed)
    report = SampleReport(already_loaded=False, seed=seed)
    with conn.begin_nested():
        report.import_id = int(conn.execute(sa.text(
            "INSERT INTO import_run (kind, source_file, actor) VALUES ('sample', :f, 'sample') "
            "RETURNING id"), {"f": p.osm_path.name}).scalar_one())
        osm_report = osm.import_osm(conn, p.osm_path, params=osm_params, progress=progress)
        report.osm = {"import_id": osm_report.import_id, "inserted": osm_report.inserted,
                      "repaired": len(osm_report.repaired), "dropped": len(osm_report.dropped)}
        _build_administration(conn, p, report, progress)
        _build_grids(conn, p, seed, report, progress)
        _extras(conn, p, seed, report, progress)
        report.elapsed_s = round(time.monotonic() - started, 1)
        conn.execute(sa.text(
            "UPDATE import_run SET finished_at = now(), report = CAST(:r AS jsonb) "
            "WHERE id = :id"), {"r": json.dumps(report.as_dict(), ensure_ascii=False),
                                "id": report.import_id})
    return report


# --------------------------------------------------------------------------- partition


def adjacency_graph(geoms: npt.NDArray[np.object_], min_shared_m: float = 1.0) -> nx.Graph:
    """Graph of polygons (metric CRS) sharing at least ``min_shared_m`` of boundary."""
    g = nx.Graph()
    g.add_nodes_from(range(len(geoms)))
    if len(geoms) < 2:
        return g
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    if len(a):
        shared = shapely.length(shapely.intersection(shapely.boundary(geoms[a]),
                                                     shapely.boundary(geoms[b])))
        g.add_edges_from((int(i), int(j)) for i, j in zip(a[shared >= min_shared_m],
                                                          b[shared >= min_shared_m], strict=True))
    return g


def partition_connected(
    graph: nx.Graph, nodes: Sequence[int], weights: npt.NDArray[np.float64],
    points: npt.NDArray[np.float64], k: int,
) -> list[list[int]]:
    """Split connected ``nodes`` of ``graph`` into ``k`` connected parts of similar weight.

    Deterministic greedy region growing: each part starts at the remaining node farthest
    north-west that is not a cut vertex, and grows by the neighbour nearest to its start,
    preferring neighbours whose removal keeps the rest connected, until it holds its share
    of the remaining weight. Pieces of the rest cut off from its largest component are then
    absorbed (they touch the part), so every part stays connected. The last part is the rest.

    Parameters
    ----------
    graph:
        Adjacency of all units; only ``nodes`` are used.
    weights, points:
        Weight and representative point (metric x, y) of every unit (indexed by node).
    k:
        Number of parts (fewer if there are fewer nodes).
    """
    remaining = set(int(n) for n in nodes)
    parts: list[list[int]] = []
    k = max(1, min(k, len(remaining)))
    for i in range(k - 1):
        if len(remaining) < 2:
            break
        target = float(sum(weights[n] for n in remaining)) / (k - i)
        cut = set(nx.articulation_points(graph.subgraph(remaining)))
        start = min(remaining - cut or remaining,
                    key=lambda n: (points[n][0] - points[n][1], n))
        region = [start]
        rest = remaining - {start}
        acc = float(weights[start])
        while acc < target and rest:
            cands = sorted(
                {m for r in region for m in graph.neighbors(r) if m in rest},
                key=lambda m: (float(np.hypot(*(points[m] - points[start]))), m))
            if not cands:
                break
            chosen = next((c for c in cands
                           if len(rest) == 1 or nx.is_connected(graph.subgraph(rest - {c}))),
                          cands[0])
            region.append(chosen)
            rest.discard(chosen)
            acc += float(weights[chosen])
        if rest:
            comps = sorted(nx.connected_components(graph.subgraph(rest)),
                           key=lambda c: (-len(c), min(c)))
            for piece in comps[1:]:
                region.extend(piece)
                rest -= piece
        parts.append(sorted(region))
        remaining = rest
    if remaining:
        parts.append(sorted(remaining))
    return parts


# --------------------------------------------------------------------------- administration


@dataclass
class _Blocks:
    ids: npt.NDArray[np.int64]
    geoms_m: npt.NDArray[np.object_]
    points: npt.NDArray[np.float64]
    households: npt.NDArray[np.float64]


def _load_blocks(conn: Connection, source: str) -> _Blocks:
    rows = conn.execute(sa.text(
        """
        SELECT sb.id, ST_AsBinary(sb.geom),
               coalesce((SELECT sum(b.households) FROM building b
                         WHERE b.geom && sb.geom
                           AND ST_Intersects(sb.geom, ST_PointOnSurface(b.geom))), 0)
        FROM street_block sb
        WHERE sb.source = :source AND sb.community_id IS NULL
        ORDER BY sb.id
        """), {"source": source}).all()
    if not rows:
        raise NotFound(f"no unassigned street blocks from {source}; cannot build the sample")
    geoms_m = to_metric(np.asarray(shapely.from_wkb([bytes(r[1]) for r in rows]), dtype=object))
    pts = shapely.get_coordinates(shapely.point_on_surface(geoms_m))
    return _Blocks(np.array([r[0] for r in rows], dtype=np.int64), geoms_m, pts,
                   np.array([float(r[2]) for r in rows]))


def to_metric(geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """EPSG:4326 geometries in the metric CRS of their extent (``crs.metric_crs``)."""
    fwd = Transformer.from_crs(4326, metric_crs(*shapely.total_bounds(geoms)), always_xy=True)
    return np.asarray(shapely.transform(
        geoms, lambda c: np.column_stack(fwd.transform(c[:, 0], c[:, 1]))), dtype=object)


def _admin_names(conn: Connection, p: SampleParams) -> tuple[str, dict[str, str],
                                                             dict[str, list[tuple[str, str]]]]:
    district = conn.execute(sa.text(
        "SELECT name FROM admin_division WHERE code = :c AND level = 'district'"),
        {"c": p.district_code}).scalar()
    streets: dict[str, str] = dict(conn.execute(sa.text(
        "SELECT code, name FROM admin_division WHERE level = 'street' AND code = ANY(:c) "
        "AND parent_code = :d"), {"c": list(p.street_codes), "d": p.district_code}).all())
    if district is None or len(streets) != len(p.street_codes):
        raise NotFound(f"admin codes {p.district_code}/{', '.join(p.street_codes)} are not in "
                       "the admin_division catalogue; run 'gridmap db init'")
    committees: dict[str, list[tuple[str, str]]] = {}
    for s in p.street_codes:
        committees[s] = [(str(r[0]), str(r[1])) for r in conn.execute(sa.text(
            "SELECT code, name FROM admin_division WHERE level = 'community' "
            "AND parent_code = :s ORDER BY code"), {"s": s}).all()]
    return str(district), streets, committees


def _check_codes_free(conn: Connection, p: SampleParams, community_codes: list[str]) -> None:
    taken = conn.execute(sa.text(
        "SELECT code FROM district WHERE code = :d UNION ALL "
        "SELECT code FROM street WHERE code = ANY(:s) UNION ALL "
        "SELECT code FROM community WHERE code = ANY(:c)"),
        {"d": p.district_code, "s": list(p.street_codes), "c": community_codes}).scalars().all()
    if taken:
        raise Conflict("the sample's division codes are already used: " + ", ".join(taken)
                       + " (load the sample into a database without them)")


def _build_administration(conn: Connection, p: SampleParams, report: SampleReport,
                          progress: Progress | None) -> None:
    _progress(progress, "communities", 0, None)
    blocks = _load_blocks(conn, f"osm:{p.osm_path.name}")
    graph = adjacency_graph(blocks.geoms_m)
    component = max(nx.connected_components(graph), key=lambda c: (len(c), -min(c)))
    report.blocks_unassigned = len(blocks.ids) - len(component)
    if report.blocks_unassigned:
        report.notes.append(
            f"{report.blocks_unassigned} street blocks are not connected to the main road-block "
            "area (separated by dropped slivers or water) and belong to no community")
    weights = blocks.households + 1.0
    district_name, street_names, committees = _admin_names(conn, p)
    street_parts = partition_connected(graph, sorted(component), weights, blocks.points,
                                       len(p.street_codes))
    plan: list[tuple[str, list[list[int]]]] = []
    for s_code, s_nodes in zip(p.street_codes, street_parts, strict=False):
        k = min(p.communities_per_street, len(committees[s_code]))
        comm_parts = partition_connected(graph, s_nodes, weights, blocks.points, k)
        # communities numbered in reading order (codes.reading_order) of their blocks' centre
        centres = [tuple(blocks.points[part].mean(axis=0)) for part in comm_parts]
        order = codes.reading_order(centres, band_height=400.0)
        plan.append((s_code, [comm_parts[i] for i in order]))
    all_codes = [committees[s][i][0] for s, parts in plan for i in range(len(parts))]
    _check_codes_free(conn, p, all_codes)

    district_id = int(conn.execute(sa.text(
        "INSERT INTO district (code, name, synthetic, source, import_id, geom) "
        "VALUES (:code, :name, true, 'sample', :imp, ST_GeomFromText('MULTIPOLYGON EMPTY', 4326))"
        " RETURNING id"), {"code": p.district_code, "name": district_name + SYNTHETIC_MARK,
                           "imp": report.import_id}).scalar_one())
    report.district = f"{p.district_code} {district_name}{SYNTHETIC_MARK}"
    for s_code, parts in plan:
        street_id = int(conn.execute(sa.text(
            "INSERT INTO street (code, district_id, name, synthetic, source, import_id, geom) "
            "VALUES (:code, :d, :name, true, 'sample', :imp, "
            "ST_GeomFromText('MULTIPOLYGON EMPTY', 4326)) RETURNING id"),
            {"code": s_code, "d": district_id, "name": street_names[s_code] + SYNTHETIC_MARK,
             "imp": report.import_id}).scalar_one())
        report.streets.append({"code": s_code, "name": street_names[s_code] + SYNTHETIC_MARK})
        for i, part in enumerate(parts):
            c_code, c_name = committees[s_code][i]
            cid = int(conn.execute(sa.text(
                "INSERT INTO community (code, street_id, name, synthetic, source, import_id, geom)"
                " VALUES (:code, :s, :name, true, 'sample', :imp, "
                "ST_GeomFromText('MULTIPOLYGON EMPTY', 4326)) RETURNING id"),
                {"code": c_code, "s": street_id, "name": c_name + SYNTHETIC_MARK,
                 "imp": report.import_id}).scalar_one())
            block_ids = [int(blocks.ids[n]) for n in part]
            conn.execute(sa.text(
                "UPDATE street_block SET community_id = :c WHERE id = ANY(:ids)"),
                {"c": cid, "ids": block_ids})
            report.communities.append({"id": cid, "code": c_code, "name": c_name + SYNTHETIC_MARK,
                                       "blocks": len(block_ids),
                                       "households": int(blocks.households[part].sum())})
    report.blocks_assigned = len(component)
    # geometries: community = union of its blocks, street = union of its communities,
    # district = union of its streets (children inside parents by construction)
    conn.execute(sa.text(
        """
        UPDATE community c SET geom = u.g
        FROM (SELECT community_id, ST_Multi(ST_Union(geom)) AS g FROM street_block
              WHERE community_id IS NOT NULL GROUP BY community_id) u
        WHERE c.id = u.community_id AND c.import_id = :imp
        """), {"imp": report.import_id})
    conn.execute(sa.text(
        """
        UPDATE street s SET geom = u.g
        FROM (SELECT street_id, ST_Multi(ST_Union(geom)) AS g FROM community
              WHERE import_id = :imp GROUP BY street_id) u
        WHERE s.id = u.street_id
        """), {"imp": report.import_id})
    conn.execute(sa.text(
        """
        UPDATE district d SET geom = (SELECT ST_Multi(ST_Union(geom)) FROM street
                                      WHERE district_id = d.id)
        WHERE d.id = :d
        """), {"d": district_id})
    linking.link_to_communities(conn)
    row = conn.execute(sa.text(
        "SELECT count(*) FILTER (WHERE community_id IS NOT NULL), "
        "count(*) FILTER (WHERE community_id IS NULL) FROM building WHERE source = :src"),
        {"src": f"osm:{p.osm_path.name}"}).one()
    report.buildings_assigned, report.buildings_unassigned = int(row[0]), int(row[1])
    _progress(progress, "communities", len(report.communities), len(report.communities))


# --------------------------------------------------------------------------- grids


def _build_grids(conn: Connection, p: SampleParams, seed: int, report: SampleReport,
                 progress: Progress | None) -> None:
    ids = [int(c["id"]) for c in report.communities]
    _progress(progress, "grids", 0, len(ids))
    from gridmap import grids as grids_mod

    method = f"fallback: whole street blocks grouped to ~{p.grid_households_target} households"
    if p.use_grids_module:
        try:
            with conn.begin_nested():
                for cid in ids:
                    vid = grids_mod.auto_partition(conn, cid, seed=seed, actor="sample")
                    grids_mod.activate(conn, vid, effective=p.grids_valid_from, actor="sample")
            method = "gridmap.grids.auto_partition + activate"
        except Exception as exc:  # noqa: BLE001 - the fallback keeps the demo usable
            report.notes.append(f"gridmap.grids failed ({type(exc).__name__}: {exc}); "
                                "grids written by the sample's fallback instead")
            write_block_grids(conn, ids, households_target=p.grid_households_target,
                              valid_from=p.grids_valid_from, width=p.grid_seq_width)
    else:
        write_block_grids(conn, ids, households_target=p.grid_households_target,
                          valid_from=p.grids_valid_from, width=p.grid_seq_width)
    conn.execute(sa.text(
        "UPDATE grid SET synthetic = true, "
        "name = coalesce(name, '网格' || lpad(grid_seq::text, 3, '0')) "
        "|| CASE WHEN coalesce(name, '') LIKE '%合成%' THEN '' ELSE :mark END "
        "WHERE community_id = ANY(:ids)"), {"ids": ids, "mark": SYNTHETIC_MARK})
    report.grids = int(conn.execute(sa.text(
        "SELECT count(*) FROM grid WHERE community_id = ANY(:ids)"), {"ids": ids}).scalar_one())
    report.grid_method = method
    _progress(progress, "grids", len(ids), len(ids))


def write_block_grids(conn: Connection, community_ids: Sequence[int], *,
                      households_target: int = 400,
                      valid_from: dt.datetime = dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
                      width: int = 3) -> int:
    """Fallback grid writer: group each community's whole street blocks into grids.

    Blocks are grouped into contiguous sets of about ``households_target`` households
    (:func:`partition_connected`), numbered in reading order (``codes.reading_order``) with
    ``codes.grid_code``; one active generation-1 version valid from ``valid_from`` per
    community, grid geometry = union of its blocks, members of unit_type ``block``.
    Returns the number of grids written.
    """
    total = 0
    with conn.begin_nested():
        for cid in community_ids:
            code = conn.execute(sa.text("SELECT code FROM community WHERE id = :c"),
                                {"c": cid}).scalar_one()
            rows = conn.execute(sa.text(
                """
                SELECT sb.id, ST_AsBinary(sb.geom),
                       coalesce((SELECT sum(b.households) FROM building b
                                 WHERE b.community_id = :c AND b.geom && sb.geom
                                   AND ST_Intersects(sb.geom, ST_PointOnSurface(b.geom))), 0)
                FROM street_block sb WHERE sb.community_id = :c ORDER BY sb.id
                """), {"c": cid}).all()
            if not rows:
                continue
            gm = to_metric(np.asarray(shapely.from_wkb([bytes(r[1]) for r in rows]),
                                      dtype=object))
            pts = shapely.get_coordinates(shapely.point_on_surface(gm))
            hh = np.array([float(r[2]) for r in rows])
            graph = adjacency_graph(gm)
            k = max(1, int(round(hh.sum() / households_target)))
            parts: list[list[int]] = []
            for comp in sorted(nx.connected_components(graph), key=min):
                share = max(1, int(round(k * hh[list(comp)].sum() / max(hh.sum(), 1.0))))
                parts += partition_connected(graph, sorted(comp), hh + 1.0, pts, share)
            centres = [tuple(pts[part].mean(axis=0)) for part in parts]
            order = codes.reading_order(centres, band_height=200.0)
            vid = int(conn.execute(sa.text(
                "INSERT INTO grid_version (community_id, generation, status, valid_from, "
                "created_by, activated_at, note) VALUES (:c, 1, 'active', :vf, 'sample', now(), "
                "'sample fallback: street blocks grouped') RETURNING id"),
                {"c": cid, "vf": valid_from}).scalar_one())
            for seq, i in enumerate(order, start=1):
                block_ids = [int(rows[n][0]) for n in parts[i]]
                gid = int(conn.execute(sa.text(
                    "INSERT INTO grid (community_id, grid_seq, grid_code, synthetic) "
                    "VALUES (:c, :s, :code, true) RETURNING id"),
                    {"c": cid, "s": seq, "code": codes.grid_code(code, seq, width)}).scalar_one())
                conn.execute(sa.text(
                    "INSERT INTO grid_geometry (version_id, grid_id, geom) "
                    "SELECT :v, :g, ST_Multi(ST_Union(geom)) FROM street_block "
                    "WHERE id = ANY(:ids)"), {"v": vid, "g": gid, "ids": block_ids})
                conn.execute(sa.text(
                    "INSERT INTO grid_member (version_id, unit_type, unit_id, grid_id) "
                    "SELECT :v, 'block', u, :g FROM unnest(CAST(:ids AS int[])) AS u"),
                    {"v": vid, "g": gid, "ids": block_ids})
                total += 1
    return total


# --------------------------------------------------------------------------- extras


def _extras(conn: Connection, p: SampleParams, seed: int, report: SampleReport,
            progress: Progress | None) -> None:
    from gridmap.access import coverage, network
    from gridmap.demo import synth

    if p.incidents > 0:
        end = p.incidents_end or dt.datetime.now(dt.UTC).replace(minute=0, second=0,
                                                                 microsecond=0)
        start = p.incidents_start or end - dt.timedelta(days=p.incidents_days)
        _progress(progress, "incidents", 0, p.incidents)
        report.incidents = synth.synthesise(conn, p.incidents, seed=seed, start=start,
                                            end=end)
        _progress(progress, "incidents", report.incidents or 0, p.incidents)
    if not p.with_network:
        report.notes.append("walking network and coverage skipped (with_network=False)")
        return
    _progress(progress, "network", 0, None)
    report.network = _plain(network.build_network(conn))
    if not p.with_coverage:
        report.notes.append("coverage skipped (with_coverage=False)")
        return
    _progress(progress, "coverage", 0, None)
    report.coverage = _plain(coverage.refresh(conn))


def _plain(obj: Any) -> dict[str, Any]:
    """A JSON-friendly dict of a report object (dataclass, mapping or anything else)."""
    if hasattr(obj, "as_dict"):
        data = obj.as_dict()
    elif hasattr(obj, "__dataclass_fields__"):
        data = asdict(obj)
    elif isinstance(obj, dict):
        data = obj
    else:
        data = {"result": str(obj)}
    return dict(json.loads(json.dumps(data, default=str)))


# --------------------------------------------------------------------------- info


def sample_info(conn: Connection) -> dict[str, Any] | None:
    """What the loaded sample holds (None if it was never loaded)."""
    run = conn.execute(sa.text(
        "SELECT id, finished_at, report FROM import_run WHERE kind = 'sample' "
        "AND finished_at IS NOT NULL ORDER BY id LIMIT 1")).first()
    if run is None:
        return None
    counts = conn.execute(sa.text(
        """
        SELECT (SELECT count(*) FROM community WHERE import_id = :i),
               (SELECT count(*) FROM grid g JOIN community c ON c.id = g.community_id
                WHERE c.import_id = :i),
               (SELECT count(*) FROM building b JOIN community c ON c.id = b.community_id
                WHERE c.import_id = :i),
               (SELECT coalesce(sum(b.households), 0) FROM building b
                JOIN community c ON c.id = b.community_id WHERE c.import_id = :i)
        """), {"i": run[0]}).one()
    return {"import_id": run[0], "loaded_at": str(run[1]), "communities": int(counts[0]),
            "grids": int(counts[1]), "buildings": int(counts[2]), "households": int(counts[3]),
            "seed": (run[2] or {}).get("seed"), "attribution": osm.ATTRIBUTION}
