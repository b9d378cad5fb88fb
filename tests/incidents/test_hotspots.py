"""Heatmap aggregates and Getis-Ord Gi* hotspots."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import sqlalchemy as sa
from scipy import sparse
from sqlalchemy.engine import Connection

from gridmap.incidents import hotspots
from tests.fixtures.incident_world import build_world

N = 6  # lattice N × N of 0.002° squares in community C2
X0, Y0, STEP = 121.42, 31.20, 0.002


def lattice_adjacency(n: int) -> sparse.csr_matrix:
    """Queen adjacency of an n × n lattice (row-major)."""
    rows, cols = [], []
    for i in range(n):
        for j in range(n):
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    a, b = i + di, j + dj
                    if (di or dj) and 0 <= a < n and 0 <= b < n:
                        rows.append(i * n + j)
                        cols.append(a * n + b)
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n * n, n * n))


def gi_star_loop(x: np.ndarray, adj: np.ndarray) -> np.ndarray:
    """Textbook Gi* (Ord & Getis 1995), one unit at a time, for comparison."""
    n = len(x)
    mean, s = x.mean(), np.sqrt((x ** 2).mean() - x.mean() ** 2)
    out = np.zeros(n)
    for i in range(n):
        w = adj[i].copy()
        w[i] = 1
        wi = w.sum()
        out[i] = (w @ x - mean * wi) / (s * np.sqrt((n * (w ** 2).sum() - wi ** 2) / (n - 1)))
    return out


def test_gi_star_matches_textbook_loop() -> None:
    rng = np.random.default_rng(3)
    x = rng.poisson(3, N * N).astype(float)
    adj = lattice_adjacency(N)
    np.testing.assert_allclose(hotspots.gi_star(x, adj), gi_star_loop(x, adj.toarray()))


def test_cluster_is_hot_but_isolated_peak_is_not() -> None:
    x = np.ones(N * N)
    for i, j in ((2, 2), (2, 3), (3, 2), (3, 3)):
        x[i * N + j] = 12
    x[0] = 25  # a single corner peak: highest count, but its neighbours are quiet
    z = hotspots.gi_star(x, lattice_adjacency(N))
    hot = set(np.flatnonzero(z >= 1.96))
    assert {2 * N + 2, 2 * N + 3, 3 * N + 2, 3 * N + 3} <= hot
    assert 0 not in hot  # top-1 by count, yet not a significant hotspot
    assert hotspots.gi_star(np.full(9, 4.0), lattice_adjacency(3)).tolist() == [0.0] * 9


@pytest.fixture
def lattice(conn: Connection) -> dict[str, object]:
    w = build_world(conn)
    v = conn.execute(sa.text("INSERT INTO grid_version (community_id, generation, status, "
                             "valid_from) VALUES (:c, 1, 'active', '2025-01-01Z') RETURNING id"),
                     {"c": w["C2"]}).scalar_one()
    ids = []
    for i in range(N):
        for j in range(N):
            seq = i * N + j + 1
            g = conn.execute(sa.text(
                "INSERT INTO grid (community_id, grid_seq, grid_code) VALUES (:c, :s, :code) "
                "RETURNING id"), {"c": w["C2"], "s": seq, "code": f"319901001002{seq:03d}"}
            ).scalar_one()
            x, y = X0 + j * STEP, Y0 + i * STEP
            conn.execute(sa.text(
                "INSERT INTO grid_geometry (version_id, grid_id, geom) VALUES (:v, :g, "
                "ST_Multi(ST_MakeEnvelope(:x, :y, :x + :d, :y + :d, 4326)))"),
                {"v": v, "g": g, "x": x, "y": y, "d": STEP})
            n = 12 if (i, j) in ((2, 2), (2, 3), (3, 2), (3, 3)) else 1
            conn.execute(sa.text(
                "INSERT INTO incident (category_code, source, state, reported_at, geom, grid_id, "
                "community_id) SELECT CASE WHEN k % 2 = 0 THEN 'E0102' ELSE 'E0501' END, "
                "CASE WHEN k % 3 = 0 THEN 'video' ELSE 'patrol' END, 'reported', "
                "'2025-06-01Z'::timestamptz + k * interval '1 hour', "
                "ST_SetSRID(ST_MakePoint(:x + :d / 2 + k * 1e-5, :y + :d / 2), 4326), :g, :c "
                "FROM generate_series(1, :n) k"),
                {"x": x, "y": y, "d": STEP, "g": g, "c": w["C2"], "n": n})
            ids.append(g)
    return {"ids": ids, **w}


def test_grid_hotspots_from_database(conn: Connection, lattice: dict[str, object]) -> None:
    ids: list[int] = lattice["ids"]  # type: ignore[assignment]
    res = hotspots.hotspots(conn, "grid", {})
    hot = {it["id"] for it in res["items"]}
    centre = {ids[2 * N + 2], ids[2 * N + 3], ids[3 * N + 2], ids[3 * N + 3]}
    assert centre <= hot and ids[0] not in hot
    assert res["n_units"] == N * N + 3  # plus the three grids of C1 (zero cases)
    assert all(it["z"] >= 1.96 and it["p"] < 0.03 for it in res["items"])
    strict = hotspots.hotspots(conn, "grid", {}, hotspots.HotspotParams(z_threshold=10))
    assert strict["items"] == []


def test_h3_hotspots(conn: Connection, lattice: dict[str, object]) -> None:
    res = hotspots.hotspots(conn, "h3", {}, hotspots.HotspotParams(h3_resolution=9))
    assert res["items"] and res["items"][0]["count"] >= 12


def test_heat_counts_modes_and_filters(conn: Connection, lattice: dict[str, object]) -> None:
    bbox = (121.41, 31.19, 121.45, 31.23)
    total = 4 * 12 + (N * N - 4)
    pts = hotspots.heat_counts(conn, bbox=bbox, zoom=15, filters={})
    assert pts["mode"] == "points" and len(pts["points"]) == total
    cells = hotspots.heat_counts(conn, bbox=bbox, zoom=15, filters={}, point_threshold=0)
    assert cells["mode"] == "h3" and cells["resolution"] == 9
    assert sum(c["count"] for c in cells["cells"]) == total
    assert max(c["intensity"] for c in cells["cells"]) == 1.0
    grids = hotspots.heat_counts(conn, bbox=bbox, zoom=15, filters={}, by="grid",
                                 point_threshold=0)
    assert len(grids["cells"]) == N * N and grids["max"] == 12
    video = hotspots.heat_counts(conn, bbox=bbox, zoom=12, filters={"sources": ["video"]})
    window = hotspots.heat_counts(conn, bbox=bbox, zoom=12, filters={
        "start": dt.datetime(2025, 6, 1, 0, 30, tzinfo=dt.UTC),
        "end": dt.datetime(2025, 6, 1, 1, 30, tzinfo=dt.UTC)})
    assert video["total"] == 4 * 4 and window["total"] == N * N
    assert hotspots.resolution_for_zoom(8) == 5 and hotspots.resolution_for_zoom(20) == 12


def test_grid_hotspots_respect_the_scope(conn: Connection, lattice: dict[str, object]) -> None:
    """A scoped caller's hotspots come from its own grids only (issue #16: the count said 9
    while 8 were drawn, the ninth in another street)."""
    ids: list[int] = lattice["ids"]  # type: ignore[assignment]
    c1_grids = {lattice["G1"], lattice["G2"], lattice["G3"]}
    # incidents in C1 next to the lattice: unscoped, C1's grids would be units and neighbours
    conn.execute(sa.text(
        "INSERT INTO incident (category_code, source, state, reported_at, geom, grid_id, "
        "community_id) SELECT 'E0102', 'patrol', 'reported', '2025-06-01Z', "
        "ST_SetSRID(ST_MakePoint(121.415, 31.205), 4326), :g, :c FROM generate_series(1, 30)"),
        {"g": lattice["G2"], "c": lattice["C1"]})
    everyone = hotspots.hotspots(conn, "grid", {})
    assert everyone["n_units"] == N * N + 3
    c2 = hotspots.hotspots(conn, "grid", {"community_ids": [lattice["C2"]]})
    assert c2["n_units"] == N * N
    assert {it["id"] for it in c2["items"]} <= set(ids)
    c1 = hotspots.hotspots(conn, "grid", {"community_ids": [lattice["C1"]]})
    assert c1["n_units"] == 3 and {it["id"] for it in c1["items"]} <= c1_grids
    street = hotspots.hotspots(conn, "grid", {"street_ids": [lattice["S"]]})
    assert street["n_units"] == N * N + 3
    nobody = hotspots.hotspots(conn, "grid", {"community_ids": []})
    assert nobody["n_units"] == 0 and nobody["items"] == []
