"""Pages: basemap tile cache, audit/import views, user page state (issue #16).

Basemap (``_upgrade_basemap``, :mod:`gridmap.basemap`):

- ``basemap_state``: one row, ``generation`` of the data the basemap is drawn from. A
  statement-level trigger on ``osm_line``, ``building``, ``estate`` and ``community`` adds
  one to it whenever an import (or any edit) changes them, in the same transaction: a
  reader sees the new generation exactly when it sees the new data.
- ``basemap_tile``: the tile cache, one ``ST_AsMVT`` tile per ``z/x/y`` with the generation it
  was drawn from; a tile of an older generation is drawn again on its next request.

Other sections of this slot (issue #16's other pages) add their own ``_upgrade_*``.

Revision ID: 0018_pages
Revises: 0017_field_reports
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_pages"
down_revision = "0017_field_reports"
branch_labels = None
depends_on = None

BASEMAP_TABLES = ("osm_line", "building", "estate", "community")
_BUMP_FUNCTION = """
CREATE FUNCTION basemap_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE basemap_state SET generation = generation + 1, changed_at = now();
  RETURN NULL;
END $$
"""


def _upgrade_basemap() -> None:
    op.create_table(
        "basemap_state",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("generation", sa.BigInteger, nullable=False, server_default="1"),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.CheckConstraint("id = 1", name="ck_basemap_state_one_row"),
    )
    op.execute("INSERT INTO basemap_state (id) VALUES (1)")
    op.create_table(
        "basemap_tile",
        sa.Column("z", sa.SmallInteger, primary_key=True),
        sa.Column("x", sa.Integer, primary_key=True),
        sa.Column("y", sa.Integer, primary_key=True),
        sa.Column("generation", sa.BigInteger, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
    )
    op.execute(_BUMP_FUNCTION)
    for table in BASEMAP_TABLES:
        op.execute(
            f"CREATE TRIGGER trg_{table}_basemap AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
            f" ON {table} FOR EACH STATEMENT EXECUTE FUNCTION basemap_bump()")


def _downgrade_basemap() -> None:
    for table in BASEMAP_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_basemap ON {table}")
    op.execute("DROP FUNCTION IF EXISTS basemap_bump()")
    op.drop_table("basemap_tile")
    op.drop_table("basemap_state")


def upgrade() -> None:
    _upgrade_basemap()


def downgrade() -> None:
    _downgrade_basemap()
