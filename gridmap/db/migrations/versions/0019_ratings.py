"""Star ratings, rating schemes and rounds, community service data (issue #17).

Reserved slot: filled by the issue's work; until then a no-op so the chain stays linear.

Revision ID: 0019_ratings
Revises: 0018_pages
Create Date: 2026-11-30
"""

from alembic import op  # noqa: F401

revision = "0019_ratings"
down_revision = "0018_pages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
