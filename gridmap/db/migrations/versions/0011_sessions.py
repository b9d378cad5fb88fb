"""Sessions that can be revoked, request/throttle tables (issue #12, hardening).

Reserved slot: filled by the issue's work; until then a no-op so the chain stays linear.

Revision ID: 0011_sessions
Revises: 0010_drop_pgrouting
Create Date: 2026-11-30
"""

from alembic import op  # noqa: F401

revision = "0011_sessions"
down_revision = "0010_drop_pgrouting"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
