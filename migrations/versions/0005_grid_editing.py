"""Schema for grid editing (owned by the grid-redraw work).

Revision ID: 0005_grid_editing
Revises: 0004_network
Create Date: 2026-11-23
"""

revision = "0005_grid_editing"
down_revision = "0004_network"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
