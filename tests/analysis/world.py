"""A lattice of grids with weekly cases for the analysis tests.

Community C2 of :func:`tests.fixtures.incident_world.build_world` gets an ``N × N`` lattice of
0.002° square grids (queen neighbours); every grid has ``BASE`` cases a week for ``WEEKS``
weeks ending with the week of Monday :data:`LAST_MONDAY`, and the 2 × 2 block :data:`HOT`
gets ``SURGE`` cases a week in the last three weeks (a consecutive hot spot).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tests.fixtures.incident_world import build_world

N, WEEKS, BASE, SURGE = 8, 12, 2, 14
X0, Y0, STEP = 121.42, 31.20, 0.002
LAST_MONDAY = dt.date(2025, 6, 23)
FIRST_MONDAY = LAST_MONDAY - dt.timedelta(weeks=WEEKS - 1)
HOT = [(3, 3), (3, 4), (4, 3), (4, 4)]


def planned_counts() -> np.ndarray:
    """Cases per lattice grid (row-major) and week."""
    x = np.full((N * N, WEEKS), BASE, dtype=int)
    for i, j in HOT:
        x[i * N + j, -3:] = SURGE
    return x


def build_lattice(conn: Connection) -> dict[str, object]:
    """Insert the world, the lattice and its cases; returns ids (``ids``: lattice grid ids)."""
    w = build_world(conn)
    v = conn.execute(sa.text("INSERT INTO grid_version (community_id, generation, status, "
                             "valid_from) VALUES (:c, 1, 'active', '2025-01-01Z') RETURNING id"),
                     {"c": w["C2"]}).scalar_one()
    seqs = list(range(1, N * N + 1))
    ids = [int(r[0]) for r in conn.execute(sa.text(
        "INSERT INTO grid (community_id, grid_seq, grid_code) SELECT :c, s, "
        "'319901001002' || lpad(s::text, 3, '0') FROM unnest(CAST(:s AS int[])) s "
        "ORDER BY s RETURNING id"), {"c": w["C2"], "s": seqs}).all()]
    xs = [X0 + ((s - 1) % N) * STEP for s in seqs]
    ys = [Y0 + ((s - 1) // N) * STEP for s in seqs]
    conn.execute(sa.text(
        "INSERT INTO grid_geometry (version_id, grid_id, geom) SELECT :v, g, "
        "ST_Multi(ST_MakeEnvelope(x, y, x + :d, y + :d, 4326)) "
        "FROM unnest(CAST(:g AS int[]), CAST(:x AS float8[]), CAST(:y AS float8[])) AS t(g, x, y)"),
        {"v": v, "g": ids, "x": xs, "y": ys, "d": STEP})
    counts = planned_counts()
    gi, wk = np.nonzero(counts)
    conn.execute(sa.text(
        "INSERT INTO incident (category_code, source, state, reported_at, geom, grid_id, "
        "community_id, street_id) SELECT 'E0102', 'patrol', 'reported', "
        "(CAST(:t0 AS date) + wk * 7 + (k % 7))::timestamp AT TIME ZONE 'Asia/Shanghai' "
        "+ interval '10 hours', ST_SetSRID(ST_MakePoint(x + :d / 2 + k * 1e-5, y + :d / 2), 4326),"
        " g, :c, :s FROM unnest(CAST(:g AS int[]), CAST(:wk AS int[]), CAST(:n AS int[]), "
        "CAST(:x AS float8[]), CAST(:y AS float8[])) AS t(g, wk, n, x, y), "
        "generate_series(1, n) k"),
        {"t0": FIRST_MONDAY, "d": STEP, "c": w["C2"], "s": w["S"],
         "g": [ids[i] for i in gi], "wk": wk.tolist(), "n": counts[gi, wk].tolist(),
         "x": [xs[i] for i in gi], "y": [ys[i] for i in gi]})
    return {"ids": ids, **w}
