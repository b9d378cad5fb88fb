"""Indexes for the dashboard's and profiles' period counts (issue #17).

The slot was reserved for community profiles and 2SFCA, which needed no new table
(``facility.capacity`` and the age columns already existed). The district dashboard's KPI scan
(:mod:`gridmap.dashboard.kpis`) reads the cases that are open *or* were reported, closed, due
or evaluated in the period; with an index on each of those times the planner can OR bitmap
scans instead of reading every partition whole:

- ``ix_incident_closed_at`` (closed cases only), ``ix_incident_evaluated_at`` (evaluated only);
  ``reported_at`` and ``due_at`` already have theirs (0003, 0023).

Plain ``CREATE INDEX``: valid on the month-partitioned ``incident`` of 0020.

Revision ID: 0024_profiles
Revises: 0023_case_search
Create Date: 2026-11-30
"""

from alembic import op

revision = "0024_profiles"
down_revision = "0023_case_search"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_incident_closed_at", "ON incident (closed_at) WHERE closed_at IS NOT NULL"),
    ("ix_incident_evaluated_at", "ON incident (evaluated_at) WHERE evaluated_at IS NOT NULL"),
)


def upgrade() -> None:
    for name, definition in INDEXES:
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} {definition}")


def downgrade() -> None:
    for name, _ in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
