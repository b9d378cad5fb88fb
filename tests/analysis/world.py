"""Lattices of grids with weekly cases for the analysis tests.

:func:`add_lattice` puts ``rows × cols`` square grids of 0.002° (queen neighbours) into a
community's active grid version; every grid gets ``BASE`` cases a week for ``weeks`` weeks
ending with the week of Monday ``last_monday``, and the grids in ``hot`` get ``SURGE`` cases a
week in the last three weeks (a consecutive hot spot).

:func:`build_lattice`: the incident-test world (:mod:`tests.fixtures.incident_world`) with an
``N × N`` lattice in community C2, weeks ending on :data:`LAST_MONDAY`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tests.fixtures.incident_world import build_world

N, WEEKS, BASE, SURGE = 8, 12, 2, 14
X0, Y0, STEP = 121.42, 31.20, 0.002
LAST_MONDAY = dt.date(2025, 6, 23)
FIRST_MONDAY = LAST_MONDAY - dt.timedelta(weeks=WEEKS - 1)
HOT = [(3, 3), (3, 4), (4, 3), (4, 4)]


def planned_counts(rows: int = N, cols: int = N, weeks: int = WEEKS,
                   hot: Sequence[tuple[int, int]] = tuple(HOT)) -> np.ndarray:
    """Cases per lattice grid (row-major) and week."""
    x = np.full((rows * cols, weeks), BASE, dtype=int)
    for i, j in hot:
        x[i * cols + j, -3:] = SURGE
    return x


def add_lattice(conn: Connection, *, version_id: int, community_id: int, street_id: int,
                x0: float, y0: float, rows: int, cols: int, code_prefix: str,
                last_monday: dt.date, weeks: int = WEEKS,
                hot: Sequence[tuple[int, int]] = tuple(HOT)) -> list[int]:
    """Insert the lattice's grids, geometries and cases; returns the grid ids (row-major)."""
    seqs = list(range(1, rows * cols + 1))
    ids = [int(r[0]) for r in conn.execute(sa.text(
        "INSERT INTO grid (community_id, grid_seq, grid_code, synthetic) SELECT :c, s + 100, "
        ":p || lpad((s + 100)::text, 3, '0'), true FROM unnest(CAST(:s AS int[])) s "
        "ORDER BY s RETURNING id"), {"c": community_id, "s": seqs, "p": code_prefix}).all()]
    conn.execute(sa.text(
        "INSERT INTO grid_geometry (version_id, grid_id, geom) SELECT :v, g, "
        "ST_Multi(ST_MakeEnvelope(:x0 + j * :d, :y0 + i * :d, :x0 + (j + 1) * :d, "
        ":y0 + (i + 1) * :d, 4326)) "
        "FROM unnest(CAST(:g AS int[]), CAST(:i AS int[]), CAST(:j AS int[])) AS t(g, i, j)"),
        {"v": version_id, "g": ids, "i": [(s - 1) // cols for s in seqs],
         "j": [(s - 1) % cols for s in seqs], "x0": x0, "y0": y0, "d": STEP})
    counts = planned_counts(rows, cols, weeks, hot)
    gi, wk = np.nonzero(counts)
    first = last_monday - dt.timedelta(weeks=weeks - 1)
    conn.execute(sa.text(
        "INSERT INTO incident (category_code, source, state, reported_at, geom, grid_id, "
        "community_id, street_id, synthetic) SELECT 'E0102', 'patrol', 'reported', "
        "(CAST(:t0 AS date) + wk * 7 + (k % 7))::timestamp AT TIME ZONE 'Asia/Shanghai' "
        "+ interval '10 hours', ST_SetSRID(ST_MakePoint(:x0 + (j + 0.5) * :d + k * 1e-5, "
        ":y0 + (i + 0.5) * :d), 4326), g, :c, :s, true "
        "FROM unnest(CAST(:g AS int[]), CAST(:wk AS int[]), CAST(:n AS int[]), "
        "CAST(:i AS int[]), CAST(:j AS int[])) AS t(g, wk, n, i, j), generate_series(1, n) k"),
        {"t0": first, "d": STEP, "c": community_id, "s": street_id, "x0": x0, "y0": y0,
         "g": [ids[i] for i in gi], "wk": wk.tolist(), "n": counts[gi, wk].tolist(),
         "i": [int(i) // cols for i in gi], "j": [int(i) % cols for i in gi]})
    return ids


def build_lattice(conn: Connection) -> dict[str, object]:
    """The incident world with an N × N lattice in C2; returns ids (``ids``: lattice grids)."""
    w = build_world(conn)
    v = conn.execute(sa.text("INSERT INTO grid_version (community_id, generation, status, "
                             "valid_from) VALUES (:c, 1, 'active', '2025-01-01Z') RETURNING id"),
                     {"c": w["C2"]}).scalar_one()
    ids = add_lattice(conn, version_id=v, community_id=w["C2"], street_id=w["S"], x0=X0, y0=Y0,
                      rows=N, cols=N, code_prefix="319901001002", last_monday=LAST_MONDAY)
    return {"ids": ids, **w}


WEB_ROWS, WEB_COLS = 7, 5
WEB_HOT = [(2, 1), (2, 2), (3, 1), (3, 2)]


def web_lattice(url: str, ids: dict[str, object]) -> list[int]:
    """The web test district (:mod:`tests.fixtures.web`) with 甲社区's one grid replaced by a
    7 × 5 lattice whose cases end with the last whole week before today (committed)."""
    from gridmap.analysis.cube import step_dates
    from gridmap.db import make_engine

    comm = ids["community"]["110101001001"]  # type: ignore[index]
    eng = make_engine(url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        v, street = conn.execute(sa.text(
            "SELECT gv.id, c.street_id FROM grid_version gv JOIN community c "
            "ON c.id = gv.community_id WHERE gv.community_id = :c AND gv.status = 'active'"),
            {"c": comm}).one()
        conn.execute(sa.text("DELETE FROM grid_geometry WHERE version_id = :v"), {"v": v})
        out = add_lattice(conn, version_id=v, community_id=comm, street_id=street, x0=116.400,
                          y0=39.900, rows=WEB_ROWS, cols=WEB_COLS, code_prefix="110101001001",
                          last_monday=step_dates("week", None, None)[-1], hot=WEB_HOT)
    eng.dispose()
    return out
