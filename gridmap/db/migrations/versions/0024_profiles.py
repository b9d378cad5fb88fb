"""Community profiles, facility capacity, 2SFCA (issue #17).

Reserved slot: filled by the issue's work; until then a no-op so the chain stays linear.

Revision ID: 0024_profiles
Revises: 0023_case_search
Create Date: 2026-11-30
"""

from alembic import op  # noqa: F401

revision = "0024_profiles"
down_revision = "0023_case_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
