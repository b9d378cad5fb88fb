"""Migrations and the embedded cluster."""

from __future__ import annotations

import sqlalchemy as sa

from gridmap.db import downgrade, make_engine, migrate


def _tables(url: str) -> set[str]:
    eng = make_engine(url, poolclass=sa.pool.NullPool)
    with eng.connect() as c:
        rows = c.execute(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )).scalars().all()
    eng.dispose()
    return set(rows)


def test_migrations_upgrade_and_downgrade_on_empty_database(empty_db_url: str) -> None:
    migrate(empty_db_url)
    tables = _tables(empty_db_url)
    assert {"district", "street", "community", "estate", "building", "grid",
            "grid_version", "grid_geometry", "facility", "facility_type"} <= tables
    downgrade(empty_db_url, "base")
    assert _tables(empty_db_url) <= {"spatial_ref_sys", "alembic_version"}
    migrate(empty_db_url)  # and up again
    assert "building" in _tables(empty_db_url)


def test_every_geometry_column_has_a_gist_index(engine: sa.Engine) -> None:
    with engine.connect() as c:
        missing = c.execute(sa.text("""
            SELECT f_table_name || '.' || f_geometry_column
            FROM geometry_columns g
            WHERE f_table_schema = 'public' AND NOT EXISTS (
              SELECT 1 FROM pg_indexes i
              WHERE i.tablename = g.f_table_name AND i.indexdef ILIKE '%USING gist%'
                AND i.indexdef ILIKE '%(' || g.f_geometry_column || ')%')
        """)).scalars().all()
    assert missing == []


def test_geometries_are_stored_in_epsg_4326(engine: sa.Engine) -> None:
    with engine.connect() as c:
        srids = set(c.execute(sa.text(
            "SELECT DISTINCT srid FROM geometry_columns WHERE f_table_schema='public'"
        )).scalars())
    assert srids == {4326}
