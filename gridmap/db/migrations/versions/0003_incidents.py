"""Schema for incidents (owned by the incidents work).

Tables: ``event_category`` (reference/event_categories.csv), ``work_calendar`` (holidays and
调休 working weekend days), ``incident`` (one row per case, with its location at report time)
and ``incident_event`` (every state transition: who, when, from, to, note).

Revision ID: 0003_incidents
Revises: 0002_ingest
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003_incidents"
down_revision = "0002_ingest"
branch_labels = None
depends_on = None

STATES = (
    "reported", "filed", "dispatched", "handling", "returned", "extended", "parked",
    "handled", "rework", "closed", "evaluated", "voided",
)
SOURCES = ("patrol", "hotline_12345", "public", "video", "iot", "referral")
URGENCIES = ("normal", "key", "urgent")
UNITS = ("working_hour", "working_day", "hour", "day", "minute")


def _in(col: str, values: tuple[str, ...]) -> str:
    return f"{col} IN ({', '.join(repr(v) for v in values)})"


def _create_event_category_work_calendar() -> None:
    op.create_table(
        "event_category",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("parent_code", sa.String(16)),
        sa.Column("name_zh", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("default_urgency", sa.String(8), nullable=False, server_default="normal"),
        sa.Column("time_limit", sa.Float),
        sa.Column("time_unit", sa.String(16)),
        sa.Column("urgent_time_limit", sa.Float),
        sa.Column("urgent_time_unit", sa.String(16)),
        sa.Column("filing_condition", sa.Text),
        sa.Column("closing_condition", sa.Text),
        sa.Column("default_responsible_unit", sa.Text),
        sa.Column("confidence", sa.String(16)),
        sa.Column("limit_confidence", sa.String(16)),
        sa.Column("limit_source", sa.Text),
        sa.CheckConstraint(_in("default_urgency", URGENCIES), name="ck_event_category_urgency"),
        sa.CheckConstraint(f"time_unit IS NULL OR {_in('time_unit', UNITS)}",
                           name="ck_event_category_unit"),
        sa.CheckConstraint(f"urgent_time_unit IS NULL OR {_in('urgent_time_unit', UNITS)}",
                           name="ck_event_category_urgent_unit"),
    )

    op.create_table(
        "work_calendar",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False, comment="holiday | workday (调休)"),
        sa.Column("name", sa.Text),
        sa.Column("source", sa.Text),
        sa.CheckConstraint("kind IN ('holiday','workday')", name="ck_work_calendar_kind"),
    )


def _create_incident() -> None:
    op.create_table(
        "incident",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("external_id", sa.Text, unique=True),
        sa.Column("case_no", sa.Text),
        sa.Column("category_code", sa.String(16), sa.ForeignKey("event_category.code"),
                  nullable=False),
        sa.Column("source", sa.String(16), nullable=False, server_default="patrol"),
        sa.Column("urgency", sa.String(8), nullable=False, server_default="normal"),
        sa.Column("state", sa.String(16), nullable=False, server_default="reported"),
        sa.Column("description", sa.Text),
        sa.Column("address", sa.Text),
        sa.Column("media_url", sa.Text),
        sa.Column("reporter_name", sa.Text),
        sa.Column("reporter_phone", sa.Text),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        # Location ids are deliberately not foreign keys: an incident keeps the ids it was
        # located in at report time (history), they are derived from those tables in the same
        # transaction, and 6 FK checks per row would dominate a 1M-row bulk import
        # (docs/incidents.md, benchmark).
        sa.Column("street_id", sa.Integer),
        sa.Column("community_id", sa.Integer),
        sa.Column("estate_id", sa.Integer),
        sa.Column("building_id", sa.Integer),
        sa.Column("grid_id", sa.Integer),
        sa.Column("grid_version_id", sa.Integer),
        sa.Column("located_by", sa.String(16), nullable=False, server_default="grid",
                  comment="grid | nearest_grid (属地兜底: point in no grid)"),
        sa.Column("grid_distance_m", sa.Float,
                  comment="distance to the assigned grid when the point is in no grid"),
        sa.Column("near_boundary", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("boundary_distance_m", sa.Float),
        sa.Column("duplicate_of", sa.BigInteger),
        sa.Column("filed_at", sa.DateTime(timezone=True)),
        sa.Column("dispatched_at", sa.DateTime(timezone=True)),
        sa.Column("due_at", sa.DateTime(timezone=True)),
        sa.Column("handled_at", sa.DateTime(timezone=True)),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("parked_at", sa.DateTime(timezone=True)),
        sa.Column("extensions", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rework_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("synthetic", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("import_id", sa.Integer),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("lock_version", sa.Integer, nullable=False, server_default="0"),
        sa.CheckConstraint(_in("state", STATES), name="ck_incident_state"),
        sa.CheckConstraint(_in("source", SOURCES), name="ck_incident_source"),
        sa.CheckConstraint(_in("urgency", URGENCIES), name="ck_incident_urgency"),
        sa.CheckConstraint("located_by IN ('grid','nearest_grid','none')",
                           name="ck_incident_located_by"),
    )


def _create_incident_event() -> None:
    op.create_index("ix_incident_geom", "incident", ["geom"], postgresql_using="gist")
    op.create_index("ix_incident_grid", "incident", ["grid_id"])
    op.create_index("ix_incident_community_state", "incident", ["community_id", "state"])
    op.create_index("ix_incident_reported_at", "incident", ["reported_at"])
    # Kept few on purpose: every index costs time on each bulk-imported row (benchmark).
    # Duplicate checks use the GiST index plus reported_at; street filters go through
    # community_id; due-time queries are per area (grid/community index) first.

    op.create_table(
        "incident_event",
        sa.Column("id", sa.BigInteger, primary_key=True),
        # no FK: events are written only by gridmap.incidents, in the same transaction as
        # their incident; an FK check per event row doubles the bulk-import time
        sa.Column("incident_id", sa.BigInteger, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text),
        sa.Column("from_state", sa.String(16)),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("data", JSONB),
    )
    op.create_index("ix_incident_event_incident", "incident_event", ["incident_id", "at"])
    op.create_index("ix_incident_event_to_at", "incident_event", ["to_state", "at"])


def upgrade() -> None:
    _create_event_category_work_calendar()
    _create_incident()
    _create_incident_event()


def downgrade() -> None:
    for table in ("incident_event", "incident", "work_calendar", "event_category"):
        op.drop_table(table)
