"""Field reports from phones: photos, client-generated report ids (issue #14, phone).

Reserved slot: filled by the issue's work; until then a no-op so the chain stays linear.

Revision ID: 0017_field_reports
Revises: 0016_case_workspace
Create Date: 2026-11-30
"""

from alembic import op  # noqa: F401

revision = "0017_field_reports"
down_revision = "0016_case_workspace"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
