"""Sessions that can be revoked, login throttle by address (issue #12, hardening).

- ``user_session``: one row per login. The browser's cookie holds a random token; the
  table keeps only its SHA-256, so a copy of the table opens no session. A session ends at
  logout (``revoked_at``), after an idle or absolute time (checked by
  :mod:`gridmap.accounts.sessions`) and when the account changes.
- Trigger ``trg_app_user_revoke_sessions``: a change of ``password_hash``, ``active``,
  ``role``, ``scope_streets`` or ``scope_communities`` revokes every open session of that
  user, whichever code path (CLI, web, SQL) made it.
- ``ix_login_failure_client``: failed logins counted per client address (spraying).

Revision ID: 0011_sessions
Revises: 0010_drop_pgrouting
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_sessions"
down_revision = "0010_drop_pgrouting"
branch_labels = None
depends_on = None

_REVOKE_FN = """
CREATE FUNCTION app_user_revoke_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_session SET revoked_at = now(), revoked_reason = 'account_changed'
     WHERE user_id = NEW.id AND revoked_at IS NULL;
    RETURN NEW;
END $$
"""
_TRIGGER = """
CREATE TRIGGER trg_app_user_revoke_sessions
AFTER UPDATE OF password_hash, active, role, scope_streets, scope_communities ON app_user
FOR EACH ROW WHEN (
    OLD.password_hash IS DISTINCT FROM NEW.password_hash
    OR OLD.active IS DISTINCT FROM NEW.active
    OR OLD.role IS DISTINCT FROM NEW.role
    OR OLD.scope_streets IS DISTINCT FROM NEW.scope_streets
    OR OLD.scope_communities IS DISTINCT FROM NEW.scope_communities)
EXECUTE FUNCTION app_user_revoke_sessions()
"""


def upgrade() -> None:
    op.create_table(
        "user_session",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("token_hash", sa.Text, nullable=False, unique=True,
                  comment="SHA-256 (hex) of the cookie's random token"),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("app_user.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("client", sa.Text, nullable=False, server_default="",
                  comment="client address at login"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_reason", sa.Text),
    )
    op.create_index("ix_user_session_user", "user_session", ["user_id", "revoked_at"])
    op.create_index("ix_login_failure_client", "login_failure", ["client", "at"])
    op.create_index("ix_login_failure_user", "login_failure", ["username", "at"])
    op.execute(_REVOKE_FN)
    op.execute(_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS trg_app_user_revoke_sessions ON app_user")
    op.execute("DROP FUNCTION IF EXISTS app_user_revoke_sessions()")
    op.drop_index("ix_login_failure_user", table_name="login_failure")
    op.drop_index("ix_login_failure_client", table_name="login_failure")
    op.drop_table("user_session")
