"""Migration 0020: incidents and events partitioned by month, with their data (real PostGIS)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from gridmap.db import downgrade, make_engine, migrate, partitions
from gridmap.reference import catalogue

_SNAPSHOT = (
    "SELECT (SELECT count(*) FROM incident), (SELECT sum(id) FROM incident), "
    "(SELECT sum(hashtext(i::text)) FROM incident i), (SELECT count(*) FROM incident_event), "
    "(SELECT sum(hashtext(e::text)) FROM incident_event e), (SELECT count(*) FROM incident_photo)")

_OLD_CASES = """
INSERT INTO incident (external_id, category_code, reported_at, geom, state, client_id)
SELECT 'OLD-' || g, (SELECT min(code) FROM event_category WHERE parent_code IS NOT NULL),
       timestamptz '2024-01-01 08:00+08' + g * interval '7 hours',
       ST_SetSRID(ST_MakePoint(121.4 + g * 1e-5, 31.2), 4326),
       CASE WHEN g % 3 = 0 THEN 'closed' ELSE 'reported' END,
       CASE WHEN g % 50 = 0 THEN gen_random_uuid() END
FROM generate_series(1, 3000) g;
INSERT INTO incident_event (incident_id, at, to_state) SELECT id, reported_at, 'reported'
FROM incident;
INSERT INTO incident_photo (incident_id, stage, path, mime, bytes, width, height, sha256)
SELECT id, 'before', 'p/' || id || '.jpg', 'image/jpeg', 1, 1, 1, 'x' FROM incident
WHERE id % 100 = 0;
"""


@pytest.fixture
def old_db(empty_db_url: str) -> Iterator[tuple[str, Engine]]:
    """A database at 0019 (before partitioning) holding 3,000 cases over ~2 years."""
    migrate(empty_db_url, "0019_ratings")
    engine = make_engine(empty_db_url, poolclass=sa.pool.NullPool)
    with engine.begin() as c:
        catalogue.load_reference(c)
        for stmt in _OLD_CASES.split(";"):
            if stmt.strip():
                c.execute(sa.text(stmt))
    yield empty_db_url, engine
    engine.dispose()


def test_migration_keeps_every_row_and_id_and_downgrade_restores(
        old_db: tuple[str, Engine]) -> None:
    url, engine = old_db
    with engine.connect() as c:
        before = c.execute(sa.text(_SNAPSHOT)).one()
    migrate(url)
    with engine.connect() as c:
        assert c.execute(sa.text(_SNAPSHOT)).one() == before
        kind = c.execute(sa.text("SELECT relkind FROM pg_class WHERE relname = 'incident'"))
        assert kind.scalar_one() == "p"
        months = [p.month for p in partitions.list_partitions(c) if p.month]
        assert dt.date(2024, 1, 1) in months and dt.date(2024, 12, 1) in months
        assert partitions.default_rows(c) == 0
        # the rollup of the converted cases equals a scan
        assert c.execute(sa.text("SELECT sum(n) FROM incident_rollup_day")).scalar_one() == 3000
    downgrade(url, "0019_ratings")
    with engine.connect() as c:
        assert c.execute(sa.text(_SNAPSHOT)).one() == before
        assert c.execute(sa.text("SELECT relkind FROM pg_class WHERE relname = 'incident'")
                         ).scalar_one() == "r"


def _plan(conn: Connection, sql: str) -> str:
    return "\n".join(r[0] for r in conn.execute(sa.text("EXPLAIN " + sql)))


def test_a_month_query_reads_only_that_months_partition(conn: Connection) -> None:
    partitions.ensure(conn, dt.date(2025, 1, 1), dt.date(2025, 6, 30))
    plan = _plan(conn, "SELECT count(*) FROM incident WHERE reported_at >= "
                 "'2025-03-01 00:00+08' AND reported_at < '2025-04-01 00:00+08'")
    assert "incident_p2025_03" in plan
    assert "incident_p2025_02" not in plan and "incident_p2025_04" not in plan
    assert "incident_default" not in plan
    # and a parameterised one (the web's queries) prunes at execution time
    rows = conn.execute(sa.text(
        "EXPLAIN (ANALYZE, COSTS OFF) SELECT count(*) FROM incident WHERE reported_at "
        ">= CAST(:a AS timestamptz) AND reported_at < CAST(:b AS timestamptz)"),
        {"a": "2025-05-01 00:00+08", "b": "2025-06-01 00:00+08"}).all()
    text = "\n".join(r[0] for r in rows)
    assert "incident_p2025_05" in text and "incident_p2025_01" not in text


def test_rows_of_a_month_without_partition_wait_in_default_then_move(conn: Connection) -> None:
    far = dt.date(2031, 7, 1)
    assert partitions.missing_months(conn, far, far) == [far]
    cat = conn.execute(sa.text("SELECT min(code) FROM event_category WHERE parent_code IS NOT "
                               "NULL")).scalar_one()
    conn.execute(sa.text(
        "INSERT INTO incident (category_code, reported_at, geom) VALUES (:c, "
        "'2031-07-15 10:00+08', ST_SetSRID(ST_MakePoint(121.4, 31.2), 4326))"), {"c": cat})
    assert partitions.default_rows(conn) == 1
    assert partitions.ensure(conn, far, far, tables=("incident",)) == 1
    assert partitions.default_rows(conn) == 0
    assert conn.execute(sa.text("SELECT count(*) FROM incident_p2031_07")).scalar_one() == 1


def test_external_id_and_client_id_stay_unique(conn: Connection) -> None:
    cat = conn.execute(sa.text("SELECT min(code) FROM event_category WHERE parent_code IS NOT "
                               "NULL")).scalar_one()
    ins = sa.text("INSERT INTO incident (external_id, category_code, reported_at, geom) VALUES "
                  "(:e, :c, :t, ST_SetSRID(ST_MakePoint(121.4, 31.2), 4326))")
    conn.execute(ins, {"e": "X-1", "c": cat, "t": "2025-01-05 10:00+08"})
    sp = conn.begin_nested()
    with pytest.raises(sa.exc.IntegrityError):  # same id in another month's partition
        conn.execute(ins, {"e": "X-1", "c": cat, "t": "2025-03-05 10:00+08"})
    sp.rollback()
    conn.execute(ins, {"e": "X-2", "c": cat, "t": "2025-03-05 10:00+08"})
    uuid = "0b6c7d0e-3f5a-4c1e-9a51-0c1f5e2d9b11"
    conn.execute(sa.text("UPDATE incident SET client_id = CAST(:u AS uuid) WHERE "
                         "external_id = 'X-1'"), {"u": uuid})
    sp = conn.begin_nested()
    with pytest.raises(sa.exc.IntegrityError):  # the field page's client id, set later
        conn.execute(sa.text("UPDATE incident SET client_id = CAST(:u AS uuid) WHERE "
                             "external_id = 'X-2'"), {"u": uuid})
    sp.rollback()


def test_photos_need_their_case_and_go_with_it(conn: Connection) -> None:
    cat = conn.execute(sa.text("SELECT min(code) FROM event_category WHERE parent_code IS NOT "
                               "NULL")).scalar_one()
    iid = conn.execute(sa.text(
        "INSERT INTO incident (category_code, reported_at, geom) VALUES (:c, now(), "
        "ST_SetSRID(ST_MakePoint(121.4, 31.2), 4326)) RETURNING id"), {"c": cat}).scalar_one()
    photo = sa.text("INSERT INTO incident_photo (incident_id, stage, path, mime, bytes, width, "
                    "height, sha256) VALUES (:i, 'before', :p, 'image/jpeg', 1, 1, 1, 'x')")
    conn.execute(photo, {"i": iid, "p": "a.jpg"})
    sp = conn.begin_nested()
    with pytest.raises(sa.exc.IntegrityError):
        conn.execute(photo, {"i": iid + 10_000_000, "p": "b.jpg"})
    sp.rollback()
    conn.execute(sa.text("DELETE FROM incident WHERE id = :i"), {"i": iid})
    assert conn.execute(sa.text("SELECT count(*) FROM incident_photo WHERE incident_id = :i"),
                        {"i": iid}).scalar_one() == 0
