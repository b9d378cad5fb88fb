"""Rollups (migration 0020): equal to a scan after imports, transitions and deletes."""

from __future__ import annotations

import datetime as dt
import time

import h3
import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import city
from gridmap.errors import ValidationError
from gridmap.incidents import rollups, workflow

_SCAN = """
SELECT (reported_at AT TIME ZONE 'Asia/Shanghai')::date, coalesce(street_id, 0),
       coalesce(community_id, 0), coalesce(grid_id, 0), category_code, state, count(*)
FROM incident GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
"""
_ROLLUP = """
SELECT day, street_id, community_id, grid_id, category_code, state, n FROM incident_rollup_day
WHERE n <> 0 ORDER BY 1, 2, 3, 4, 5, 6
"""


def _same(conn: Connection) -> None:
    assert conn.execute(sa.text(_ROLLUP)).all() == conn.execute(sa.text(_SCAN)).all()


@pytest.fixture
def tiny(conn: Connection) -> city.CityReport:
    return city.generate(conn, "tiny", 3)


def test_rollup_equals_a_scan_after_import_transitions_and_delete(
        conn: Connection, tiny: city.CityReport) -> None:
    _same(conn)
    open_ids = [r[0] for r in conn.execute(sa.text(
        "SELECT id FROM incident WHERE state = 'reported' ORDER BY id LIMIT 5"))]
    for i in open_ids:
        workflow.transition(conn, i, "filed", actor="t")
    _same(conn)
    conn.execute(sa.text("DELETE FROM incident WHERE id = :i"), {"i": open_ids[-1]})
    _same(conn)
    # a corrected report time moves the case to another month's partition
    conn.execute(sa.text("UPDATE incident SET reported_at = reported_at + interval '40 days' "
                         "WHERE id = ANY(:i)"), {"i": open_ids[1:3]})
    _same(conn)
    assert rollups.rebuild(conn)["incident_rollup_day"] > 0
    _same(conn)


def test_day_counts_answer_what_a_scan_answers(conn: Connection, tiny: city.CityReport) -> None:
    start, end = dt.date(2025, 3, 1), dt.date(2025, 3, 31)
    got = rollups.day_counts(conn, start, end, by=("state",))
    scan = conn.execute(sa.text(
        "SELECT state, count(*) FROM incident WHERE (reported_at AT TIME ZONE 'Asia/Shanghai')"
        "::date BETWEEN :a AND :b GROUP BY 1 ORDER BY 1"), {"a": start, "b": end}).all()
    assert list(got.itertuples(index=False, name=None)) == [(s, n) for s, n in scan]
    comm = conn.execute(sa.text("SELECT min(community_id) FROM incident")).scalar_one()
    total = rollups.day_counts(conn, start, end, by=(), community_ids=[comm])
    assert int(total["n"].iloc[0]) == conn.execute(sa.text(
        "SELECT count(*) FROM incident WHERE community_id = :c AND (reported_at AT TIME ZONE "
        "'Asia/Shanghai')::date BETWEEN :a AND :b"), {"c": comm, "a": start, "b": end}
    ).scalar_one()
    with pytest.raises(ValidationError):
        rollups.day_counts(conn, start, end, by=("reporter_phone",))


def test_heat_cells_equal_h3_of_the_stored_points(conn: Connection,
                                                  tiny: city.CityReport) -> None:
    rows = conn.execute(sa.text("SELECT ST_X(geom), ST_Y(geom) FROM incident WHERE "
                                "reported_at >= '2025-06-01 00:00+08' AND reported_at < "
                                "'2025-07-01 00:00+08'")).all()
    cells = rollups.cells_of(np.array([r[0] for r in rows]), np.array([r[1] for r in rows]))
    want: dict[int, int] = {}
    for c in cells.tolist():
        want[c] = want.get(c, 0) + 1
    got = rollups.heat_cells(conn, dt.date(2025, 6, 1), dt.date(2025, 6, 30))
    assert {h3.str_to_int(g["h3"]): g["count"] for g in got} == want
    assert got[0]["count"] == max(want.values())
    coarse = rollups.heat_cells(conn, dt.date(2025, 6, 1), dt.date(2025, 6, 30), res=7)
    assert sum(g["count"] for g in coarse) == len(rows)


def test_a_transition_stays_cheap(conn: Connection, tiny: city.CityReport) -> None:
    ids = [r[0] for r in conn.execute(sa.text(
        "SELECT id FROM incident WHERE state = 'reported' ORDER BY id LIMIT 20"))]
    t0 = time.perf_counter()
    for i in ids:
        workflow.transition(conn, i, "filed", actor="t")
    per = (time.perf_counter() - t0) / len(ids)
    assert per < 0.25  # generous on a loaded machine; benchmarks/bench_city.py measures it
