"""Incident table partitioned by month, rollups, retention (issue #18).

Reserved slot: filled by the issue's work; until then a no-op so the chain stays linear.

Revision ID: 0020_city_storage
Revises: 0019_ratings
Create Date: 2026-11-30
"""

from alembic import op  # noqa: F401

revision = "0020_city_storage"
down_revision = "0019_ratings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
