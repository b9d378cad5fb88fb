"""Coverage benchmark: all facility types × all buildings.

Run: ``.venv/bin/python benchmarks/bench_coverage.py`` (starts its own throwaway
PostGIS cluster; about one to three minutes on 2 cores).

1. Sample district (gridmap/data/osm/chelsea.osm.pbf imported with gridmap.osm.import_osm):
   - gridmap: one multi-source Dijkstra per facility type over the scipy sparse
     graph, buildings and facilities snapped onto edges (kernel timed in memory;
     the full ``coverage.refresh`` with DB writes and service areas timed too);
   - baseline, measured in the same run: the usual OSMnx/networkx recipe: for each
     facility, nearest node + ``nx.ego_graph(radius, distance='length')``, an
     isochrone polygon from the reached nodes (convex hull, as in the OSMnx
     isochrone example), then point-in-polygon of every building against each
     isochrone;
   - the what-if latency (one hypothetical facility).
2. Synthetic lattice of ≥ 500,000 edges with 200,000 buildings and all facility
   types: gridmap kernel end to end (graph, snapping, all types). The networkx
   baseline is extrapolated from a sample of facilities (labelled as such).

Prints absolute times, ratios and peak memory (ru_maxrss).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np
import shapely
import sqlalchemy as sa
from pyproj import CRS

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import throwaway_database  # noqa: E402
from gridmap.access import coverage, network  # noqa: E402
from gridmap.config import DATA_GEO  # noqa: E402
from gridmap.db import make_engine  # noqa: E402
from gridmap.reference import catalogue  # noqa: E402

PBF = DATA_GEO / "osm" / "chelsea.osm.pbf"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def gridmap_kernel(g: network.WalkGraph, b_snap: network.Snaps, f_snap: network.Snaps,
                   f_types: np.ndarray, radii: dict[str, float]) -> dict[str, np.ndarray]:
    """Covered flags per type: one multi-source pass per type."""
    out: dict[str, np.ndarray] = {}
    for code, r in radii.items():
        sel = np.flatnonzero(f_types == code)
        src = network.Sources.from_snaps(network.Snaps(f_snap.edge[sel], f_snap.offset[sel],
                                                       f_snap.dist[sel]))
        d = coverage.type_distances(g, b_snap, src, r)
        out[code] = d <= r
    return out


def nx_graph(g: network.WalkGraph) -> nx.Graph:
    G = nx.Graph()
    G.add_weighted_edges_from(
        zip(g.source.tolist(), g.target.tolist(), g.length.tolist(), strict=True),
        weight="length")
    return G


def baseline(G: nx.Graph, node_xy: np.ndarray, b_xy: np.ndarray, f_xy: np.ndarray,
             f_types: np.ndarray, radii: dict[str, float], limit: int | None = None
             ) -> tuple[dict[str, np.ndarray], int]:
    """OSMnx-style recipe: one ego_graph per facility, convex-hull isochrone, PIP."""
    tree = shapely.STRtree(shapely.points(node_xy))
    out: dict[str, np.ndarray] = {}
    done = 0
    for code, r in radii.items():
        covered = np.zeros(len(b_xy), dtype=bool)
        for i in np.flatnonzero(f_types == code):
            if limit is not None and done >= limit:
                break
            node = int(tree.query_nearest(shapely.Point(f_xy[i]))[0])  # ox.nearest_nodes
            sub = nx.ego_graph(G, node, radius=r, distance="length")
            pts = node_xy[list(sub.nodes)]
            hull = shapely.convex_hull(shapely.multipoints(pts))
            covered |= shapely.contains_xy(hull, b_xy[:, 0], b_xy[:, 1])
            done += 1
        out[code] = covered
    return out, done


def sample_district(tmp: Path, baseline_limit: int | None) -> None:
    from gridmap.imports import osm

    with throwaway_database("gridmap-bench-coverage-") as (_, url):
        eng = make_engine(url)
        with eng.begin() as conn:
            t = time.perf_counter()
            osm.import_osm(conn, PBF)
            t_import = time.perf_counter() - t
            t = time.perf_counter()
            rep = network.build_network(conn)
            t_build = time.perf_counter() - t
            t = time.perf_counter()
            ref = coverage.refresh(conn)
            t_refresh = time.perf_counter() - t
        print(f"sample district: import {t_import:.2f} s; network {rep.nodes} nodes, {rep.edges} "
              f"edges, {rep.total_length_m / 1000:.1f} km, {rep.components} components "
              f"(build {t_build:.2f} s)")
        print(f"  refresh (snap + all types + DB writes + service areas): {t_refresh:.2f} s "
              f"{ref['timings']}")
        print(f"  buildings {ref['buildings']} ({ref['buildings_snapped']} snapped), facilities "
              f"{ref['facilities']} ({ref['facilities_snapped']} snapped)")
        with eng.connect() as conn:
            service_area_ratio(conn)
        with eng.connect() as conn:
            g = network.load_graph(conn)
            types = coverage.facility_types(conn)
            radii = {c: t.radius_m for c, t in types.items() if t.radius_m is not None}
            bld = coverage.load_buildings(conn, g, False)  # all buildings
            fac = coverage.load_facilities(conn, g)
            # what-if latency (graph cached, as in the web app)
            xy = conn.execute(sa.text(
                "SELECT ST_X(ST_Centroid(ST_Extent(geom))), ST_Y(ST_Centroid(ST_Extent(geom)))"
                " FROM building")).one()
            coverage.what_if(conn, add=[("kindergarten", xy[0], xy[1])])
            t = time.perf_counter()
            wi = coverage.what_if(conn, add=[("kindergarten", xy[0], xy[1])])
            t_whatif = time.perf_counter() - t
            t = time.perf_counter()
            cand = coverage.candidates(conn, "kindergarten", 5)
            t_cand = time.perf_counter() - t
            table = coverage.summary(conn, "all")
            over = {r["type_code"]: r for r in coverage.euclid_overclaim(conn)}
        # --- gridmap kernel (in memory)
        t = time.perf_counter()
        b_snap = network.snap_points(g, bld.points_m)
        f_snap = network.snap_points(g, fac.points_m)
        t_snap = time.perf_counter() - t
        t = time.perf_counter()
        ours = gridmap_kernel(g, b_snap, f_snap, fac.types, radii)
        t_ours = time.perf_counter() - t
        # --- baseline
        node_xy = np.zeros((g.n_nodes, 2))
        node_xy[g.source] = shapely.get_coordinates(shapely.get_point(g.geoms, 0))
        node_xy[g.target] = shapely.get_coordinates(shapely.get_point(g.geoms, -1))
        b_xy = shapely.get_coordinates(bld.points_m)
        f_xy = shapely.get_coordinates(fac.points_m)
        t = time.perf_counter()
        G = nx_graph(g)
        base, n_done = baseline(G, node_xy, b_xy, f_xy, fac.types, radii, baseline_limit)
        t_base = time.perf_counter() - t
        n_fac = int(sum((fac.types == c).sum() for c in radii))
        est = t_base * n_fac / max(n_done, 1)
        label = "measured" if n_done == n_fac else f"extrapolated from {n_done}/{n_fac}"
        print(f"  gridmap kernel, {len(radii)} types × {len(bld.ids)} buildings, {n_fac} "
              f"facilities: {t_ours * 1000:.1f} ms (+ snapping {t_snap * 1000:.1f} ms)")
        print(f"  baseline networkx ego_graph per facility + convex-hull PIP: {est:.2f} s "
              f"({label})")
        print(f"  ratio baseline / gridmap kernel: {est / t_ours:.0f}×; "
              f"incl. snapping: {est / (t_ours + t_snap):.0f}×")
        hull_over = sum(int((base[c] & ~ours[c]).sum()) for c in radii)
        print(f"  (the hull baseline marks {hull_over} building×type pairs covered that are "
              "beyond the walking radius)")
        print(f"  what-if (1 kindergarten added): {t_whatif * 1000:.0f} ms (reported "
              f"{wi['elapsed_ms']} ms, Δ residents {wi['types'][0]['delta']['residents']:+d})")
        print(f"  candidates (kindergarten, k=5, all nodes): {t_cand:.2f} s; first adds "
              f"{cand[0]['residents_added'] if cand else 0} residents")
        print("  coverage table (whole district; share of residents within the type radius):")
        print(f"    {'type':28s} {'radius':>6s} {'fac':>4s} {'res%':>6s} {'bld%':>6s} "
              f"{'circle over-claims (bld)':>24s}")
        t0 = table[0]
        for code in sorted(t0["types"]):
            tt = t0["types"][code]
            nf = int((fac.types == code).sum())
            share_b = tt["buildings_covered"] / max(t0["buildings"], 1)
            print(f"    {code:28s} {str(int(tt['radius_m'])) if tt['radius_m'] else 'block':>6s} "
                  f"{nf:4d} {100 * (tt['share'] or 0):5.1f}% {100 * share_b:5.1f}% "
                  f"{over.get(code, {}).get('overclaim_buildings', 0):>24}")
        print(f"    life-circle score (district): {t0['score']}")
        eng.dispose()


def service_area_ratio(conn: sa.engine.Connection) -> None:
    """5/10/15-minute polygons of every type: the quadtree-cached union (gridmap) vs one
    direct union of the buffered pieces per polygon (baseline), same polygons."""
    from gridmap.access import service_areas
    from gridmap.access.distances import Sources, node_distances

    g = network.load_graph(conn)
    fac = coverage.load_facilities(conn, g)
    snaps = network.snap_points(g, fac.points_m)
    ok = snaps.snapped
    src_all, types = Sources.from_snaps(snaps), fac.types[ok]
    p = service_areas.ServiceAreaParams()
    t = time.perf_counter()
    ours = service_areas.compute(g, fac.ids[ok], list(types), src_all, 60.0, p)
    t_ours = time.perf_counter() - t
    t = time.perf_counter()
    worst = 0.0
    for code, m, poly in [(a[1], a[2], a[3]) for a in ours]:
        src = src_all.take(np.flatnonzero(types == code))
        d = node_distances(g, src, limit=900.0)
        base = service_areas._polygons(g, [service_areas.reached_parts(g, d, src, m * 60.0)],
                                       p.street_width_m)[0]
        worst = max(worst, shapely.symmetric_difference(base, poly).area / max(base.area, 1.0))
    t_base = time.perf_counter() - t
    print(f"  service areas, {len(ours)} polygons: gridmap {t_ours:.2f} s; baseline direct union "
          f"per polygon {t_base:.2f} s (incl. its Dijkstra); ratio {t_base / t_ours:.1f}x; "
          f"largest relative symmetric difference {worst:.1e}")


def synthetic(n_side: int, n_buildings: int, baseline_sample: int) -> None:
    rng = np.random.default_rng(42)
    spacing = 80.0
    t = time.perf_counter()
    ix, iy = np.meshgrid(np.arange(n_side), np.arange(n_side), indexing="ij")
    node = (ix * n_side + iy).ravel()
    xy = np.column_stack([ix.ravel() * spacing, iy.ravel() * spacing]) + \
        rng.normal(0, 8.0, (n_side * n_side, 2)) + 500_000.0
    right = node[(ix < n_side - 1).ravel()]
    up = node[(iy < n_side - 1).ravel()]
    src = np.r_[right, up]
    tgt = np.r_[right + n_side, up + 1]
    coords = np.stack([xy[src], xy[tgt]], axis=1).reshape(-1, 2)
    geoms = shapely.linestrings(coords, indices=np.repeat(np.arange(len(src)), 2))
    length = shapely.length(geoms)
    g = network.make_graph(src.astype(np.int64), tgt.astype(np.int64), length,
                           np.asarray(geoms, dtype=object), CRS.from_epsg(4549))
    t_graph = time.perf_counter() - t
    ext = (n_side - 1) * spacing
    b_pts = shapely.points(rng.uniform(500_000, 500_000 + ext, (n_buildings, 2)))
    cat = catalogue.read_facility_catalogue()
    radii = {str(r["code"]): float(r["radius_m"]) for r in cat  # type: ignore[arg-type]
             if r["radius_m"] is not None}
    # facility density per type: about one per radius² (so coverage is partial)
    f_types_l: list[str] = []
    f_pts_l: list[np.ndarray] = []
    for code, r in radii.items():
        n = max(1, int(ext * ext / (r * r) * 0.8))
        f_types_l += [code] * n
        f_pts_l.append(rng.uniform(500_000, 500_000 + ext, (n, 2)))
    f_types = np.array(f_types_l, dtype=object)
    f_xy = np.concatenate(f_pts_l)
    f_pts = shapely.points(f_xy)
    t = time.perf_counter()
    b_snap = network.snap_points(g, b_pts)
    f_snap = network.snap_points(g, f_pts)
    t_snap = time.perf_counter() - t
    t = time.perf_counter()
    ours = gridmap_kernel(g, b_snap, f_snap, f_types, radii)
    t_ours = time.perf_counter() - t
    total = t_graph + t_snap + t_ours
    cov = np.mean([v.mean() for v in ours.values()])
    print(f"synthetic lattice: {g.n_nodes} nodes, {len(src)} edges, {n_buildings} buildings, "
          f"{len(f_types)} facilities, {len(radii)} types")
    print(f"  gridmap: graph {t_graph:.2f} s + snapping {t_snap:.2f} s + all types "
          f"{t_ours:.2f} s = {total:.2f} s (target ≤ 30 s); mean building coverage "
          f"{cov:.1%}")
    # networkx baseline, extrapolated from a sample of facilities
    G = nx_graph(g)
    node_xy = np.zeros((g.n_nodes, 2))
    node_xy[src] = xy[src]
    node_xy[tgt] = xy[tgt]
    b_xy = shapely.get_coordinates(b_pts)
    sample = rng.choice(len(f_types), size=min(baseline_sample, len(f_types)), replace=False)
    t = time.perf_counter()
    baseline(G, node_xy, b_xy, f_xy[sample], f_types[sample], radii, None)
    t_base = (time.perf_counter() - t) * len(f_types) / len(sample)
    print(f"  baseline networkx (extrapolated from {len(sample)} of {len(f_types)} facilities): "
          f"{t_base:.0f} s; ratio {t_base / t_ours:.0f}× (kernel), {t_base / total:.0f}× "
          "(incl. graph + snapping)")



def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=501, help="lattice side (501 → 501,000 edges)")
    ap.add_argument("--buildings", type=int, default=200_000)
    ap.add_argument("--baseline-limit", type=int, default=None,
                    help="cap the facilities run through the sample-district baseline")
    ap.add_argument("--baseline-sample", type=int, default=20,
                    help="facilities sampled for the synthetic baseline extrapolation")
    ap.add_argument("--skip-sample", action="store_true")
    ap.add_argument("--skip-synthetic", action="store_true")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="gridmap-bench-"))
    tmp.chmod(0o755)  # the postgres user must traverse it
    try:
        if not args.skip_sample:
            sample_district(tmp, args.baseline_limit)
            print(f"  peak memory so far (ru_maxrss): {peak_mb():.0f} MB")
        if not args.skip_synthetic:
            synthetic(args.side, args.buildings, args.baseline_sample)
            print(f"  peak memory (ru_maxrss, whole process): {peak_mb():.0f} MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
