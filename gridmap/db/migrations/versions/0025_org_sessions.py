"""Staff post changes end sessions (issue #13).

Reserved slot: filled by the issue's work; until then a no-op so the chain stays linear.

Revision ID: 0025_org_sessions
Revises: 0024_profiles
Create Date: 2026-11-30
"""

from alembic import op  # noqa: F401

revision = "0025_org_sessions"
down_revision = "0024_profiles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
