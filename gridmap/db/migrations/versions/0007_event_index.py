"""Index on incident events only where the indicators need one.

``ix_incident_event_to_at (to_state, at)`` indexed every event, including one intake event
per imported incident, and was the slowest index to rebuild after a bulk import (≈ 1.5–2.7 s
per million rows). The indicators (``gridmap.indicators``) only look up 反馈/返工 events
(``to_state IN ('handled', 'rework')``) by time, so a partial index on ``at`` serves them and
costs almost nothing to build.

Revision ID: 0007_event_index
Revises: 0006_web
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_event_index"
down_revision = "0006_web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_incident_event_to_at", table_name="incident_event")
    op.create_index("ix_incident_event_feedback_at", "incident_event", ["at"],
                    postgresql_where=sa.text("to_state IN ('handled', 'rework')"))


def downgrade() -> None:
    op.drop_index("ix_incident_event_feedback_at", table_name="incident_event")
    op.create_index("ix_incident_event_to_at", "incident_event", ["to_state", "at"])
