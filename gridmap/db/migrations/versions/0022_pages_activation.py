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

Revision ID: 0022_pages_activation
Revises: 0021_batch_jobs
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

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


def upgrade() -> None:
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
