"""Case search at 1M cases (issue #14): indexes for the case list's common filters and sorts.

- ``ix_incident_street_reported``: a street's cases newest first, covering the scope test
  (``community_id``) and the join key, so a street filter (with a 督办 light, say) is answered
  from the index without visiting the table;
- ``ix_incident_due_at``: the list sorted by deadline (``sort=due_at``) walked in order;
- ``ix_supervision_open_light``: the open 督办 rows by light (the ``light`` filter is a
  semi-join on them, :mod:`gridmap.cases.search`).

Plain ``CREATE INDEX`` (no ``CONCURRENTLY``, no unique index): valid on the month-partitioned
``incident`` of migration 0020, where it cascades to every partition.

Revision ID: 0023_case_search
Revises: 0022_pages_activation
Create Date: 2026-11-30
"""

from alembic import op

revision = "0023_case_search"
down_revision = "0022_pages_activation"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_incident_street_reported",
     "ON incident (street_id, reported_at) INCLUDE (community_id, id)"),
    ("ix_incident_due_at", "ON incident (due_at, id)"),
    ("ix_supervision_open_light",
     "ON supervision (light, incident_id) WHERE cleared_at IS NULL"),
)


def upgrade() -> None:
    for name, definition in INDEXES:
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} {definition}")


def downgrade() -> None:
    for name, _ in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
