"""Schema for web accounts (owned by the web work).

Revision ID: 0006_web
Revises: 0005_grid_editing
Create Date: 2026-11-23
"""

revision = "0006_web"
down_revision = "0005_grid_editing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
