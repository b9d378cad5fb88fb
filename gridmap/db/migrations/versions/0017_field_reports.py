"""Field reports from phones: photos, client-generated report ids (issue #14, phone).

- ``incident_photo``: a case's photos (stage ``before`` with the report, ``after`` at 核查/处置),
  stored on disk under ``<data_dir>/media`` (``path`` relative to it), EXIF stripped.
- ``incident.client_id``: the phone's UUID of a report (unique: a repeat returns the case);
  ``incident.reported_by``: the account that reported it from the field page (我的上报).

Revision ID: 0017_field_reports
Revises: 0016_case_workspace
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0017_field_reports"
down_revision = "0016_case_workspace"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("incident", sa.Column("client_id", postgresql.UUID(as_uuid=False)))
    op.add_column("incident", sa.Column(
        "reported_by", sa.Integer, sa.ForeignKey("app_user.id", ondelete="SET NULL")))
    op.create_unique_constraint("uq_incident_client_id", "incident", ["client_id"])
    op.create_index("ix_incident_reported_by", "incident", ["reported_by"],
                    postgresql_where=sa.text("reported_by IS NOT NULL"))
    op.create_table(
        "incident_photo",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer,
                  sa.ForeignKey("incident.id", ondelete="CASCADE"), nullable=False),
        sa.Column("stage", sa.Text, nullable=False),
        sa.Column("path", sa.Text, nullable=False, unique=True),
        sa.Column("mime", sa.Text, nullable=False),
        sa.Column("bytes", sa.Integer, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("uploaded_by", sa.Text),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.CheckConstraint("stage IN ('before','after')", name="ck_incident_photo_stage"),
        sa.CheckConstraint("mime IN ('image/jpeg','image/png','image/webp')",
                           name="ck_incident_photo_mime"),
    )
    op.create_index("ix_incident_photo_incident", "incident_photo", ["incident_id", "id"])


def downgrade() -> None:
    op.drop_table("incident_photo")
    op.drop_index("ix_incident_reported_by", table_name="incident")
    op.drop_constraint("uq_incident_client_id", "incident", type_="unique")
    op.drop_column("incident", "reported_by")
    op.drop_column("incident", "client_id")
