"""The walking network in memory: a scipy sparse graph in a metric CRS, loaded from
``network_node`` / ``network_edge`` (cached per database and build), and the snapping of
points onto its edges.

Snapping uses the largest connected component by default
(``NetworkParams.largest_component_only``): islands are reported by the build, not used.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
import sqlalchemy as sa
from pyproj import CRS
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree
from sqlalchemy.engine import Connection

from gridmap import crs as gcrs
from gridmap.errors import NotFound

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


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
        """Index the ``usable`` edges of ``geoms`` (metric lines)."""
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
        """Number of nodes."""
        return int(len(self.node_ids))

    def usable_edges(self) -> Ints:
        """Edge indices used for snapping and siting (largest component by default)."""
        if self.params.largest_component_only:
            return np.flatnonzero(self.component == 0)
        return np.arange(len(self.edge_ids))

    def snap_index(self) -> SnapIndex:
        """Segment index over the edges used for snapping (largest component by default)."""
        if self._snap is None:
            self._snap = SnapIndex.build(self.geoms, self.usable_edges())
        return self._snap


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


def size_rank(edge_labels: Ints, n_labels: int) -> Ints:
    """Rank of each component label by its edge count (0 = the largest; ties keep order)."""
    sizes = np.bincount(edge_labels, minlength=n_labels)
    order = np.argsort(-sizes, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank


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
        component = size_rank(ec, int(ec.max()) + 1 if len(ec) else 0)[ec].astype(np.int64)
    return WalkGraph(
        build_id=build_id, fingerprint=fingerprint, metric=metric,
        params=params or NetworkParams(), node_ids=np.arange(1, n_nodes + 1, dtype=np.int64),
        edge_ids=np.arange(1, len(source) + 1, dtype=np.int64), source=source, target=target,
        length=length.astype(float), component=component, geoms=geoms,
        adjacency=adjacency(n_nodes, source, target, length),
    )


# --------------------------------------------------------------------------- loading

_CACHE: dict[tuple[str, int, str], WalkGraph] = {}


def clear_cache() -> None:
    """Forget the cached graph (a new build replaces the stored network)."""
    _CACHE.clear()


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
        raise NotFound("access.no_network")
    p = params or NetworkParams(**{k: v for k, v in (build["params"] or {}).items()
                                   if k in NetworkParams.__dataclass_fields__})
    key = (str(conn.engine.url) + "/" + str(id(conn.engine)), int(build["id"]),
           build["fingerprint"] + json.dumps(asdict(p), sort_keys=True))
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    g = _read_graph(conn, build, p)
    _CACHE.clear()
    _CACHE[key] = g
    return g


def _read_graph(conn: Connection, build: dict[str, Any], params: NetworkParams) -> WalkGraph:
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
    geoms = gcrs.to_metric(shapely.from_wkb([bytes(r[5]) for r in rows]), metric)
    source, target = inv[:n].astype(np.int64), inv[n:].astype(np.int64)
    return WalkGraph(
        build_id=int(build["id"]), fingerprint=build["fingerprint"], metric=metric,
        params=params, node_ids=node_ids.astype(np.int64), edge_ids=edge_ids,
        source=source, target=target, length=length,
        component=np.array([r[4] for r in rows], dtype=np.int64), geoms=geoms,
        adjacency=adjacency(len(node_ids), source, target, length),
    )


def edge_index(graph: WalkGraph, edge_ids: Ints) -> Ints:
    """Positions in the graph's edge arrays of stored edge ids."""
    return np.searchsorted(graph.edge_ids, edge_ids).astype(np.int64)


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
        """True where the point was snapped."""
        return np.asarray(self.edge >= 0)

    def take(self, idx: Any) -> Snaps:
        """The snaps at ``idx`` (indices or a mask)."""
        return Snaps(self.edge[idx], self.offset[idx], self.dist[idx])


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
