"""Schema for walking network and coverage (owned by the coverage work).

Revision ID: 0004_network
Revises: 0003_incidents
Create Date: 2026-11-23
"""

revision = "0004_network"
down_revision = "0003_incidents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
