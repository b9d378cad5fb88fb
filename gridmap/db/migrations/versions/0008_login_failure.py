"""Failed logins, shared by every web worker (login throttling).

Revision ID: 0008_login_failure
Revises: 0007_event_index
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_login_failure"
down_revision = "0007_event_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failure",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("username", sa.Text, nullable=False, comment="lower-cased, as typed"),
        sa.Column("client", sa.Text, nullable=False, comment="client address"),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
    )
    op.create_index("ix_login_failure_key", "login_failure", ["username", "client", "at"])


def downgrade() -> None:
    op.drop_table("login_failure")
