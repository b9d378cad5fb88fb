"""Standard address register (标准地址库) and the address confirmation queue (issue #19).

- ``address_entry``: one row per register address (door plate, lane, numbered building,
  named place, road, community/street), as written (``text``) with its parsed elements, a
  point (and a road's line), optional building id, source and validity. Versioned like
  boundaries: a moved or demolished address gets ``valid_to`` and a new row, never a delete.
  ``entry_key`` is the normalised identity (derived, for versioning); one current row per
  (source, entry_key).
- ``address_queue``: the 地址待确认 queue: intake rows whose address could not be placed
  with confidence, with their candidates, until a supervisor places (or dismisses) them.
- ``incident``: how the point was obtained from the address (``geocode_level/score/status``)
  and the flag for a reported point far from its address's match.

Revision ID: 0015_addresses
Revises: 0014_dispatch
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0015_addresses"
down_revision = "0014_dispatch"
branch_labels = None
depends_on = None


def _create_address_entry() -> None:
    op.create_table(
        "address_entry",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("text", sa.Text, nullable=False, comment="the address as written"),
        sa.Column("entry_key", sa.Text, nullable=False,
                  comment="normalised identity (derived from the elements)"),
        sa.Column("district", sa.Text),
        sa.Column("street", sa.Text),
        sa.Column("community", sa.Text),
        sa.Column("road", sa.Text),
        sa.Column("lane", sa.Integer),
        sa.Column("branch", sa.Integer),
        sa.Column("number", sa.Integer),
        sa.Column("place", sa.Text),
        sa.Column("building_no", sa.Integer),
        sa.Column("building_id", sa.Integer, sa.ForeignKey("building.id", ondelete="SET NULL")),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("line", Geometry("MULTILINESTRING", srid=4326, spatial_index=False)),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("import_run.id", ondelete="SET NULL")),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("valid_to", sa.DateTime(timezone=True)),
        sa.Column("created_by", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.CheckConstraint("kind IN ('door','place','road','area')", name="ck_address_kind"),
        sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from",
                           name="ck_address_validity"),
    )
    op.create_index("ux_address_entry_current", "address_entry", ["source", "entry_key"],
                    unique=True, postgresql_where=sa.text("valid_to IS NULL"))
    op.create_index("ix_address_entry_geom", "address_entry", ["geom"],
                    postgresql_using="gist")
    op.create_index("ix_address_entry_line", "address_entry", ["line"],
                    postgresql_using="gist")


def _create_address_queue() -> None:
    op.create_table(
        "address_queue",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("payload", JSONB, nullable=False, comment="the intake row, as received"),
        sa.Column("level", sa.String(16)),
        sa.Column("score", sa.Float),
        sa.Column("reason", sa.Text),
        sa.Column("candidates", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("status", sa.String(12), nullable=False, server_default="pending"),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("resolved_by", sa.Text),
        sa.Column("incident_id", sa.BigInteger),
        sa.Column("entry_id", sa.BigInteger, sa.ForeignKey("address_entry.id")),
        sa.CheckConstraint("status IN ('pending','placed','dismissed')",
                           name="ck_address_queue_status"),
        sa.CheckConstraint("channel IN ('import','api','open311')",
                           name="ck_address_queue_channel"),
    )
    op.create_index("ix_address_queue_pending", "address_queue", ["created_at"],
                    postgresql_where=sa.text("status = 'pending'"))


def upgrade() -> None:
    _create_address_entry()
    _create_address_queue()
    op.add_column("incident", sa.Column("geocode_level", sa.String(16)))
    op.add_column("incident", sa.Column("geocode_score", sa.Float))
    op.add_column("incident", sa.Column(
        "geocode_status", sa.String(12),
        comment="auto (placed from the address) | confirmed (a supervisor picked a candidate) "
                "| manual (placed by hand)"))
    op.add_column("incident", sa.Column(
        "address_distance_m", sa.Float,
        comment="distance between the reported point and its address's match"))
    op.add_column("incident", sa.Column("address_far", sa.Boolean, nullable=False,
                                        server_default=sa.false()))


def downgrade() -> None:
    for col in ("address_far", "address_distance_m", "geocode_status", "geocode_score",
                "geocode_level"):
        op.drop_column("incident", col)
    op.drop_index("ix_address_queue_pending", table_name="address_queue")
    op.drop_table("address_queue")
    op.drop_index("ix_address_entry_geom", table_name="address_entry")
    op.drop_index("ux_address_entry_current", table_name="address_entry")
    op.drop_table("address_entry")
