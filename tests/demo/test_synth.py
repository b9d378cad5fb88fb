"""Synthetic incidents: a realistic, idempotent mix over the loaded buildings."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.demo import synth
from tests.fixtures.incident_world import UTC, build_world


def test_synthesise_gives_realistic_mix(conn: Connection) -> None:
    world = build_world(conn)
    # more buildings so the points spread over the grids
    conn.execute(sa.text(
        "INSERT INTO building (code, community_id, geom) SELECT 'SB' || i, :c, "
        "ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(121.401 + (i % 19) * 0.001, "
        "31.201 + (i / 19) * 0.001), 4326), 0.0001)) FROM generate_series(0, 150) i"),
        {"c": world["C1"]})
    start = dt.datetime(2025, 9, 1, tzinfo=UTC)
    end = dt.datetime(2025, 11, 1, tzinfo=UTC)
    n = synth.synthesise(conn, 2000, seed=1, start=start, end=end)
    assert n == 2000
    assert synth.synthesise(conn, 2000, seed=1, start=start, end=end) == 0  # idempotent
    stats = conn.execute(sa.text(
        "SELECT count(DISTINCT state), count(DISTINCT category_code), count(DISTINCT source), "
        "count(*) FILTER (WHERE closed_at > due_at), count(*) FILTER (WHERE closed_at <= due_at),"
        " count(*) FILTER (WHERE grid_id IS NULL), bool_and(synthetic) FROM incident")).one()
    assert stats[0] >= 5 and stats[1] >= 10 and stats[2] == 6
    assert stats[3] > 50 and stats[4] > stats[3]  # some late, most on time
    assert stats[5] == 0 and stats[6] is True
    ev = conn.execute(sa.text(
        "SELECT count(*) FROM incident i WHERE state = 'closed' AND NOT EXISTS ("
        "SELECT 1 FROM incident_event e WHERE e.incident_id = i.id AND e.to_state = 'closed')")
    ).scalar_one()
    assert ev == 0
