"""Benchmark: emerging hot spots over G grids × T weeks (issue #17 §4: 4,000 × 104 ≤ 10 s).

Run::

    .venv/bin/python benchmarks/bench_ehsa.py                      # 4,000 grids × 104 weeks
    .venv/bin/python benchmarks/bench_ehsa.py --grids 1000 --cases 100000   # quick run
    .venv/bin/python benchmarks/bench_ehsa.py --no-db              # the numpy core only

Timed:

- **core**: :func:`gridmap.analysis.ehsa.emerging_hotspots` on a synthetic Poisson cube of a
  square-ish lattice of G grids (queen contiguity) with planted surges — Gi* of every bin,
  FDR, Mann-Kendall of every grid, classes;
- **end to end** (unless ``--no-db``): a throwaway PostGIS cluster gets G square grids
  (one active version per community of 100 grids) and ``--cases`` cases over T weeks; timed
  is :func:`gridmap.analysis.report.run` (the SQL aggregate into the cube, the contiguity
  self-join, the core) plus :func:`gridmap.analysis.report.rows`;
- **baseline**, in the same run: ``esda.G_Local(star=True, transform="B", permutations=0)``
  once per time step, FDR per step with ``scipy.stats.false_discovery_control``, and
  ``pymannkendall.original_test`` per grid on ``--sample`` grids, extrapolated to G.

Prints a JSON line with the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gridmap.analysis import ehsa  # noqa: E402

LAST_MONDAY = dt.date(2025, 6, 23)


def lattice(n: int) -> tuple[int, int, sparse.csr_matrix]:
    """Rows, columns and queen adjacency of a lattice of (at least) n cells, first n kept."""
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    idx = np.arange(rows * cols).reshape(rows, cols)
    r, c = [], []
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                a = idx[max(di, 0):rows + min(di, 0), max(dj, 0):cols + min(dj, 0)]
                b = idx[max(-di, 0):rows + min(-di, 0), max(-dj, 0):cols + min(-dj, 0)]
                r.append(a.ravel())
                c.append(b.ravel())
    rr, cc = np.concatenate(r), np.concatenate(c)
    keep = (rr < n) & (cc < n)
    adj = sparse.csr_matrix((np.ones(keep.sum()), (rr[keep], cc[keep])), shape=(n, n))
    return rows, cols, adj


def synthetic_cube(n: int, steps: int, seed: int = 1) -> np.ndarray:
    """Poisson counts (mean 3) with a few planted growing clusters."""
    rng = np.random.default_rng(seed)
    lam = np.full((n, steps), 3.0)
    for start in rng.choice(n, size=max(n // 200, 1), replace=False):
        lam[start:start + 3, steps // 2:] += np.linspace(1, 12, steps - steps // 2)
    return rng.poisson(lam).astype(float)


def baseline(x: np.ndarray, adj: sparse.csr_matrix, sample: int) -> dict[str, float]:
    """esda per step + pymannkendall per grid (sampled, extrapolated)."""
    import pymannkendall as mk
    from esda.getisord import G_Local
    from libpysal.weights import W
    from scipy.stats import false_discovery_control

    n, steps = x.shape
    t0 = time.perf_counter()
    w = W.from_sparse(adj)
    zs = np.zeros_like(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for t in range(steps):
            zs[:, t] = G_Local(x[:, t], w, transform="B", star=True, permutations=0).Zs
            false_discovery_control(np.clip(2 * _sf(np.abs(zs[:, t])), 0, 1))
    gi = time.perf_counter() - t0
    k = min(sample, n)
    t1 = time.perf_counter()
    for i in range(k):
        mk.original_test(zs[i])
    per_grid = (time.perf_counter() - t1) / k
    return {"baseline_gi_s": round(gi, 3), "baseline_mk_s": round(per_grid * n, 3),
            "baseline_s": round(gi + per_grid * n, 3), "baseline_mk_sample": k}


def _sf(z: np.ndarray) -> np.ndarray:
    from scipy.stats import norm
    return np.asarray(norm.sf(z))


def core(n: int, steps: int, sample: int, repeats: int) -> dict[str, Any]:
    """Time the numpy core against the baseline on the same cube."""
    _, _, adj = lattice(n)
    x = synthetic_cube(n, steps)
    best = math.inf
    res = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = ehsa.emerging_hotspots(x, adj)
        best = min(best, time.perf_counter() - t0)
    assert res is not None
    base = baseline(x, adj, sample)
    classes = np.bincount(res.classes.astype(np.int64), minlength=len(ehsa.CLASSES))
    return {"core_s": round(best, 3), **base,
            "core_ratio": round(base["baseline_s"] / best, 1),
            "classes": {c: int(classes[i]) for i, c in enumerate(ehsa.CLASSES) if classes[i]}}


def load_world(conn: Any, n: int, steps: int, cases: int) -> None:
    """n square grids of 0.002° in communities of 100, and ``cases`` cases over the weeks."""
    import sqlalchemy as sa

    _, cols, _ = lattice(n)
    for sql in (
            "INSERT INTO district (code, name, geom) VALUES ('319901', 'D', "
            "ST_Multi(ST_MakeEnvelope(121, 31, 122, 32, 4326)))",
            "INSERT INTO street (code, name, district_id, geom) SELECT '319901001', 'S', id, "
            "geom FROM district",
            "INSERT INTO community (code, name, street_id, geom) SELECT "
            "'319901001' || lpad(k::text, 3, '0'), 'C' || k, s.id, s.geom FROM street s, "
            "generate_series(1, CAST(:nc AS int)) k",
            "INSERT INTO grid_version (community_id, generation, status, valid_from) "
            "SELECT id, 1, 'active', '2020-01-01Z' FROM community"):
        conn.execute(sa.text(sql), {"nc": math.ceil(n / 100)})
    conn.execute(sa.text(
        "INSERT INTO grid (community_id, grid_seq, grid_code) SELECT c.id, g % 100 + 1, "
        "'G' || lpad(g::text, 6, '0') FROM generate_series(0, :n - 1) g "
        "JOIN community c ON c.code = '319901001' || lpad((g / 100 + 1)::text, 3, '0')"),
        {"n": n})
    conn.execute(sa.text(
        "INSERT INTO grid_geometry (version_id, grid_id, geom) SELECT v.id, g.id, "
        "ST_Multi(ST_MakeEnvelope(121.1 + (k % :cols) * 0.002, 31.1 + (k / :cols) * 0.002, "
        "121.1 + (k % :cols + 1) * 0.002, 31.1 + (k / :cols + 1) * 0.002, 4326)) "
        "FROM (SELECT id, community_id, substr(grid_code, 2)::int AS k FROM grid) g "
        "JOIN grid_version v ON v.community_id = g.community_id"), {"cols": cols})
    conn.execute(sa.text(
        "INSERT INTO incident (category_code, source, state, reported_at, geom, grid_id, "
        "community_id, street_id, synthetic) SELECT 'E0102', 'patrol', 'closed', "
        "(CAST(:last AS date) - 7 * (:steps - 1) + floor(random() * 7 * :steps)::int)::timestamp"
        " AT TIME ZONE 'Asia/Shanghai' + interval '9 hours', ST_Centroid(gg.geom), g.id, "
        "g.community_id, (SELECT id FROM street), true FROM generate_series(1, :cases) i "
        "JOIN grid g ON g.grid_code = 'G' || lpad(((i::bigint * 7919) % :n)::text, 6, '0') "
        "JOIN grid_geometry gg ON gg.grid_id = g.id"),
        {"last": LAST_MONDAY, "steps": steps, "cases": cases, "n": n})
    conn.execute(sa.text("ANALYZE incident"))
    conn.execute(sa.text("ANALYZE grid_geometry"))


def end_to_end(n: int, steps: int, cases: int, repeats: int) -> dict[str, Any]:
    """Load a throwaway database and time report.run + rows."""
    import sqlalchemy as sa

    from benchmarks.common import throwaway_database
    from gridmap.analysis import report
    from gridmap.db import make_engine

    with throwaway_database("gridmap-ehsa-", port_from=56700) as (_, url):
        eng = make_engine(url, poolclass=sa.pool.NullPool)
        t0 = time.perf_counter()
        with eng.begin() as conn:
            load_world(conn, n, steps, cases)
        load_s = time.perf_counter() - t0
        first = LAST_MONDAY - dt.timedelta(weeks=steps - 1)
        best = math.inf
        for _ in range(repeats):
            with eng.connect() as conn:
                t1 = time.perf_counter()
                r = report.run(conn, "week", first, LAST_MONDAY)
                report.rows(r)
                best = min(best, time.perf_counter() - t1)
        eng.dispose()
    return {"db_load_s": round(load_s, 1), "end_to_end_s": round(best, 3),
            "db_grids": int(len(r.cube.grid_ids)), "db_cases": int(r.cube.counts.sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--grids", type=int, default=4000)
    ap.add_argument("--weeks", type=int, default=104)
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--sample", type=int, default=400, help="grids for the MK baseline")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-db", action="store_true", help="time the numpy core only")
    args = ap.parse_args()
    out: dict[str, Any] = {"grids": args.grids, "weeks": args.weeks}
    out.update(core(args.grids, args.weeks, args.sample, args.repeats))
    if not args.no_db:
        out["cases"] = args.cases
        out.update(end_to_end(args.grids, args.weeks, args.cases, args.repeats))
        out["end_to_end_ratio"] = round(out["baseline_s"] / out["end_to_end_s"], 1)
    out["target_s"] = 10.0
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
