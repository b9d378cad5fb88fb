"""Drop the pgRouting extension: no gridmap feature calls it (routing uses the walking
network tables and SciPy), and the install no longer needs the OS package.

Databases migrated before have the extension (0001 created it); new ones never had it.
The downgrade does not re-create it.

Revision ID: 0010_drop_pgrouting
Revises: 0009_location_confirmation
Create Date: 2026-11-24
"""

from alembic import op

revision = "0010_drop_pgrouting"
down_revision = "0009_location_confirmation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP EXTENSION IF EXISTS pgrouting")


def downgrade() -> None:
    pass
