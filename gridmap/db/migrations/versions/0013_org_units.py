"""Units (处置单位 / 部门), staff posts and grid assignments (issue #13, people and units).

- ``org_unit``: a tree (district → street → community 块 units; 条 units such as 城管中队, 房管所,
  绿化市容所, 派出所, 市场监管所, property companies), each with a kind, a line (块 ``kuai`` / 条
  ``tiao``), contact and an optional outgoing webhook for SMS/WeChat gateways.
- ``org_unit_area``: the areas a unit serves, by code (street/community admin codes, grid codes;
  codes survive boundary and grid generations, ids do not).
- ``staff_post``: a user holds posts in a unit (网格员, 监督员, 受理员, 派遣员, 值班长, 处置人员, 领导).
- ``grid_assignment``: grid workers / 楼长 / 路长 linked to grids and 小区 with duty times
  ("定人、定位、定时、定任务").
- ``app_user.role`` gains ``staff`` (unit staff whose rights come from their posts).

Revision ID: 0013_org_units
Revises: 0012_office_data
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_org_units"
down_revision = "0012_office_data"
branch_labels = None
depends_on = None

POSTS = ("grid_worker", "inspector", "acceptor", "dispatcher", "shift_lead", "handler", "leader")


def _units() -> None:
    """The unit tree and the areas each unit serves."""
    op.create_table(
        "org_unit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("line", sa.String(8), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("org_unit.id")),
        sa.Column("contact_name", sa.Text),
        sa.Column("contact_phone", sa.Text),
        sa.Column("webhook_url", sa.Text),
        sa.Column("webhook_secret", sa.Text),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.CheckConstraint("line IN ('kuai','tiao')", name="ck_org_unit_line"),
        sa.CheckConstraint("level IN ('district','street','community','grid')",
                           name="ck_org_unit_level"),
        sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name="ck_org_unit_parent"),
    )
    op.create_index("ix_org_unit_parent", "org_unit", ["parent_id"])
    op.create_table(
        "org_unit_area",
        sa.Column("unit_id", sa.Integer, sa.ForeignKey("org_unit.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("area_level", sa.String(16), primary_key=True),
        sa.Column("area_code", sa.Text, primary_key=True),
        sa.CheckConstraint("area_level IN ('district','street','community','grid')",
                           name="ck_org_unit_area_level"),
    )
    op.create_index("ix_org_unit_area_code", "org_unit_area", ["area_level", "area_code"])


def _staff() -> None:
    """Posts held in units, grid assignments and the 'staff' role."""
    op.create_table(
        "staff_post",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("app_user.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("unit_id", sa.Integer, sa.ForeignKey("org_unit.id"), nullable=False),
        sa.Column("post", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.UniqueConstraint("user_id", "unit_id", "post", name="uq_staff_post"),
        sa.CheckConstraint("post IN (" + ",".join(f"'{p}'" for p in POSTS) + ")",
                           name="ck_staff_post_post"),
    )
    op.create_index("ix_staff_post_unit", "staff_post", ["unit_id", "post"])
    op.create_table(
        "grid_assignment",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("app_user.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("grid_code", sa.Text, nullable=False),
        sa.Column("estate_id", sa.Integer),
        sa.Column("role", sa.String(16), nullable=False, server_default="grid_worker"),
        sa.Column("duty", sa.Text),
        sa.Column("valid_from", sa.Date, nullable=False, server_default=sa.func.current_date()),
        sa.Column("valid_to", sa.Date),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.CheckConstraint("role IN ('grid_worker','building_head','road_head')",
                           name="ck_grid_assignment_role"),
        sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from",
                           name="ck_grid_assignment_validity"),
    )
    op.create_index("ix_grid_assignment_grid", "grid_assignment", ["grid_code"])
    op.create_index("ix_grid_assignment_user", "grid_assignment", ["user_id"])
    op.drop_constraint("ck_app_user_role", "app_user", type_="check")
    op.create_check_constraint("ck_app_user_role", "app_user",
                               "role IN ('planner','supervisor','officer','admin','staff')")


def upgrade() -> None:
    _units()
    _staff()


def downgrade() -> None:
    op.drop_constraint("ck_app_user_role", "app_user", type_="check")
    op.create_check_constraint("ck_app_user_role", "app_user",
                               "role IN ('planner','supervisor','officer','admin')")
    op.drop_table("grid_assignment")
    op.drop_table("staff_post")
    op.drop_table("org_unit_area")
    op.drop_table("org_unit")
