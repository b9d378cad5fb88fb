"""Scheduled (future-dated) grid activation (issue #16).

Reserved slot: filled by the issue's work; until then a no-op so the chain stays linear.

Revision ID: 0022_pages_activation
Revises: 0021_batch_jobs
Create Date: 2026-11-30
"""

from alembic import op  # noqa: F401

revision = "0022_pages_activation"
down_revision = "0021_batch_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
