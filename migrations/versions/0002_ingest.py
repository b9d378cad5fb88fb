"""Schema for ingest (owned by the ingest work).

Revision ID: 0002_ingest
Revises: 0001_core
Create Date: 2026-11-23
"""

revision = "0002_ingest"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
