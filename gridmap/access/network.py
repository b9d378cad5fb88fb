"""Walking network: built from the imported OSM lines (``osm_line``), noded at
intersections, stored in ``network_node`` / ``network_edge``, loaded back as a
cached scipy sparse graph, and used to snap points onto edges.

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
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
import sqlalchemy as sa
from pyproj import CRS, Transformer
from scipy import sparse
from scipy.sparse import csgraph
from sqlalchemy.engine import Connection

from gridmap import crs as gcrs
from gridmap.db.engine import raw_psycopg
from gridmap.errors import NotFound

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

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


@dataclass(frozen=True)
class NetworkParams:
    """Parameters of the walking network and snapping.

    Attributes
    ----------
    max_snap_m:
        Objects farther than this from every edge are not snapped (reported).
    largest_component_only:
        Snap only onto the largest connected component (islands are reported, not used).
    require_sidewalk_on_major:
        Exclude primary/secondary/tertiary ways tagged ``sidewalk=no|none``.
    node_precision_m:
        Vertices closer than this are the same node.
    """

    max_snap_m: float = 250.0
    largest_component_only: bool = True
    require_sidewalk_on_major: bool = False
    node_precision_m: float = 0.01


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
    keep = np.zeros(len(highway), dtype=bool)
    reasons: list[str] = []
    for i, (hw, tg) in enumerate(zip(highway, tags, strict=True)):
        foot = str(tg.get("foot") or "").lower()
        access = str(tg.get("access") or "").lower()
        sidewalk = str(tg.get("sidewalk") or tg.get("sidewalk:both") or "").lower()
        foot_yes = foot in FOOT_YES
        reason = ""
        if hw is None:
            reason = "no highway tag"
        elif hw in BARRIER_HIGHWAYS and not foot_yes:
            reason = f"highway={hw}"
        elif foot in {"no", "use_sidepath"}:
            reason = f"foot={foot}"
        elif access in {"no", "private"} and not foot_yes:
            reason = f"access={access}"
        elif hw not in WALKABLE_HIGHWAYS and hw not in BARRIER_HIGHWAYS and not foot_yes:
            reason = f"highway={hw}"
        elif require_sidewalk_on_major and hw in MAJOR_HIGHWAYS and sidewalk in SIDEWALK_NO \
                and not foot_yes:
            reason = "major road without sidewalk"
        keep[i] = reason == ""
        reasons.append(reason)
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
    sizes = np.bincount(edge_comp, minlength=int(labels.max()) + 1)
    order = np.argsort(-sizes, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return Topology(node_xy, source, target, shapely.length(edges).astype(float),
                    rank[edge_comp].astype(np.int64), rank[labels].astype(np.int64))


# --------------------------------------------------------------------------- build


def _tags(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, str):
        return dict(json.loads(raw))
    return dict(raw)


def _to_4326(geoms: npt.NDArray[np.object_], metric: CRS) -> npt.NDArray[np.object_]:
    tr = Transformer.from_crs(metric, 4326, always_xy=True)
    return np.asarray(shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))), dtype=object)


def to_metric(geoms: Any, metric: CRS) -> npt.NDArray[np.object_]:
    """Transform lon/lat geometries to ``metric``."""
    tr = Transformer.from_crs(4326, metric, always_xy=True)
    return np.asarray(
        shapely.transform(np.asarray(geoms, dtype=object),
                          lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))),
        dtype=object,
    )


def _copy(conn: Connection, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """COPY rows into ``table`` (text format; geometries as hex EWKB)."""
    buf = io.StringIO()
    for row in rows:
        buf.write("\t".join("\\N" if v is None else str(v) for v in row))
        buf.write("\n")
    cur = raw_psycopg(conn).cursor()
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        cp.write(buf.getvalue())


def ewkb_hex(geoms: Any) -> npt.NDArray[np.str_]:
    """Hex EWKB with SRID 4326 for COPY."""
    g = shapely.set_srid(np.asarray(geoms, dtype=object), 4326)
    return np.asarray(shapely.to_wkb(g, hex=True, include_srid=True))


def build_network(conn: Connection, *, params: NetworkParams | None = None) -> NetworkReport:
    """Build the walking network from ``osm_line`` and store it (replacing the old one).

    Snaps, distances and service areas of the previous network are deleted (they
    refer to its edges); run :func:`gridmap.coverage.refresh` afterwards.

    Raises
    ------
    NotFound
        If ``osm_line`` holds no walkable way.
    """
    params = params or NetworkParams()
    rows = conn.execute(sa.text(
        "SELECT id, highway, tags, ST_AsBinary(geom) FROM osm_line ORDER BY id"
    )).all()
    if not rows:
        raise NotFound("no OSM lines imported: import an OSM extract first (osm_line is empty)")
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    highway = [r[1] for r in rows]
    tags = [_tags(r[2]) for r in rows]
    geoms = shapely.from_wkb([bytes(r[3]) for r in rows])
    keep, reasons = walkable_mask(highway, tags,
                                  require_sidewalk_on_major=params.require_sidewalk_on_major)
    excluded: dict[str, int] = {}
    for r in reasons:
        if r:
            excluded[r] = excluded.get(r, 0) + 1
    if not keep.any():
        raise NotFound("no walkable way among the imported OSM lines")
    kept = np.flatnonzero(keep)
    metric = gcrs.metric_crs(*shapely.total_bounds(geoms[kept]))
    metric_epsg = int(metric.to_epsg() or 0)
    lines_m = to_metric(geoms[kept], metric)
    levels = np.array([way_level(tags[i]) for i in kept], dtype=np.int64)
    edges_m, parent = node_lines(lines_m, levels, params.node_precision_m)
    topo = topology(edges_m, params.node_precision_m)
    edges_ll = _to_4326(edges_m, metric)
    tr = Transformer.from_crs(metric, 4326, always_xy=True)
    lon, lat = tr.transform(topo.node_xy[:, 0], topo.node_xy[:, 1])
    nodes_ll = shapely.points(np.column_stack([lon, lat]))
    n_nodes = len(nodes_ll)
    degree = np.bincount(np.r_[topo.source, topo.target], minlength=n_nodes)
    node_comp = topo.node_component

    comp_edges = np.bincount(topo.component)
    comp_len = np.bincount(topo.component, weights=topo.length)
    islands = [
        {"component": int(c), "edges": int(comp_edges[c]), "length_m": round(float(comp_len[c]), 1),
         "bbox": [round(float(v), 6) for v in shapely.total_bounds(edges_ll[topo.component == c])]}
        for c in range(1, len(comp_edges))
    ]
    h = hashlib.sha256()
    h.update(json.dumps(asdict(params), sort_keys=True).encode())
    h.update(np.round(topo.node_xy, 2).tobytes())
    h.update(topo.source.tobytes())
    h.update(topo.target.tobytes())
    fingerprint = h.hexdigest()[:32]

    edge_ids = np.arange(1, len(edges_m) + 1, dtype=np.int64)
    with conn.begin_nested():
        for table in ("service_area", "building_coverage", "building_snap", "facility_snap",
                      "coverage_run", "network_edge", "network_node"):
            conn.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608 (fixed table names)
        node_hex = ewkb_hex(nodes_ll)
        _copy(conn, "network_node", ["id", "component", "degree", "geom"],
              [(i + 1, int(node_comp[i]), int(degree[i]), node_hex[i]) for i in range(n_nodes)])
        edge_hex = ewkb_hex(edges_ll)
        src_osm = ids[kept][parent]
        hw = [highway[kept[p]] for p in parent]
        lv = levels[parent]
        _copy(conn, "network_edge",
              ["id", "source", "target", "length_m", "component", "highway", "osm_line_id",
               "level", "geom"],
              [(int(edge_ids[i]), int(topo.source[i]) + 1, int(topo.target[i]) + 1,
                repr(float(topo.length[i])), int(topo.component[i]), hw[i], int(src_osm[i]),
                int(lv[i]), edge_hex[i]) for i in range(len(edges_m))])
        report = NetworkReport(
            build_id=0, lines_read=len(rows), lines_used=int(keep.sum()),
            lines_excluded=excluded, nodes=n_nodes, edges=len(edges_m),
            total_length_m=round(float(topo.length.sum()), 1),
            components=len(comp_edges), largest_component_edges=int(comp_edges[0]),
            islands=islands, fingerprint=fingerprint, metric_epsg=metric_epsg,
        )
        build_id = conn.execute(sa.text(
            "INSERT INTO network_build (fingerprint, metric_epsg, params, report) "
            "VALUES (:f, :e, CAST(:p AS jsonb), CAST(:r AS jsonb)) RETURNING id"
        ), {"f": fingerprint, "e": metric_epsg, "p": json.dumps(asdict(params)),
            "r": json.dumps(report.as_dict())}).scalar_one()
        report.build_id = int(build_id)
    _CACHE.clear()
    return report


# --------------------------------------------------------------------------- graph


@dataclass
class WalkGraph:
    """The stored network in memory (metric CRS), with its sparse adjacency.

    Node indices are 0-based positions; ``node_ids``/``edge_ids`` map to DB ids.
    """

    build_id: int
    fingerprint: str
    metric: CRS
    params: NetworkParams
    node_ids: Ints
    edge_ids: Ints
    source: Ints
    target: Ints
    length: Floats
    component: Ints
    geoms: npt.NDArray[np.object_]
    adjacency: sparse.csr_matrix
    _snap: SnapIndex | None = None

    @property
    def n_nodes(self) -> int:
        return int(len(self.node_ids))

    def snap_index(self) -> SnapIndex:
        """Segment index over the edges used for snapping (largest component by default)."""
        if self._snap is None:
            if self.params.largest_component_only:
                usable = np.flatnonzero(self.component == 0)
            else:
                usable = np.arange(len(self.edge_ids))
            self._snap = SnapIndex.build(self.geoms, usable)
        return self._snap


@dataclass
class SnapIndex:
    """Edges cut into short segments (≤ ``step`` m) with a KD-tree on segment midpoints.

    The nearest of the ``k`` segments with the nearest midpoints is taken; its distance is
    at most ``step / 2`` more than the true nearest edge distance (exact in practice).
    """

    ax: Floats
    ay: Floats
    bx: Floats
    by: Floats
    edge: Ints
    start: Floats
    tree: Any
    step: float

    @classmethod
    def build(cls, geoms: npt.NDArray[np.object_], usable: Ints, step: float = 10.0) -> SnapIndex:
        from scipy.spatial import cKDTree

        dens = shapely.segmentize(geoms[usable], step)
        xy, idx = shapely.get_coordinates(dens, return_index=True)
        same = idx[1:] == idx[:-1]
        a = xy[:-1][same]
        b = xy[1:][same]
        seg_edge = usable[idx[:-1][same]]
        seglen = np.hypot(b[:, 0] - a[:, 0], b[:, 1] - a[:, 1])
        # offset of each segment start along its edge
        cum = np.cumsum(seglen)
        first = np.r_[True, seg_edge[1:] != seg_edge[:-1]]
        group_start = np.maximum.accumulate(np.where(first, np.arange(len(seg_edge)), 0))
        start = cum - seglen - (cum - seglen)[group_start]
        mid = (a + b) / 2.0
        return cls(a[:, 0], a[:, 1], b[:, 0], b[:, 1], seg_edge.astype(np.int64), start,
                   cKDTree(mid) if len(mid) else None, step)


def adjacency(n_nodes: int, source: Ints, target: Ints, length: Floats) -> sparse.csr_matrix:
    """Symmetric CSR adjacency (parallel edges keep the shortest; zero lengths clamped)."""
    w = np.maximum(length, 1e-6)
    rows = np.r_[source, target]
    cols = np.r_[target, source]
    data = np.r_[w, w]
    # csr_matrix would sum duplicate entries: keep the minimum instead
    order = np.lexsort((data, cols, rows))
    r, c, d = rows[order], cols[order], data[order]
    first = np.r_[True, (r[1:] != r[:-1]) | (c[1:] != c[:-1])]
    m = sparse.csr_matrix((d[first], (r[first], c[first])), shape=(n_nodes, n_nodes))
    m.sort_indices()
    return m


def make_graph(
    source: Ints, target: Ints, length: Floats, geoms: npt.NDArray[np.object_], metric: CRS,
    *, params: NetworkParams | None = None, component: Ints | None = None,
    build_id: int = 0, fingerprint: str = "",
) -> WalkGraph:
    """Assemble a :class:`WalkGraph` from edge arrays (0-based node indices)."""
    n_nodes = int(max(source.max(), target.max())) + 1 if len(source) else 0
    if component is None:
        adj0 = adjacency(n_nodes, source, target, length)
        _, labels = csgraph.connected_components(adj0, directed=False)
        ec = labels[source]
        sizes = np.bincount(ec)
        order = np.argsort(-sizes, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        component = rank[ec].astype(np.int64)
    return WalkGraph(
        build_id=build_id, fingerprint=fingerprint, metric=metric,
        params=params or NetworkParams(), node_ids=np.arange(1, n_nodes + 1, dtype=np.int64),
        edge_ids=np.arange(1, len(source) + 1, dtype=np.int64), source=source, target=target,
        length=length.astype(float), component=component, geoms=geoms,
        adjacency=adjacency(n_nodes, source, target, length),
    )


_CACHE: dict[tuple[str, int, str], WalkGraph] = {}


def current_build(conn: Connection) -> dict[str, Any] | None:
    """The newest ``network_build`` row (id, fingerprint, metric_epsg, params), or None."""
    row = conn.execute(sa.text(
        "SELECT id, fingerprint, metric_epsg, params FROM network_build ORDER BY id DESC LIMIT 1"
    )).mappings().first()
    return dict(row) if row else None


def load_graph(conn: Connection, *, params: NetworkParams | None = None) -> WalkGraph:
    """The current network as a :class:`WalkGraph`, cached per database and build.

    Raises
    ------
    NotFound
        If no network has been built.
    """
    build = current_build(conn)
    if build is None:
        raise NotFound("no walking network: run `gridmap network build` first")
    p = params or NetworkParams(**{k: v for k, v in (build["params"] or {}).items()
                                   if k in NetworkParams.__dataclass_fields__})
    key = (str(conn.engine.url) + "/" + str(id(conn.engine)), int(build["id"]),
           build["fingerprint"] + json.dumps(asdict(p), sort_keys=True))
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    rows = conn.execute(sa.text(
        "SELECT id, source, target, length_m, component, ST_AsBinary(geom) FROM network_edge "
        "ORDER BY id"
    )).all()
    metric = CRS.from_epsg(int(build["metric_epsg"]))
    edge_ids = np.array([r[0] for r in rows], dtype=np.int64)
    src_id = np.array([r[1] for r in rows], dtype=np.int64)
    tgt_id = np.array([r[2] for r in rows], dtype=np.int64)
    node_ids, inv = np.unique(np.r_[src_id, tgt_id], return_inverse=True)
    n = len(rows)
    length = np.array([r[3] for r in rows], dtype=float)
    geoms = to_metric(shapely.from_wkb([bytes(r[5]) for r in rows]), metric)
    g = WalkGraph(
        build_id=int(build["id"]), fingerprint=build["fingerprint"], metric=metric, params=p,
        node_ids=node_ids.astype(np.int64), edge_ids=edge_ids,
        source=inv[:n].astype(np.int64), target=inv[n:].astype(np.int64), length=length,
        component=np.array([r[4] for r in rows], dtype=np.int64), geoms=geoms,
        adjacency=adjacency(len(node_ids), inv[:n].astype(np.int64), inv[n:].astype(np.int64),
                            length),
    )
    _CACHE.clear()
    _CACHE[key] = g
    return g


# --------------------------------------------------------------------------- snapping


@dataclass
class Snaps:
    """Points projected onto edges. ``edge`` is an index into the graph's edge arrays
    (-1 = not snapped); ``offset`` is metres from the edge's source node."""

    edge: Ints
    offset: Floats
    dist: Floats

    @property
    def snapped(self) -> Bools:
        return np.asarray(self.edge >= 0)


def snap_points(graph: WalkGraph, points_m: Any, max_snap_m: float | None = None) -> Snaps:
    """Project metric points onto their nearest usable edge (one vectorised pass:
    KD-tree candidates, then exact point-to-segment projection in numpy).

    Points farther than ``max_snap_m`` (default: the graph's ``params.max_snap_m``)
    from every usable edge get ``edge = -1``.
    """
    pts = np.asarray(points_m, dtype=object)
    limit = graph.params.max_snap_m if max_snap_m is None else max_snap_m
    n = len(pts)
    edge = np.full(n, -1, dtype=np.int64)
    offset = np.zeros(n)
    dist = np.full(n, np.inf)
    if n == 0 or len(graph.edge_ids) == 0:
        return Snaps(edge, offset, dist)
    index = graph.snap_index()
    if index.tree is None:
        return Snaps(edge, offset, dist)
    valid = ~shapely.is_empty(pts) & ~shapely.is_missing(pts)
    vi = np.flatnonzero(valid)
    xy = shapely.get_coordinates(pts[vi])
    k = int(min(8, len(index.edge)))
    _, j = index.tree.query(xy, k=k, distance_upper_bound=limit + index.step)
    j = np.asarray(j).reshape(len(vi), k)
    found = j < len(index.edge)
    jj = np.where(found, j, 0)
    ax, ay, bx, by = index.ax[jj], index.ay[jj], index.bx[jj], index.by[jj]
    px, py = xy[:, 0:1], xy[:, 1:2]
    dx, dy = bx - ax, by - ay
    seg2 = dx * dx + dy * dy
    t = np.clip(((px - ax) * dx + (py - ay) * dy) / np.where(seg2 > 0, seg2, 1.0), 0.0, 1.0)
    qx, qy = ax + t * dx, ay + t * dy
    d = np.where(found, np.hypot(px - qx, py - qy), np.inf)
    best = np.argmin(d, axis=1)
    rows = np.arange(len(vi))
    bd = d[rows, best]
    ok = bd <= limit
    seg = jj[rows, best][ok]
    p_i = vi[ok]
    edge[p_i] = index.edge[seg]
    dist[p_i] = bd[ok]
    offset[p_i] = index.start[seg] + t[rows, best][ok] * np.sqrt(seg2[rows, best][ok])
    offset = np.clip(offset, 0.0, np.where(edge >= 0, graph.length[np.maximum(edge, 0)], 0.0))
    return Snaps(edge, offset, dist)


def snapped_points(graph: WalkGraph, snaps: Snaps) -> npt.NDArray[np.object_]:
    """Metric points at the snapped positions (None where unsnapped)."""
    out = np.full(len(snaps.edge), None, dtype=object)
    ok = snaps.snapped
    out[ok] = shapely.line_interpolate_point(graph.geoms[snaps.edge[ok]], snaps.offset[ok])
    return out


# --------------------------------------------------------------------------- distances


@dataclass
class Sources:
    """Sources on edges: edge index, offset from the edge's source node, and an extra
    start cost (the access leg from the facility to the street)."""

    edge: Ints
    offset: Floats
    extra: Floats

    @classmethod
    def from_snaps(cls, snaps: Snaps, include_access: bool = True) -> Sources:
        ok = snaps.snapped
        extra = snaps.dist[ok] if include_access else np.zeros(int(ok.sum()))
        return cls(snaps.edge[ok], snaps.offset[ok], np.asarray(extra, dtype=float))

    def __len__(self) -> int:
        return int(len(self.edge))

    def take(self, idx: Any) -> Sources:
        return Sources(self.edge[idx], self.offset[idx], self.extra[idx])


def _augmented(graph: WalkGraph, groups: Ints, sources: Sources, n_groups: int) -> sparse.csr_matrix:
    """The adjacency plus ``n_groups`` virtual source nodes (rows N..N+G-1) with
    outgoing arcs only: to both ends of each source's edge, weighted by the offset
    (resp. the remainder) plus the access leg. No arc enters a virtual node, so no
    path can pass through one."""
    n = graph.n_nodes
    e = sources.edge
    length = graph.length[e]
    rows = np.r_[groups, groups] + n
    cols = np.r_[graph.source[e], graph.target[e]]
    w = np.maximum(np.r_[sources.offset + sources.extra, length - sources.offset + sources.extra],
                   1e-6)
    order = np.lexsort((w, cols, rows))
    rows, cols, w = rows[order], cols[order], w[order]
    first = np.r_[True, (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])] if len(rows) else \
        np.zeros(0, dtype=bool)
    rows, cols, w = rows[first], cols[first], w[first]
    base = graph.adjacency
    counts = np.bincount(rows - n, minlength=n_groups)
    indptr = np.r_[base.indptr, base.indptr[-1] + np.cumsum(counts)]
    size = n + n_groups
    return sparse.csr_matrix(
        (np.r_[base.data, w], np.r_[base.indices, cols], indptr), shape=(size, size)
    )


def node_distances(graph: WalkGraph, sources: Sources, limit: float = np.inf) -> Floats:
    """Network distance from the nearest source to every node: ONE Dijkstra pass from
    a virtual super-source (all sources at once). ``inf`` = unreachable / beyond ``limit``."""
    if len(sources) == 0:
        return np.full(graph.n_nodes, np.inf)
    aug = _augmented(graph, np.zeros(len(sources), dtype=np.int64), sources, 1)
    d = csgraph.dijkstra(aug, directed=True, indices=graph.n_nodes, limit=limit)
    return np.asarray(d[: graph.n_nodes], dtype=float)


def node_distances_each(
    graph: WalkGraph, sources: Sources, limit: float, max_cells: int = 8_000_000
) -> Any:
    """Per-source node distances, batched: yields ``(source_indices, matrix)`` with one
    row per source (columns = nodes). Each batch is one scipy call over many sources."""
    n = graph.n_nodes
    chunk = max(1, min(len(sources), max_cells // max(n, 1)))
    for start in range(0, len(sources), chunk):
        idx = np.arange(start, min(start + chunk, len(sources)))
        sub = sources.take(idx)
        aug = _augmented(graph, np.arange(len(idx), dtype=np.int64), sub, len(idx))
        d = csgraph.dijkstra(aug, directed=True, indices=n + np.arange(len(idx)), limit=limit)
        yield idx, np.asarray(d[:, :n], dtype=float)


def point_distances(
    graph: WalkGraph, dnode: Floats, targets: Snaps, sources: Sources,
    include_access: bool = True,
) -> Floats:
    """Distance to every target point given node distances ``dnode`` from ``sources``.

    Through either end of the target's edge, or directly along the edge when a
    source sits on the same edge. Unsnapped targets get ``inf``.
    """
    out = np.full(len(targets.edge), np.inf)
    ok = np.flatnonzero(targets.snapped)
    if len(ok) == 0:
        return out
    e = targets.edge[ok]
    t = targets.offset[ok]
    length = graph.length[e]
    d = np.minimum(dnode[graph.source[e]] + t, dnode[graph.target[e]] + length - t)
    if len(sources):
        # same-edge direct walk: pair targets and sources by edge
        s_order = np.argsort(sources.edge, kind="stable")
        s_edge = sources.edge[s_order]
        lo = np.searchsorted(s_edge, e, side="left")
        hi = np.searchsorted(s_edge, e, side="right")
        cnt = hi - lo
        has = np.flatnonzero(cnt > 0)
        if len(has):
            rep_t = np.repeat(has, cnt[has])
            starts = np.repeat(lo[has], cnt[has])
            within = np.arange(len(rep_t)) - np.repeat(np.cumsum(cnt[has]) - cnt[has], cnt[has])
            s_idx = s_order[starts + within]
            direct = np.abs(sources.offset[s_idx] - t[rep_t]) + sources.extra[s_idx]
            np.minimum.at(d, rep_t, direct)
    if include_access:
        d = d + targets.dist[ok]
    out[ok] = d
    return out


def point_distance_matrix(
    graph: WalkGraph, dnodes: Floats, targets: Snaps, sources: Sources,
    include_access: bool = True,
) -> Floats:
    """Row-wise :func:`point_distances` for a batch (``dnodes``: sources × nodes)."""
    m = np.full((len(sources), len(targets.edge)), np.inf)
    ok = np.flatnonzero(targets.snapped)
    if len(ok) == 0 or len(sources) == 0:
        return m
    e = targets.edge[ok]
    t = targets.offset[ok]
    length = graph.length[e]
    d = np.minimum(dnodes[:, graph.source[e]] + t, dnodes[:, graph.target[e]] + length - t)
    # same edge
    same = sources.edge[:, None] == e[None, :]
    if same.any():
        si, ti = np.nonzero(same)
        direct = np.abs(sources.offset[si] - t[ti]) + sources.extra[si]
        d[si, ti] = np.minimum(d[si, ti], direct)
    if include_access:
        d = d + targets.dist[ok][None, :]
    m[:, ok] = d
    return m
