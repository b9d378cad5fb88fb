"""Supervisors confirm incidents located near a grid boundary or outside every grid.

``incident.location_confirmed_at/by`` record the confirmation; a partial index serves the
"to confirm" list (open, near a boundary or 属地兜底, not confirmed yet).

Revision ID: 0009_location_confirmation
Revises: 0008_login_failure
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_location_confirmation"
down_revision = "0008_login_failure"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("incident", sa.Column("location_confirmed_at", sa.DateTime(timezone=True)))
    op.add_column("incident", sa.Column("location_confirmed_by", sa.Text))
    op.create_index("ix_incident_to_confirm", "incident", ["community_id", "reported_at"],
                    postgresql_where=sa.text(
                        "(near_boundary OR located_by = 'nearest_grid') "
                        "AND location_confirmed_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_incident_to_confirm", table_name="incident")
    op.drop_column("incident", "location_confirmed_by")
    op.drop_column("incident", "location_confirmed_at")
