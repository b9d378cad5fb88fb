"""Office data imports: category mappings, import provenance, history flags (issue #15).

Two parts, filled by two pieces of work: ``_upgrade_tables`` and ``_upgrade_layers``.

Revision ID: 0012_office_data
Revises: 0011_sessions
Create Date: 2026-11-30
"""

from alembic import op  # noqa: F401

revision = "0012_office_data"
down_revision = "0011_sessions"
branch_labels = None
depends_on = None


def _upgrade_tables() -> None:
    """Tabular office imports: mapping tables, history flags (owned by the tabular-import work)."""


def _downgrade_tables() -> None:
    pass


def _upgrade_layers() -> None:
    """POI facilities, survey buildings/roads, official population (owned by the layers work)."""


def _downgrade_layers() -> None:
    pass


def upgrade() -> None:
    _upgrade_tables()
    _upgrade_layers()


def downgrade() -> None:
    _downgrade_layers()
    _downgrade_tables()
