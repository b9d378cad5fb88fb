"""Routing rules, handling levels, acceptance, 督办 and notifications (issue #13, engine).

- ``routing_rule_set`` / ``routing_rule``: ordered rules, versioned as sets (one active set);
  a rule matches category (code or group prefix), area (street/community/grid code), urgency,
  source and optional keywords, and names a unit.
- ``incident`` gains the handling unit (``unit_id``), the unit the rules proposed
  (``proposed_unit_id``), the handling level (grid/community/street/district), acceptance
  (``accept_due_at``, ``accepted_at``), and the evaluation (``satisfaction_score`` 1–5,
  ``solved``; 0012 already holds an office import's free-text ``satisfaction``).
- ``supervision``: one 督办 entry per case with its light (yellow/red), reminders and escalation.
- ``notification``: in-app notices per unit/user with read time; ``webhook_delivery``: the
  outgoing queue (signed, retried, never sent inside a request).

Revision ID: 0014_dispatch
Revises: 0013_org_units
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0014_dispatch"
down_revision = "0013_org_units"
branch_labels = None
depends_on = None

LEVELS = "('grid','community','street','district')"


def _rules() -> None:
    """Versioned routing rule sets and their ordered rules."""
    op.create_table(
        "routing_rule_set",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("created_by", sa.Text),
        sa.Column("note", sa.Text),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("uq_routing_rule_set_active", "routing_rule_set", ["active"], unique=True,
                    postgresql_where=sa.text("active"))
    op.create_table(
        "routing_rule",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("set_id", sa.Integer, sa.ForeignKey("routing_rule_set.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("category", sa.Text),
        sa.Column("area_level", sa.String(16)),
        sa.Column("area_code", sa.Text),
        sa.Column("urgency", sa.String(8)),
        sa.Column("source", sa.String(16)),
        sa.Column("keywords", ARRAY(sa.Text)),
        sa.Column("unit_id", sa.Integer, sa.ForeignKey("org_unit.id"), nullable=False),
        sa.Column("level", sa.String(16)),
        sa.UniqueConstraint("set_id", "position", name="uq_routing_rule_position"),
        sa.CheckConstraint(f"level IS NULL OR level IN {LEVELS}", name="ck_routing_rule_level"),
    )


def _incident_columns() -> None:
    """Handling unit, proposal, level, acceptance and evaluation on incident."""
    op.add_column("incident", sa.Column("unit_id", sa.Integer, sa.ForeignKey("org_unit.id")))
    op.add_column("incident", sa.Column("proposed_unit_id", sa.Integer,
                                        sa.ForeignKey("org_unit.id")))
    op.add_column("incident", sa.Column("level", sa.String(16), nullable=False,
                                        server_default="grid"))
    op.add_column("incident", sa.Column("accept_due_at", sa.DateTime(timezone=True)))
    op.add_column("incident", sa.Column("accepted_at", sa.DateTime(timezone=True)))
    op.add_column("incident", sa.Column("satisfaction_score", sa.SmallInteger))
    op.add_column("incident", sa.Column("solved", sa.Boolean))
    op.create_check_constraint("ck_incident_level", "incident", f"level IN {LEVELS}")
    op.create_check_constraint("ck_incident_satisfaction", "incident",
                               "satisfaction_score IS NULL OR satisfaction_score BETWEEN 1 AND 5")
    op.create_index("ix_incident_unit_state", "incident", ["unit_id", "state"])
    # Cases are updated at every step and their proposals by the rules' re-run: room in each
    # page keeps updates of unindexed columns on the page (HOT) instead of in every index.
    op.execute("ALTER TABLE incident SET (fillfactor = 90)")


def _supervision_and_notices() -> None:
    """督办 entries, notifications and the outgoing webhook queue."""
    op.create_table(
        "supervision",
        sa.Column("incident_id", sa.BigInteger, primary_key=True),
        sa.Column("light", sa.String(8), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        # unit ids without FK (as incident_event.incident_id): written only by the 督办 scan,
        # set-based, from existing units; an FK check per row was most of the scan's time
        sa.Column("unit_id", sa.Integer),
        sa.Column("reminders", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_reminded_at", sa.DateTime(timezone=True)),
        sa.Column("escalated_to", sa.Integer),
        sa.Column("escalated_at", sa.DateTime(timezone=True)),
        sa.Column("cleared_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("light IN ('yellow','red')", name="ck_supervision_light"),
    )
    op.create_index("ix_supervision_unit_light", "supervision", ["unit_id", "light"])
    op.create_table(
        "notification",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("unit_id", sa.Integer),  # no FK: bulk-written by the 督办 scan (see above)
        sa.Column("user_id", sa.Integer, sa.ForeignKey("app_user.id", ondelete="CASCADE")),
        sa.Column("incident_id", sa.BigInteger),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("params", JSONB),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("read_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_notification_unit_unread", "notification", ["unit_id"],
                    postgresql_where=sa.text("read_at IS NULL AND unit_id IS NOT NULL"))
    op.create_index("ix_notification_user_unread", "notification", ["user_id"],
                    postgresql_where=sa.text("read_at IS NULL AND user_id IS NOT NULL"))
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("unit_id", sa.Integer, sa.ForeignKey("org_unit.id"), nullable=False),
        sa.Column("notification_id", sa.BigInteger,
                  sa.ForeignKey("notification.id", ondelete="CASCADE")),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_webhook_delivery_due", "webhook_delivery", ["next_try_at"],
                    postgresql_where=sa.text("delivered_at IS NULL"))


def upgrade() -> None:
    _rules()
    _incident_columns()
    _supervision_and_notices()


def downgrade() -> None:
    op.drop_table("webhook_delivery")
    op.drop_table("notification")
    op.drop_table("supervision")
    op.execute("ALTER TABLE incident RESET (fillfactor)")
    op.drop_index("ix_incident_unit_state", "incident")
    op.drop_constraint("ck_incident_satisfaction", "incident", type_="check")
    op.drop_constraint("ck_incident_level", "incident", type_="check")
    for col in ("solved", "satisfaction_score", "accepted_at", "accept_due_at", "level",
                "proposed_unit_id", "unit_id"):
        op.drop_column("incident", col)
    op.drop_table("routing_rule")
    op.drop_table("routing_rule_set")
