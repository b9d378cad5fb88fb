"""Case search at 1M cases (issue #14).

Reserved slot: filled by the issue's work; until then a no-op so the chain stays linear.

Revision ID: 0023_case_search
Revises: 0022_pages_activation
Create Date: 2026-11-30
"""

from alembic import op  # noqa: F401

revision = "0023_case_search"
down_revision = "0022_pages_activation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
