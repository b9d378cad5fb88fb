"""Batch job table for Dask work (issue #18).

Reserved slot: filled by the issue's work; until then a no-op so the chain stays linear.

Revision ID: 0021_batch_jobs
Revises: 0020_city_storage
Create Date: 2026-11-30
"""

from alembic import op  # noqa: F401

revision = "0021_batch_jobs"
down_revision = "0020_city_storage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
