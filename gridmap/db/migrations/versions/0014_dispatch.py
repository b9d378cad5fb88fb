"""Routing rules, handling levels, acceptance, 督办, notifications (issue #13, engine).

Reserved slot: filled by the issue's work; until then a no-op so the chain stays linear.

Revision ID: 0014_dispatch
Revises: 0013_org_units
Create Date: 2026-11-30
"""

from alembic import op  # noqa: F401

revision = "0014_dispatch"
down_revision = "0013_org_units"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
