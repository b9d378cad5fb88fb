"""Core schema: administrative divisions, boundaries, buildings, grids with
versions, facility catalogue and facilities, import runs and the audit log.

Revision ID: 0001_core
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001_core"
down_revision = None
branch_labels = None
depends_on = None


def _geom(kind: str = "MULTIPOLYGON", nullable: bool = False) -> sa.Column:
    return sa.Column(
        "geom", Geometry(kind, srid=4326, spatial_index=False), nullable=nullable
    )


def _boundary_cols() -> list[sa.Column]:
    return [
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("synthetic", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("source", sa.Text),
        sa.Column("source_crs", sa.Text),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("import_run.id", ondelete="SET NULL")),
    ]


def _gist(table: str, column: str = "geom") -> None:
    op.create_index(f"ix_{table}_{column}", table, [column], postgresql_using="gist")


def _create_import_run_admin_division_district_etc() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    # pgRouting was created here too until 0010_drop_pgrouting: nothing ever called it, and
    # servers without it must be able to run this migration. 0010 drops it where it exists.

    op.create_table(
        "import_run",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("source_file", sa.Text),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("actor", sa.Text),
        sa.Column("report", JSONB),
    )

    # Reference catalogue: NBS statistical division codes (reference/grids.md §6).
    op.create_table(
        "admin_division",
        sa.Column("code", sa.String(12), primary_key=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("parent_code", sa.String(12)),
        sa.Column("source", sa.Text),
        sa.CheckConstraint("level IN ('district','street','community')", name="ck_admin_level"),
        sa.CheckConstraint(
            "(level = 'district' AND length(code) = 6) OR (level = 'street' AND length(code) = 9)"
            " OR (level = 'community' AND length(code) = 12)",
            name="ck_admin_code_length",
        ),
    )
    op.create_index("ix_admin_division_parent", "admin_division", ["parent_code"])

    op.create_table(
        "district",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(6), nullable=False, unique=True),
        *_boundary_cols(),
        _geom(),
    )
    op.create_table(
        "street",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(9), nullable=False, unique=True),
        sa.Column("district_id", sa.Integer, sa.ForeignKey("district.id"), nullable=False),
        *_boundary_cols(),
        _geom(),
    )


def _create_community_estate_street_block() -> None:
    op.create_table(
        "community",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(12), nullable=False, unique=True),
        sa.Column("street_id", sa.Integer, sa.ForeignKey("street.id"), nullable=False),
        *_boundary_cols(),
        _geom(),
    )
    op.create_table(
        "estate",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.Text, unique=True),
        sa.Column("community_id", sa.Integer, sa.ForeignKey("community.id")),
        sa.Column("osm_id", sa.Text),
        sa.Column(
            "derived_from", sa.Text, nullable=False, server_default="import",
            comment="import | osm_landuse | osm_named_area | street_block",
        ),
        *_boundary_cols(),
        _geom(),
    )
    op.create_index("ix_estate_community", "estate", ["community_id"])
    op.create_table(
        "street_block",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("community_id", sa.Integer, sa.ForeignKey("community.id")),
        sa.Column("area_m2", sa.Float),
        sa.Column("source", sa.Text),
        _geom(),
    )


def _create_building_grid() -> None:
    op.create_table(
        "building",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.Text, unique=True),
        sa.Column("osm_id", sa.Text),
        sa.Column("name", sa.Text),
        sa.Column("estate_id", sa.Integer, sa.ForeignKey("estate.id", ondelete="SET NULL")),
        sa.Column("community_id", sa.Integer, sa.ForeignKey("community.id")),
        sa.Column("building_type", sa.Text),
        sa.Column("residential", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("levels", sa.Integer),
        sa.Column("height_m", sa.Float),
        sa.Column("footprint_m2", sa.Float),
        sa.Column("households", sa.Integer, nullable=False, server_default="0"),
        sa.Column("residents", sa.Integer, nullable=False, server_default="0"),
        sa.Column(
            "population_source", sa.String(16), nullable=False, server_default="none",
            comment="imported | estimated | none",
        ),
        sa.Column("synthetic", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("source", sa.Text),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("import_run.id", ondelete="SET NULL")),
        _geom(),
        sa.CheckConstraint(
            "population_source IN ('imported','estimated','none')", name="ck_building_pop_source"
        ),
        sa.CheckConstraint("households >= 0 AND residents >= 0", name="ck_building_pop_nonneg"),
    )
    op.create_index("ix_building_estate", "building", ["estate_id"])
    op.create_index("ix_building_community", "building", ["community_id"])

    # Grids (reference/grids.md): identity in `grid`, geometry per version.
    op.create_table(
        "grid",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("community_id", sa.Integer, sa.ForeignKey("community.id"), nullable=False),
        sa.Column("grid_seq", sa.Integer, nullable=False),
        sa.Column("grid_code", sa.String(20), nullable=False, unique=True),
        sa.Column("name", sa.Text),
        sa.Column("grid_kind", sa.String(16), nullable=False, server_default="basic"),
        sa.Column("responsible_party", sa.Text),
        sa.Column("locked", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("synthetic", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("community_id", "grid_seq", name="uq_grid_community_seq"),
        sa.CheckConstraint("grid_kind IN ('basic','exclusive')", name="ck_grid_kind"),
        sa.CheckConstraint("grid_seq > 0", name="ck_grid_seq_positive"),
    )


def _create_grid_version_grid_geometry_grid_member() -> None:
    op.create_table(
        "grid_version",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("community_id", sa.Integer, sa.ForeignKey("community.id"), nullable=False),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="draft"),
        sa.Column("valid_from", sa.DateTime(timezone=True)),
        sa.Column("valid_to", sa.DateTime(timezone=True)),
        sa.Column("based_on_id", sa.Integer, sa.ForeignKey("grid_version.id")),
        sa.Column("note", sa.Text),
        sa.Column("created_by", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("activated_at", sa.DateTime(timezone=True)),
        sa.Column("lock_version", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("community_id", "generation", name="uq_grid_version_generation"),
        sa.CheckConstraint("status IN ('draft','active','retired')", name="ck_grid_version_status"),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from",
            name="ck_grid_version_validity",
        ),
    )
    op.create_index(
        "uq_grid_version_one_active", "grid_version", ["community_id"], unique=True,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "grid_geometry",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "version_id", sa.Integer, sa.ForeignKey("grid_version.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("grid_id", sa.Integer, sa.ForeignKey("grid.id"), nullable=False),
        sa.Column("responsible_party", sa.Text),
        _geom(),
        sa.UniqueConstraint("version_id", "grid_id", name="uq_grid_geometry_version_grid"),
    )
    op.create_table(
        "grid_member",
        sa.Column(
            "version_id", sa.Integer, sa.ForeignKey("grid_version.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("unit_type", sa.String(16), primary_key=True),
        sa.Column("unit_id", sa.Integer, primary_key=True),
        sa.Column("grid_id", sa.Integer, sa.ForeignKey("grid.id"), nullable=False),
        sa.CheckConstraint(
            "unit_type IN ('building','estate','block')", name="ck_grid_member_unit_type"
        ),
    )


def _create_facility_type_facility_osm_line() -> None:
    # Facility catalogue (reference/facility_catalogue.csv) and facilities.
    op.create_table(
        "facility_type",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("name_zh", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("tier", sa.String(8), nullable=False),
        sa.Column("radius_m", sa.Integer),
        sa.Column("required", sa.Boolean, nullable=False),
        sa.Column("confidence", sa.String(16)),
        sa.Column("osm_tags", sa.Text),
        sa.Column("amap_types", sa.Text),
        sa.Column("name_hint", sa.Text),
        sa.CheckConstraint("tier IN ('15min','10min','5min','block')", name="ck_facility_tier"),
    )
    op.create_table(
        "facility",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("type_code", sa.String(64), sa.ForeignKey("facility_type.code"), nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("capacity", sa.Integer),
        sa.Column("osm_id", sa.Text),
        sa.Column("synthetic", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("source", sa.Text),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("import_run.id", ondelete="SET NULL")),
        _geom("GEOMETRY"),
        sa.Column("location", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.CheckConstraint(
            "GeometryType(geom) IN ('POINT','POLYGON','MULTIPOLYGON')", name="ck_facility_geom_type"
        ),
    )
    op.create_index("ix_facility_type", "facility", ["type_code"])

    # OSM lines kept as imported (highway=* ways); the walking network is built from them.
    op.create_table(
        "osm_line",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("osm_id", sa.Text),
        sa.Column("highway", sa.Text),
        sa.Column("name", sa.Text),
        sa.Column("tags", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("import_run.id", ondelete="SET NULL")),
        _geom("LINESTRING"),
    )


def _create_audit_log() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("actor", sa.Text),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("object_type", sa.Text),
        sa.Column("object_id", sa.Text),
        sa.Column("before", JSONB),
        sa.Column("after", JSONB),
    )

    for table in ("district", "street", "community", "estate", "street_block", "building",
                  "grid_geometry", "facility", "osm_line"):
        _gist(table)
    _gist("facility", "location")


def upgrade() -> None:
    _create_import_run_admin_division_district_etc()
    _create_community_estate_street_block()
    _create_building_grid()
    _create_grid_version_grid_geometry_grid_member()
    _create_facility_type_facility_osm_line()
    _create_audit_log()


def downgrade() -> None:
    for table in ("audit_log", "osm_line", "facility", "facility_type", "grid_member", "grid_geometry",
                  "grid_version", "grid", "building", "street_block", "estate", "community",
                  "street", "district", "admin_division", "import_run"):
        op.drop_table(table)
