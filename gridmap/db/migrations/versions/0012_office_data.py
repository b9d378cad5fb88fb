"""Office data imports: category mappings, import provenance, history flags (issue #15).

Reserved slot: filled by the issue's work; until then a no-op so the chain stays linear.

Revision ID: 0012_office_data
Revises: 0011_sessions
Create Date: 2026-11-30
"""

from alembic import op  # noqa: F401

revision = "0012_office_data"
down_revision = "0011_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
