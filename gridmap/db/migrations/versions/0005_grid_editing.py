"""Schema for grid editing (owned by the grid-redraw work).

- ``grid.provisional``: grids created in a draft get a provisional sequence and code; real
  numbers are given at activation in reading order (reference/grids.md §6), so a number is
  never spent on a draft that is thrown away and never reused once retired.
- ``grid_cell``: the tessellation of a community into unit cells (one per building, or per
  street block without buildings), boundaries half-way between units so that cells meet
  along road centre lines (reference/grids.md G4). Grid geometry = union of its cells.
- ``grid_edit_op``: undo/redo stack of a draft (before/after snapshots of what changed).
- ``grid_version.updated_by/updated_at``: who saved a draft last (optimistic locking uses
  the existing ``lock_version``).

Revision ID: 0005_grid_editing
Revises: 0004_network
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005_grid_editing"
down_revision = "0004_network"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "grid",
        sa.Column("provisional", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.add_column("grid_version", sa.Column("updated_by", sa.Text))
    op.add_column("grid_version", sa.Column("updated_at", sa.DateTime(timezone=True)))
    op.create_index("ix_grid_member_grid", "grid_member", ["version_id", "grid_id"])
    op.create_index("ix_grid_geometry_grid", "grid_geometry", ["grid_id"])

    op.create_table(
        "grid_cell",
        sa.Column(
            "community_id", sa.Integer, sa.ForeignKey("community.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("unit_type", sa.String(16), primary_key=True),
        sa.Column("unit_id", sa.Integer, primary_key=True),
        sa.Column("block_id", sa.Integer),
        sa.Column("households", sa.Integer, nullable=False, server_default="0"),
        sa.Column("residents", sa.Integer, nullable=False, server_default="0"),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False),
                  nullable=False),
        sa.CheckConstraint("unit_type IN ('building','block','community')",
                           name="ck_grid_cell_unit_type"),
    )
    op.create_index("ix_grid_cell_geom", "grid_cell", ["geom"], postgresql_using="gist")

    op.create_table(
        "grid_edit_op",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "version_id", sa.Integer, sa.ForeignKey("grid_version.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("actor", sa.Text),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("params", JSONB),
        sa.Column("before", JSONB, nullable=False),
        sa.Column("after", JSONB, nullable=False),
        sa.Column("undone", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("version_id", "seq", name="uq_grid_edit_op_seq"),
    )


def downgrade() -> None:
    op.drop_table("grid_edit_op")
    op.drop_index("ix_grid_cell_geom", table_name="grid_cell")
    op.drop_table("grid_cell")
    op.drop_index("ix_grid_geometry_grid", table_name="grid_geometry")
    op.drop_index("ix_grid_member_grid", table_name="grid_member")
    op.drop_column("grid_version", "updated_at")
    op.drop_column("grid_version", "updated_by")
    op.drop_column("grid", "provisional")
