"""Org import and coverage benchmark: ``.venv/bin/python benchmarks/bench_org.py
[--streets 10] [--staff 2000]``.

Runs on its own throwaway PostGIS cluster (benchmarks.common.throwaway_database, fast mode).
A synthetic district: ``--streets`` streets × 10 communities × 10 grids (one active version
each), the accounts of ``--staff`` people already stored (password hashing is timed
separately: it is the accounts' scrypt cost, per new account). Sheets: 1 district centre,
one centre + 3 条 units per street, one 居委会 per community; one post per person; one grid
worker per grid except one grid per community.

1. ``import_org`` of the three sheets (set-based: a few statements per table), dry run and
   real. Baseline in the same run, on a clone of the same database: the per-row path (one
   ``create_unit`` / ``assign_post`` / ``assign_grid`` call per row, as a naive importer
   through the single-object functions would do).
2. ``coverage`` per community and per street, and ``unassigned_grids``.
3. One ``hash_password`` (the cost of each new account an import creates).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.common import throwaway_database  # noqa: E402
from gridmap.accounts.users import hash_password  # noqa: E402
from gridmap.db import make_engine  # noqa: E402
from gridmap.org import assignments, importing, staff, units  # noqa: E402
from gridmap.org.sheets import Sheet  # noqa: E402

DISTRICT = "319903"


def _s(t0: float) -> float:
    return time.perf_counter() - t0


def build(conn: sa.Connection, streets: int, people: int) -> None:
    """District, streets, communities, grids (set-based SQL) and the staff accounts."""
    conn.execute(sa.text(
        "INSERT INTO district (code, name, geom) VALUES (:d, 'B',"
        " ST_Multi(ST_MakeEnvelope(121, 31, 121.001, 31.001, 4326)))"), {"d": DISTRICT})
    conn.execute(sa.text(
        "INSERT INTO street (code, name, district_id, geom) SELECT d.code ||"
        " lpad(s::text, 3, '0'), 'S' || s, d.id, d.geom FROM district d,"
        " generate_series(1, :n) s WHERE d.code = :d"), {"d": DISTRICT, "n": streets})
    conn.execute(sa.text(
        "INSERT INTO community (code, name, street_id, geom) SELECT s.code ||"
        " lpad(c::text, 3, '0'), s.name || 'C' || c, s.id, s.geom FROM street s,"
        " generate_series(1, 10) c"))
    conn.execute(sa.text(
        "INSERT INTO grid_version (community_id, generation, status, valid_from)"
        " SELECT id, 1, 'active', now() - interval '1 day' FROM community"))
    conn.execute(sa.text(
        "INSERT INTO grid (community_id, grid_seq, grid_code) SELECT c.id, g,"
        " c.code || lpad(g::text, 3, '0') FROM community c, generate_series(1, 10) g"))
    conn.execute(sa.text(
        "INSERT INTO grid_geometry (version_id, grid_id, geom) SELECT v.id, g.id, c.geom"
        " FROM grid g JOIN grid_version v ON v.community_id = g.community_id"
        " JOIN community c ON c.id = g.community_id"))
    conn.execute(sa.text(
        "INSERT INTO app_user (username, password_hash, role) SELECT 'u' || i, '!', 'staff'"
        " FROM generate_series(1, :n) i"), {"n": people})


def sheets(conn: sa.Connection, people: int) -> dict[str, Sheet]:
    """The three sheets for the synthetic district."""
    streets = [r[0] for r in conn.execute(sa.text("SELECT code FROM street ORDER BY code"))]
    comms = [r[0] for r in conn.execute(sa.text("SELECT code FROM community ORDER BY code"))]
    grid_codes = [r[0] for r in conn.execute(sa.text(
        "SELECT grid_code FROM grid WHERE grid_seq < 10 ORDER BY grid_code"))]
    u = [{"code": "Q", "name": "区中心", "kind": "district", "areas": DISTRICT}]
    for s in streets:
        u.append({"code": f"J{s}", "name": f"街道{s}", "kind": "street", "parent": "Q",
                  "areas": s})
        u += [{"code": f"{k}{s}", "name": f"{k}{s}", "kind": k, "parent": f"J{s}", "areas": s}
              for k in ("chengguan", "housing", "market")]
    u += [{"code": f"W{c}", "name": f"居委会{c}", "kind": "community", "parent": f"J{c[:9]}",
           "areas": c} for c in comms]
    unit_codes = [x["code"] for x in u]
    posts = ("handler", "dispatcher", "grid_worker", "inspector")
    st = [{"username": f"u{i}", "unit": unit_codes[i % len(unit_codes)],
           "posts": posts[i % len(posts)]} for i in range(1, people + 1)]
    asg = [{"username": f"u{(i % people) + 1}", "grid_code": g, "duty": "白班"}
           for i, g in enumerate(grid_codes)]
    return {"units": Sheet("units", "单位", u), "staff": Sheet("staff", "人员", st),
            "assignments": Sheet("assignments", "网格分配", asg)}


def per_row(conn: sa.Connection, sh: dict[str, Sheet]) -> None:
    """The baseline: one library call per row."""
    for row in sh["units"].rows:
        units.create_unit(conn, row)
    for row in sh["staff"].rows:
        uid = staff.user_id(conn, row["username"])
        staff.assign_post(conn, uid, units.unit_by_code(conn, row["unit"]).id, row["posts"])
    for row in sh["assignments"].rows:
        assignments.assign_grid(conn, staff.user_id(conn, row["username"]), row["grid_code"],
                                duty=row["duty"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--streets", type=int, default=10)
    ap.add_argument("--staff", type=int, default=2000)
    args = ap.parse_args()
    with throwaway_database("gridmap-bench-org-") as (cluster, url):
        eng = make_engine(url, poolclass=sa.pool.NullPool)
        with eng.begin() as conn:
            build(conn, args.streets, args.staff)
        base_url = cluster.ensure_database("bench_rows", template="bench")
        with eng.begin() as conn:
            sh = sheets(conn, args.staff)
            n = {k: len(v.rows) for k, v in sh.items()}
            t0 = time.perf_counter()
            importing.import_org(conn, sh, hash_password=hash_password, dry_run=True)
            dry = _s(t0)
            t0 = time.perf_counter()
            report = importing.import_org(conn, sh, hash_password=hash_password)
            real = _s(t0)
            t0 = time.perf_counter()
            cov = assignments.coverage(conn)
            street_cov = assignments.coverage(conn, level="street")
            gaps = assignments.unassigned_grids(conn)
            cov_s = _s(t0)
        eng.dispose()
        base = make_engine(base_url, poolclass=sa.pool.NullPool)
        with base.begin() as conn:
            t0 = time.perf_counter()
            per_row(conn, sh)
            rows_s = _s(t0)
        base.dispose()
    t0 = time.perf_counter()
    hash_password("temporary-password")
    hash_s = _s(t0)
    print(f"rows: {n['units']} units, {n['staff']} staff, {n['assignments']} assignments;"
          f" {report.posts} posts written")
    print(f"import_org dry run {dry:.2f} s, import {real:.2f} s;"
          f" per-row baseline {rows_s:.2f} s (ratio {rows_s / real:.1f}x)")
    print(f"coverage of {len(cov)} communities + {len(street_cov)} streets + {len(gaps)} gaps:"
          f" {cov_s * 1000:.0f} ms")
    print(f"one new account's password hash: {hash_s * 1000:.0f} ms (per account created)")


if __name__ == "__main__":
    main()
