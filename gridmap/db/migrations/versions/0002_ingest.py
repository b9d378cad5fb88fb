"""Schema for ingest: buildings record the coordinate system they were imported from,
like the other boundary tables (``source_crs``; reference/crs.md §7.2).

Revision ID: 0002_ingest
Revises: 0001_core
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_ingest"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("building", sa.Column("source_crs", sa.Text))


def downgrade() -> None:
    op.drop_column("building", "source_crs")
