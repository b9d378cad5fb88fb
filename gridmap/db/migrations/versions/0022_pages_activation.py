"""Scheduled (future-dated) grid activation (issue #16).

A grid plan activated with a future effective date gets the new status ``scheduled``
(待生效) instead of ``active``; it becomes ``active`` at its date
(:func:`gridmap.grids.activation.activate_due`). Until then every ``status = 'active'``
query keeps using the plan in force today.

- ``ck_grid_version_status`` allows ``scheduled``;
- ``uq_grid_version_one_scheduled``: at most one scheduled plan per community;
- ``ix_grid_version_due``: the due check (``status = 'scheduled' AND valid_from <= now()``),
  run once a minute by the web app, reads an index of the (few) scheduled rows;
- plans activated before this migration with a date still ahead (status ``active``) become
  ``scheduled`` again and the plan they replaced (``retired``, ``valid_to`` = that date) is
  ``active`` again, so the data is the same as if they had been scheduled.

Basemap water and green (``_upgrade_landcover``, :mod:`gridmap.imports.osm.landcover`):

- ``landcover``: OSM water and green polygons (``kind`` water, park, wood, grass) with name;
- ``waterway``: rivers, canals and streams as lines;
- both carry the basemap's generation trigger (``basemap_bump`` of ``0018_pages``), and the
  generation is bumped once here so tiles cached before these layers are drawn again.

Revision ID: 0022_pages_activation
Revises: 0021_batch_jobs
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0022_pages_activation"
down_revision = "0021_batch_jobs"
branch_labels = None
depends_on = None

_RESCHEDULE = """
UPDATE grid_version SET status = 'scheduled' WHERE status = 'active' AND valid_from > now()
"""
_RESTORE_PREVIOUS = """
UPDATE grid_version p SET status = 'active'
FROM grid_version s
WHERE s.status = 'scheduled' AND p.community_id = s.community_id AND p.status = 'retired'
  AND p.valid_to = s.valid_from
"""


LANDCOVER_KINDS = ("water", "park", "wood", "grass")
WATERWAY_KINDS = ("river", "canal", "stream", "drain", "ditch")


def _feature_table(name: str, geom_type: str, kinds: tuple[str, ...]) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("osm_id", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("source", sa.Text),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("import_run.id", ondelete="SET NULL")),
        sa.Column("geom", Geometry(geom_type.upper(), srid=4326, spatial_index=False),
                  nullable=False),
        sa.UniqueConstraint("osm_id", name=f"uq_{name}_osm_id"),
        sa.CheckConstraint("kind IN (" + ",".join(f"'{k}'" for k in kinds) + ")",
                           name=f"ck_{name}_kind"),
    )
    op.execute(f"CREATE INDEX ix_{name}_geom ON {name} USING gist (geom)")
    op.execute(f"CREATE TRIGGER trg_{name}_basemap AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
               f" ON {name} FOR EACH STATEMENT EXECUTE FUNCTION basemap_bump()")


def _upgrade_landcover() -> None:
    _feature_table("landcover", "MultiPolygon", LANDCOVER_KINDS)
    _feature_table("waterway", "LineString", WATERWAY_KINDS)
    op.execute("UPDATE basemap_state SET generation = generation + 1, changed_at = now()")


def upgrade() -> None:
    _upgrade_landcover()
    op.drop_constraint("ck_grid_version_status", "grid_version", type_="check")
    op.create_check_constraint("ck_grid_version_status", "grid_version",
                               "status IN ('draft','scheduled','active','retired')")
    op.create_index("uq_grid_version_one_scheduled", "grid_version", ["community_id"],
                    unique=True, postgresql_where=sa.text("status = 'scheduled'"))
    op.create_index("ix_grid_version_due", "grid_version", ["valid_from"],
                    postgresql_where=sa.text("status = 'scheduled'"))
    op.execute(_RESCHEDULE)
    op.execute(_RESTORE_PREVIOUS)


def downgrade() -> None:
    # scheduled plans are put in force as the old code did (status active, date ahead)
    op.execute("UPDATE grid_version p SET status = 'retired' FROM grid_version s"
               " WHERE s.status = 'scheduled' AND p.community_id = s.community_id"
               " AND p.status = 'active'")
    op.execute("UPDATE grid_version SET status = 'active' WHERE status = 'scheduled'")
    op.drop_index("ix_grid_version_due", table_name="grid_version")
    op.drop_index("uq_grid_version_one_scheduled", table_name="grid_version")
    op.drop_constraint("ck_grid_version_status", "grid_version", type_="check")
    op.create_check_constraint("ck_grid_version_status", "grid_version",
                               "status IN ('draft','active','retired')")
    op.drop_table("waterway")
    op.drop_table("landcover")
