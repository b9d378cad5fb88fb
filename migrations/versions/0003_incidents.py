"""Schema for incidents (owned by the incidents work).

Revision ID: 0003_incidents
Revises: 0002_ingest
Create Date: 2026-11-23
"""

revision = "0003_incidents"
down_revision = "0002_ingest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
