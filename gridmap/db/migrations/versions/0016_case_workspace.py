"""Case workspace: comments, community service lists, case search indexes (issue #14, workspace).

Reserved slot: filled by the issue's work; until then a no-op so the chain stays linear.

Revision ID: 0016_case_workspace
Revises: 0015_addresses
Create Date: 2026-11-30
"""

from alembic import op  # noqa: F401

revision = "0016_case_workspace"
down_revision = "0015_addresses"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
