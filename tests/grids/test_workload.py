"""gridmap.grids.workload: grids balanced on a second target (cases per month, patrol
length) with the household range still hard; both balances reported."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import grids
from gridmap.errors import ValidationError
from gridmap.grids import workload
from gridmap.grids.partition import PartitionParams
from tests.fixtures.grids import LAT0, M_LAT, make_community

NOW = dt.datetime.now(dt.UTC)  # auto_partition counts the 12 months before now


def _lattice_edges(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    ei, ej = [], []
    for r in range(rows):
        for c in range(cols):
            u = r * cols + c
            if c + 1 < cols:
                ei.append(u)
                ej.append(u + 1)
            if r + 1 < rows:
                ei.append(u)
                ej.append(u + cols)
    return np.array(ei), np.array(ej)


def test_balance_keeps_households_in_range_and_evens_workload() -> None:
    # 4 × 6 units of 50 households; left half grid 0, right half grid 1 (600 each);
    # all the work in the left half's units
    rows, cols = 4, 6
    labels = np.array([0 if c < 3 else 1 for r in range(rows) for c in range(cols)])
    hh = np.full(rows * cols, 50)
    work = np.array([4.0 if c < 3 else 0.0 for r in range(rows) for c in range(cols)])
    ei, ej = _lattice_edges(rows, cols)
    p = PartitionParams(households_min=500, households_max=700)
    before = workload.balance_report(labels, hh, work, p, "cases")
    new, moves = workload.balance_workload(labels, hh, work, ei, ej, p)
    after = workload.balance_report(new, hh, work, p, "cases")
    assert before["workload"]["max"] == 48 and before["workload"]["cv"] == 1.0
    assert after["workload"]["cv"] < 0.5 and moves
    assert after["households"]["out_of_range"] == 0  # hard: 500..700 kept
    assert 500 <= after["households"]["min"] and after["households"]["max"] <= 700
    frozen, none = workload.balance_workload(labels, hh, work, ei, ej, p, frozen={1})
    assert none == [] and (frozen == labels).all()  # a locked grid takes nothing


def _cases_in_block(conn: Connection, cid: int, block: str, per_building: int) -> None:
    conn.execute(sa.text(
        "INSERT INTO incident (category_code, source, state, reported_at, geom, community_id, "
        "synthetic) SELECT 'E0102', 'patrol', 'closed', :t - k * interval '1 day', "
        "ST_PointOnSurface(b.geom), b.community_id, true FROM building b, "
        "generate_series(1, :n) k WHERE b.community_id = :c AND b.name LIKE :p"),
        {"t": NOW - dt.timedelta(days=1), "n": per_building, "c": cid, "p": f"{block}-%"})


def test_auto_partition_and_rebalance_with_cases(conn: Connection) -> None:
    cid = make_community(conn)  # 3 × 2 blocks of 4 buildings × 50 households
    _cases_in_block(conn, cid, "0-0", 36)  # 144 cases in the last year in one block
    plain = grids.auto_partition(conn, cid, seed=1)
    by_cases = grids.auto_partition(conn, cid, seed=1, second_target="cases")
    a = workload.plan_balance(conn, plain, "cases", now=NOW)
    b = workload.plan_balance(conn, by_cases, "cases", now=NOW)
    assert a["workload"]["mean"] == pytest.approx(144 / 12 / a["grids"], rel=1e-3)
    assert b["workload"]["max_over_mean"] < a["workload"]["max_over_mean"]
    assert b["households"]["out_of_range"] == 0
    assert all(300 <= g["households"] <= 500 for g in b["per_grid"])
    assert sum(g["workload"] for g in b["per_grid"]) == pytest.approx(12.0)
    # rebalance of the plain plan with the second target moves units and keeps the range
    res = grids.rebalance(conn, plain, actor="o", second_target="cases")
    c = workload.plan_balance(conn, plain, "cases", now=NOW)
    assert res["moves"] and c["workload"]["cv"] < a["workload"]["cv"]
    assert c["households"]["out_of_range"] == 0


def test_patrol_length_and_bad_target(conn: Connection) -> None:
    cid = make_community(conn)
    # a street across the first row of blocks (100 m north of the community's edge)
    conn.execute(sa.text(
        "INSERT INTO osm_line (highway, name, geom) SELECT 'residential', 'x', "
        "ST_MakeLine(ST_MakePoint(ST_XMin(geom) - 0.001, :y), ST_MakePoint(ST_XMax(geom) + "
        "0.001, :y)) FROM community WHERE id = :c"), {"c": cid, "y": LAT0 + 100 * M_LAT})
    expected = conn.execute(sa.text(
        "SELECT ST_Length(ST_Intersection(c.geom, l.geom)::geography) FROM community c, "
        "osm_line l WHERE c.id = :c"), {"c": cid}).scalar_one()
    vid = grids.auto_partition(conn, cid, seed=2, second_target="patrol")
    rep = workload.plan_balance(conn, vid, "patrol")
    assert sum(g["workload"] for g in rep["per_grid"]) == pytest.approx(expected, rel=0.02)
    assert rep["households"]["out_of_range"] == 0
    with pytest.raises(ValidationError) as err:
        workload.plan_balance(conn, vid, "households")
    assert err.value.code == "analysis.target"
