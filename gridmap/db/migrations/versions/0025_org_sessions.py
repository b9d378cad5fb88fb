"""Staff post changes end the holder's sessions (issue #13).

A post taken away (``active`` false, the row deleted) or changed (another unit or post) ends
every open session of the user at once, like a role or scope change of ``app_user`` does
(0011): a copied cookie cannot keep rights its holder has lost. A post *given* (a new row, or
an inactive one made active again) ends nothing: rights come from the posts on every request
(``gridmap.accounts.scope``), so the new post applies at the next click.

Revision ID: 0025_org_sessions
Revises: 0024_profiles
Create Date: 2026-11-30
"""

from alembic import op

revision = "0025_org_sessions"
down_revision = "0024_profiles"
branch_labels = None
depends_on = None

_FN = """
CREATE FUNCTION staff_post_revoke_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_session SET revoked_at = now(), revoked_reason = 'posts_changed'
     WHERE user_id = OLD.user_id AND revoked_at IS NULL;
    RETURN NULL;
END $$
"""
_UPDATE = """
CREATE TRIGGER trg_staff_post_update_revoke
AFTER UPDATE OF active, post, unit_id, user_id ON staff_post
FOR EACH ROW WHEN (
    (OLD.active AND NOT NEW.active)
    OR (OLD.active AND (OLD.post IS DISTINCT FROM NEW.post
                        OR OLD.unit_id IS DISTINCT FROM NEW.unit_id
                        OR OLD.user_id IS DISTINCT FROM NEW.user_id)))
EXECUTE FUNCTION staff_post_revoke_sessions()
"""
_DELETE = """
CREATE TRIGGER trg_staff_post_delete_revoke
AFTER DELETE ON staff_post
FOR EACH ROW WHEN (OLD.active)
EXECUTE FUNCTION staff_post_revoke_sessions()
"""


def upgrade() -> None:
    op.execute(_FN)
    op.execute(_UPDATE)
    op.execute(_DELETE)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS trg_staff_post_delete_revoke ON staff_post")
    op.execute("DROP TRIGGER IF EXISTS trg_staff_post_update_revoke ON staff_post")
    op.execute("DROP FUNCTION IF EXISTS staff_post_revoke_sessions()")
