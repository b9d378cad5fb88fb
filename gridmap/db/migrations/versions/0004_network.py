"""Schema for walking network and coverage (owned by the coverage work).

- ``network_build``: one row per ``gridmap network build`` (parameters, report,
  fingerprint, metric CRS); the newest row describes the current network.
- ``network_node`` / ``network_edge``: the noded walking graph (lengths in metres).
- ``building_snap`` / ``facility_snap``: the projection of each building
  (point-on-surface) and facility (``location``) onto its nearest edge.
- ``building_coverage``: building × facility type → network and euclidean distance.
- ``service_area``: 5/10/15-minute walking areas per facility and per type.
- ``coverage_run``: one row per refresh (fingerprints of network + facilities).

Revision ID: 0004_network
Revises: 0003_incidents
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004_network"
down_revision = "0003_incidents"
branch_labels = None
depends_on = None


def _geom(kind: str, name: str = "geom", nullable: bool = False) -> sa.Column:
    return sa.Column(name, Geometry(kind, srid=4326, spatial_index=False), nullable=nullable)


def _gist(table: str, column: str = "geom") -> None:
    op.create_index(f"ix_{table}_{column}", table, [column], postgresql_using="gist")


def _create_network_build_network_node_network_edge() -> None:
    op.create_table(
        "network_build",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("built_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("metric_epsg", sa.Integer, nullable=False),
        sa.Column("params", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("report", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    )
    op.create_table(
        "network_node",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("component", sa.Integer, nullable=False),
        sa.Column("degree", sa.Integer, nullable=False, server_default="0"),
        _geom("POINT"),
    )
    op.create_table(
        "network_edge",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("source", sa.BigInteger, nullable=False),
        sa.Column("target", sa.BigInteger, nullable=False),
        sa.Column("length_m", sa.Float, nullable=False),
        sa.Column("component", sa.Integer, nullable=False),
        sa.Column("highway", sa.Text),
        sa.Column("osm_line_id", sa.BigInteger),
        sa.Column("level", sa.Integer, nullable=False, server_default="0",
                  comment="0 = ground; bridge/tunnel/layer ways carry their layer"),
        _geom("LINESTRING"),
        sa.CheckConstraint("length_m >= 0", name="ck_network_edge_length"),
    )
    op.create_index("ix_network_edge_source", "network_edge", ["source"])
    op.create_index("ix_network_edge_target", "network_edge", ["target"])
    op.create_index("ix_network_edge_component", "network_edge", ["component"])

    for table, fk, ref in (("building_snap", "building_id", "building.id"),
                           ("facility_snap", "facility_id", "facility.id")):
        op.create_table(
            table,
            sa.Column(fk, sa.Integer, sa.ForeignKey(ref, ondelete="CASCADE"), primary_key=True),
            sa.Column("edge_id", sa.BigInteger,
                      sa.ForeignKey("network_edge.id", ondelete="CASCADE"), nullable=False),
            sa.Column("offset_m", sa.Float, nullable=False,
                      comment="distance from the edge's source along the edge"),
            sa.Column("fraction", sa.Float, nullable=False),
            sa.Column("snap_m", sa.Float, nullable=False),
            _geom("POINT"),
        )
        op.create_index(f"ix_{table}_edge", table, ["edge_id"])
        _gist(table)


def _create_building_coverage_coverage_run_service_area() -> None:
    op.create_table(
        "building_coverage",
        sa.Column("building_id", sa.Integer, sa.ForeignKey("building.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("type_code", sa.String(64),
                  sa.ForeignKey("facility_type.code", ondelete="CASCADE"), primary_key=True),
        sa.Column("network_m", sa.Float, comment="NULL = unreachable or beyond the cap"),
        sa.Column("euclid_m", sa.Float),
        sa.Column("radius_m", sa.Float, comment="radius used; NULL for block-tier types"),
        sa.Column("covered", sa.Boolean, nullable=False),
        sa.Column("euclid_covered", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_building_coverage_type", "building_coverage", ["type_code"])

    op.create_table(
        "coverage_run",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("network_fingerprint", sa.Text, nullable=False),
        sa.Column("facility_fingerprint", sa.Text, nullable=False),
        sa.Column("speed_m_per_min", sa.Float, nullable=False),
        sa.Column("report", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    )

    op.create_table(
        "service_area",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("facility_id", sa.Integer, sa.ForeignKey("facility.id", ondelete="CASCADE"),
                  comment="NULL = the union for the whole type"),
        sa.Column("type_code", sa.String(64),
                  sa.ForeignKey("facility_type.code", ondelete="CASCADE"), nullable=False),
        sa.Column("minutes", sa.Integer, nullable=False),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("area_m2", sa.Float),
        _geom("MULTIPOLYGON"),
        sa.CheckConstraint("minutes > 0", name="ck_service_area_minutes"),
    )
    op.create_index("ix_service_area_type", "service_area", ["type_code", "minutes"])
    op.create_index("ix_service_area_facility", "service_area", ["facility_id"])

    for table in ("network_node", "network_edge", "service_area"):
        _gist(table)


def upgrade() -> None:
    _create_network_build_network_node_network_edge()
    _create_building_coverage_coverage_run_service_area()


def downgrade() -> None:
    for table in ("service_area", "coverage_run", "building_coverage", "facility_snap",
                  "building_snap", "network_edge", "network_node", "network_build"):
        op.drop_table(table)
