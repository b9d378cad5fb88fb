"""Schema for web accounts (owned by the web work): ``app_user``.

Roles: planner, supervisor, officer, admin. Supervisors are scoped to street codes
and/or community codes (they see only their area's incidents and personal data).

Revision ID: 0006_web
Revises: 0005_grid_editing
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0006_web"
down_revision = "0005_grid_editing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("display_name", sa.Text),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column(
            "scope_streets", ARRAY(sa.String(9)), nullable=False,
            server_default=sa.text("'{}'::varchar[]"),
        ),
        sa.Column(
            "scope_communities", ARRAY(sa.String(12)), nullable=False,
            server_default=sa.text("'{}'::varchar[]"),
        ),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("demo", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("last_login_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "role IN ('planner','supervisor','officer','admin')", name="ck_app_user_role"
        ),
    )
    op.create_index("uq_app_user_username", "app_user", [sa.text("lower(username)")], unique=True)


def downgrade() -> None:
    op.drop_table("app_user")
