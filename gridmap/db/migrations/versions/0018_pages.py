"""Pages: basemap tile cache, audit/import views, user page state (issue #16).

Reserved slot: filled by the issue's work; until then a no-op so the chain stays linear.

Revision ID: 0018_pages
Revises: 0017_field_reports
Create Date: 2026-11-30
"""

from alembic import op  # noqa: F401

revision = "0018_pages"
down_revision = "0017_field_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
