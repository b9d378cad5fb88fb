"""Standard address register (标准地址库) and the address confirmation queue (issue #19).

Reserved slot: filled by the issue's work; until then a no-op so the chain stays linear.

Revision ID: 0015_addresses
Revises: 0014_dispatch
Create Date: 2026-11-30
"""

from alembic import op  # noqa: F401

revision = "0015_addresses"
down_revision = "0014_dispatch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
