"""Units (处置单位), staff posts and grid assignments (issue #13, people and units).

Reserved slot: filled by the issue's work; until then a no-op so the chain stays linear.

Revision ID: 0013_org_units
Revises: 0012_office_data
Create Date: 2026-11-30
"""

from alembic import op  # noqa: F401

revision = "0013_org_units"
down_revision = "0012_office_data"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
