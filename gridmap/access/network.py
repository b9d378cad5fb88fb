"""Building the walking network from the imported OSM lines (``osm_line``): the foot
filter, noding at intersections, connected components (islands), stored in
``network_node`` / ``network_edge`` / ``network_build``.

Rules (reference/life_circle.md §5: "network distance, not buffers"; expressways
and railways are barriers):

- Only foot-accessible ways are kept (:func:`walkable_mask`): motorway/trunk
  (+ ``_link``) are excluded unless ``foot=yes|designated``; ``foot=no`` and
  ``access=no|private`` are excluded unless ``foot`` explicitly allows walking.
- Ground-level ways are noded at every geometric intersection. Ways on a bridge,
  in a tunnel or with a non-zero ``layer`` are connected only at shared vertices
  (OSM shared nodes), so a bridge does not connect to the street it passes over.
- Connected components are computed; islands (every component but the largest)
  are reported. Snapping (and therefore the analysis) uses the largest component
  by default (``NetworkParams.largest_component_only``).

The stored network is read back as a graph by :mod:`gridmap.access.graph`; distances on
it are in :mod:`gridmap.access.distances`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
import sqlalchemy as sa
from scipy import sparse
from scipy.sparse import csgraph
from sqlalchemy.engine import Connection

from gridmap import crs as gcrs
from gridmap.access import graph as walkgraph
from gridmap.access.distances import Sources as Sources
from gridmap.access.graph import Bools, Floats, Ints, NetworkParams, size_rank
from gridmap.access.graph import Snaps as Snaps
from gridmap.access.graph import WalkGraph as WalkGraph
from gridmap.access.graph import load_graph as load_graph
from gridmap.access.graph import make_graph as make_graph
from gridmap.access.graph import snap_points as snap_points
from gridmap.access.storage import copy_rows, ewkb_hex
from gridmap.errors import NotFound

# ``Sources``, ``Snaps``, ``WalkGraph``, ``load_graph``, ``make_graph`` and ``snap_points``
# are re-exported for callers that reach the graph through this module (benchmarks).

WALKABLE_HIGHWAYS: frozenset[str] = frozenset({
    "footway", "path", "steps", "pedestrian", "residential", "living_street", "service",
    "unclassified", "track", "corridor", "crossing", "cycleway", "bridleway", "road",
    "tertiary", "tertiary_link", "secondary", "secondary_link", "primary", "primary_link",
    "elevator", "platform", "sidewalk",
})
MAJOR_HIGHWAYS: frozenset[str] = frozenset({
    "tertiary", "tertiary_link", "secondary", "secondary_link", "primary", "primary_link",
})
BARRIER_HIGHWAYS: frozenset[str] = frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})
FOOT_YES: frozenset[str] = frozenset({"yes", "designated", "permissive", "official"})
SIDEWALK_NO: frozenset[str] = frozenset({"no", "none"})


@dataclass
class NetworkReport:
    """What :func:`build_network` did."""

    build_id: int
    lines_read: int
    lines_used: int
    lines_excluded: dict[str, int]
    nodes: int
    edges: int
    total_length_m: float
    components: int
    largest_component_edges: int
    islands: list[dict[str, Any]] = field(default_factory=list)
    fingerprint: str = ""
    metric_epsg: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)


# --------------------------------------------------------------------------- filtering


def _exclusion(hw: str | None, tg: dict[str, Any], require_sidewalk_on_major: bool) -> str:
    """Why a pedestrian may not use a way ('' when they may)."""
    foot = str(tg.get("foot") or "").lower()
    access = str(tg.get("access") or "").lower()
    sidewalk = str(tg.get("sidewalk") or tg.get("sidewalk:both") or "").lower()
    foot_yes = foot in FOOT_YES
    if hw is None:
        return "no highway tag"
    if hw in BARRIER_HIGHWAYS and not foot_yes:
        return f"highway={hw}"
    if foot in {"no", "use_sidepath"}:
        return f"foot={foot}"
    if access in {"no", "private"} and not foot_yes:
        return f"access={access}"
    if hw not in WALKABLE_HIGHWAYS and hw not in BARRIER_HIGHWAYS and not foot_yes:
        return f"highway={hw}"
    if require_sidewalk_on_major and hw in MAJOR_HIGHWAYS and sidewalk in SIDEWALK_NO \
            and not foot_yes:
        return "major road without sidewalk"
    return ""


def walkable_mask(
    highway: list[str | None], tags: list[dict[str, Any]], *, require_sidewalk_on_major: bool = False
) -> tuple[Bools, list[str]]:
    """Which ways a pedestrian may use, and the reason for each exclusion ('' when kept).

    Parameters
    ----------
    highway:
        ``highway`` value per way.
    tags:
        Other OSM tags per way (``foot``, ``access``, ``sidewalk``, ...).
    """
    reasons = [_exclusion(hw, tg, require_sidewalk_on_major)
               for hw, tg in zip(highway, tags, strict=True)]
    keep = np.array([r == "" for r in reasons], dtype=bool)
    return keep, reasons


def way_level(tags: dict[str, Any]) -> int:
    """0 for ground ways; the (non-zero) layer for bridges, tunnels and layered ways."""
    layer_raw = str(tags.get("layer") or "").strip()
    try:
        layer = int(float(layer_raw)) if layer_raw else 0
    except ValueError:
        layer = 0
    bridge = str(tags.get("bridge") or "no").lower() not in {"no", ""}
    tunnel = str(tags.get("tunnel") or "no").lower() not in {"no", ""}
    if layer == 0 and bridge:
        return 1
    if layer == 0 and tunnel:
        return -1
    return layer


# --------------------------------------------------------------------------- noding


def _keys(xy: Floats, precision: float) -> Ints:
    """Integer node key per coordinate (rounded to ``precision``)."""
    q = np.round(xy / precision).astype(np.int64)
    _, inv = np.unique(q, axis=0, return_inverse=True)
    return np.asarray(inv, dtype=np.int64).ravel()


def split_at_shared_vertices(
    lines: npt.NDArray[np.object_], precision: float
) -> tuple[npt.NDArray[np.object_], Ints]:
    """Split lines at every interior vertex that is an endpoint of, or shared with, another line.

    Returns the pieces and, per piece, the index of the line it came from.
    """
    xy, idx = shapely.get_coordinates(lines, return_index=True)
    if len(xy) == 0:
        return np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
    key = _keys(xy, precision)
    first = np.r_[True, idx[1:] != idx[:-1]]
    last = np.r_[idx[1:] != idx[:-1], True]
    endpoint = first | last
    n_keys = int(key.max()) + 1
    # distinct lines per key
    pair = np.unique(np.stack([key, idx], axis=1), axis=0)
    lines_per_key = np.bincount(pair[:, 0], minlength=n_keys)
    occurrences = np.bincount(key, minlength=n_keys)
    is_end_key = np.zeros(n_keys, dtype=bool)
    is_end_key[key[endpoint]] = True
    node_key = is_end_key | (lines_per_key >= 2) | (occurrences >= 3)
    split = node_key[key] & ~endpoint
    # duplicate split vertices: they end one piece and start the next
    rep = np.where(split, 2, 1)
    xy2 = np.repeat(xy, rep, axis=0)
    idx2 = np.repeat(idx, rep)
    split2 = np.repeat(split, rep)
    # the second copy of each split vertex starts a new piece
    second = np.zeros(len(xy2), dtype=bool)
    pos = np.cumsum(rep) - 1
    second[pos[split]] = True
    first2 = np.r_[True, idx2[1:] != idx2[:-1]]
    piece = np.cumsum(first2 | (second & split2)) - 1
    pieces = shapely.linestrings(xy2, indices=piece)
    parent = idx2[np.r_[True, piece[1:] != piece[:-1]]]
    return np.asarray(pieces, dtype=object), parent.astype(np.int64)


def node_lines(
    lines: npt.NDArray[np.object_], levels: Ints, precision: float = 0.01
) -> tuple[npt.NDArray[np.object_], Ints]:
    """Node metric lines: ground ways (level 0) at every intersection, the others at
    shared vertices only. Returns edge geometries and the input index per edge."""
    lines = np.asarray(lines, dtype=object)
    ground = np.flatnonzero(levels == 0)
    other = np.flatnonzero(levels != 0)
    geoms: list[npt.NDArray[np.object_]] = []
    parents: list[Ints] = []
    if len(ground):
        merged = shapely.union_all(lines[ground])
        parts = shapely.get_parts(merged)
        parts = parts[shapely.get_type_id(parts) == 1]
        mids = shapely.line_interpolate_point(parts, 0.5, normalized=True)
        tree = shapely.STRtree(lines[ground])
        near = tree.query_nearest(mids, all_matches=False)
        parent = np.empty(len(parts), dtype=np.int64)
        parent[near[0]] = ground[near[1]]
        geoms.append(np.asarray(parts, dtype=object))
        parents.append(parent)
    if len(other):
        geoms.append(lines[other])
        parents.append(other.astype(np.int64))
    if not geoms:
        return np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
    all_geoms = np.concatenate(geoms)
    all_parents = np.concatenate(parents)
    pieces, piece_parent = split_at_shared_vertices(all_geoms, precision)
    keep = shapely.length(pieces) > 0
    return pieces[keep], all_parents[piece_parent[keep]]


@dataclass
class Topology:
    """Nodes and edges of a noded network (metric coordinates)."""

    node_xy: Floats
    source: Ints
    target: Ints
    length: Floats
    component: Ints
    node_component: Ints


def topology(edges: npt.NDArray[np.object_], precision: float = 0.01) -> Topology:
    """Node ids from edge endpoints, lengths and connected components."""
    start = shapely.get_coordinates(shapely.get_point(edges, 0))
    end = shapely.get_coordinates(shapely.get_point(edges, -1))
    both = np.concatenate([start, end])
    q = np.round(both / precision).astype(np.int64)
    uq, first_idx, inv = np.unique(q, axis=0, return_index=True, return_inverse=True)
    inv = np.asarray(inv).ravel()
    n = len(edges)
    source, target = inv[:n].astype(np.int64), inv[n:].astype(np.int64)
    node_xy = both[first_idx]
    adj = sparse.coo_matrix((np.ones(n), (source, target)), shape=(len(uq), len(uq))).tocsr()
    _, labels = csgraph.connected_components(adj, directed=False)
    # relabel components by size (0 = largest, by edge count)
    edge_comp = labels[source]
    rank = size_rank(edge_comp, int(labels.max()) + 1)
    return Topology(node_xy, source, target, shapely.length(edges).astype(float),
                    rank[edge_comp].astype(np.int64), rank[labels].astype(np.int64))


# --------------------------------------------------------------------------- build


def _tags(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, str):
        return dict(json.loads(raw))
    return dict(raw)


@dataclass
class _Lines:
    """The ``osm_line`` rows (ids, highway, tags, lon/lat geometries)."""

    ids: Ints
    highway: list[str | None]
    tags: list[dict[str, Any]]
    geoms: npt.NDArray[np.object_]


def _read_lines(conn: Connection) -> _Lines:
    rows = conn.execute(sa.text(
        "SELECT id, highway, tags, ST_AsBinary(geom) FROM osm_line ORDER BY id"
    )).all()
    if not rows:
        raise NotFound("access.no_osm_lines")
    return _Lines(np.array([r[0] for r in rows], dtype=np.int64), [r[1] for r in rows],
                  [_tags(r[2]) for r in rows], shapely.from_wkb([bytes(r[3]) for r in rows]))


def _islands(topo: Topology, edges_ll: npt.NDArray[np.object_]) -> list[dict[str, Any]]:
    """Every component but the largest: edges, length and lon/lat bbox."""
    comp_edges = np.bincount(topo.component)
    comp_len = np.bincount(topo.component, weights=topo.length)
    return [
        {"component": int(c), "edges": int(comp_edges[c]), "length_m": round(float(comp_len[c]), 1),
         "bbox": [round(float(v), 6) for v in shapely.total_bounds(edges_ll[topo.component == c])]}
        for c in range(1, len(comp_edges))
    ]


def _fingerprint(params: NetworkParams, topo: Topology) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(asdict(params), sort_keys=True).encode())
    h.update(np.round(topo.node_xy, 2).tobytes())
    h.update(topo.source.tobytes())
    h.update(topo.target.tobytes())
    return h.hexdigest()[:32]


def build_network(conn: Connection, *, params: NetworkParams | None = None) -> NetworkReport:
    """Build the walking network from ``osm_line`` and store it (replacing the old one).

    Snaps, distances and service areas of the previous network are deleted (they
    refer to its edges); run :func:`gridmap.access.coverage.refresh` afterwards.

    Raises
    ------
    NotFound
        If ``osm_line`` holds no walkable way.
    """
    params = params or NetworkParams()
    lines = _read_lines(conn)
    keep, reasons = walkable_mask(lines.highway, lines.tags,
                                  require_sidewalk_on_major=params.require_sidewalk_on_major)
    excluded: dict[str, int] = {}
    for r in reasons:
        if r:
            excluded[r] = excluded.get(r, 0) + 1
    if not keep.any():
        raise NotFound("access.no_walkable_way")
    kept = np.flatnonzero(keep)
    metric = gcrs.metric_for(lines.geoms[kept])
    metric_epsg = int(metric.to_epsg() or 0)
    levels = np.array([way_level(lines.tags[i]) for i in kept], dtype=np.int64)
    edges_m, parent = node_lines(gcrs.to_metric(lines.geoms[kept], metric), levels,
                                 params.node_precision_m)
    topo = topology(edges_m, params.node_precision_m)
    edges_ll = gcrs.from_metric(edges_m, metric)
    lon, lat = gcrs.project_xy(topo.node_xy[:, 0], topo.node_xy[:, 1], metric, 4326)
    nodes_ll = shapely.points(np.column_stack([lon, lat]))
    comp_edges = np.bincount(topo.component)
    report = NetworkReport(
        build_id=0, lines_read=len(lines.ids), lines_used=int(keep.sum()),
        lines_excluded=excluded, nodes=len(nodes_ll), edges=len(edges_m),
        total_length_m=round(float(topo.length.sum()), 1),
        components=len(comp_edges), largest_component_edges=int(comp_edges[0]),
        islands=_islands(topo, edges_ll), fingerprint=_fingerprint(params, topo),
        metric_epsg=metric_epsg,
    )
    with conn.begin_nested():
        _replace_network(conn, topo, nodes_ll, edges_ll, lines.ids[kept][parent],
                         [lines.highway[kept[p]] for p in parent], levels[parent])
        build_id = conn.execute(sa.text(
            "INSERT INTO network_build (fingerprint, metric_epsg, params, report) "
            "VALUES (:f, :e, CAST(:p AS jsonb), CAST(:r AS jsonb)) RETURNING id"
        ), {"f": report.fingerprint, "e": metric_epsg, "p": json.dumps(asdict(params)),
            "r": json.dumps(report.as_dict())}).scalar_one()
        report.build_id = int(build_id)
    walkgraph.clear_cache()
    return report


def _replace_network(conn: Connection, topo: Topology, nodes_ll: npt.NDArray[np.object_],
                     edges_ll: npt.NDArray[np.object_], osm_ids: Ints,
                     highway: list[str | None], levels: Ints) -> None:
    """Delete the old network (and everything computed on it) and COPY the new one."""
    for table in ("service_area", "building_coverage", "building_snap", "facility_snap",
                  "coverage_run", "network_edge", "network_node"):
        conn.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608 (fixed table names)
    n_nodes = len(nodes_ll)
    degree = np.bincount(np.r_[topo.source, topo.target], minlength=n_nodes)
    node_comp = topo.node_component
    node_hex = ewkb_hex(nodes_ll)
    copy_rows(conn, "network_node", ["id", "component", "degree", "geom"],
              [(i + 1, int(node_comp[i]), int(degree[i]), node_hex[i]) for i in range(n_nodes)])
    edge_hex = ewkb_hex(edges_ll)
    copy_rows(conn, "network_edge",
              ["id", "source", "target", "length_m", "component", "highway", "osm_line_id",
               "level", "geom"],
              [(i + 1, int(topo.source[i]) + 1, int(topo.target[i]) + 1,
                repr(float(topo.length[i])), int(topo.component[i]), highway[i],
                int(osm_ids[i]), int(levels[i]), edge_hex[i]) for i in range(len(edges_ll))])
