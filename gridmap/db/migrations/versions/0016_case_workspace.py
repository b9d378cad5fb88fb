"""Case workspace: comments, community service lists, case search indexes (issue #14, workspace).

- ``case_comment``: comments on a case (who, when, text), shown on the case page.
- ``community_service``: a community's own service list (服务清单, editable), next to the
  facilities of its life circle that come from the coverage data.
- Search indexes of the case list (:mod:`gridmap.cases.search`) for 1,000,000 cases: GIN
  indexes on the character uni- and bigrams of address and description (``gm_grams``, a
  pg_bigm-like substring index: the cluster runs with ``--no-locale``, where ``pg_trgm``
  extracts no trigram from Chinese text), btree on the 案卷号 and the reporter's phone
  (exact and prefix, ``text_pattern_ops``), and (state, reported_at) /
  (category_code, reported_at) for filtered, newest-first pages.

Revision ID: 0016_case_workspace
Revises: 0015_addresses
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_case_workspace"
down_revision = "0015_addresses"
branch_labels = None
depends_on = None

GRAMS_FUNCTION = r"""
CREATE FUNCTION gm_grams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT regexp_split_to_array(lower(t), '')
      || string_to_array(regexp_replace(lower(t), '(..)', '\1' || chr(31), 'g'), chr(31))
      || string_to_array(regexp_replace(substr(lower(t), 2), '(..)', '\1' || chr(31), 'g'),
                         chr(31))
$$
"""
"""Character unigrams and bigrams of a text (ASCII lower-cased, as ``lower`` in the C
locale): the pairs at even offsets, then at odd offsets, by two ``regexp_replace``. One
expression of built-in functions, inlined by the planner: the recheck of a bitmap scan costs
microseconds per row (a set-returning SQL body cost ~300 µs per row);
:func:`gridmap.cases.search.grams` computes the query's grams in Python."""


def upgrade() -> None:
    op.execute(GRAMS_FUNCTION)
    op.create_table(
        "case_comment",
        sa.Column("id", sa.BigInteger, primary_key=True),
        # no FK, as incident_event.incident_id (incidents are bulk-loaded)
        sa.Column("incident_id", sa.BigInteger, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_index("ix_case_comment_incident", "case_comment", ["incident_id", "at"])
    op.create_table(
        "community_service",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("community_id", sa.Integer, sa.ForeignKey("community.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.Text),
        sa.Column("provider", sa.Text),
        sa.Column("contact", sa.Text),
        sa.Column("hours", sa.Text),
        sa.Column("note", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("updated_by", sa.Text),
    )
    op.create_index("ix_community_service_community", "community_service", ["community_id"])
    op.execute("CREATE INDEX ix_incident_address_grams ON incident "
               "USING gin (gm_grams(address))")
    op.execute("CREATE INDEX ix_incident_description_grams ON incident "
               "USING gin (gm_grams(description))")
    op.execute("CREATE INDEX ix_incident_case_no ON incident (case_no text_pattern_ops)")
    op.execute("CREATE INDEX ix_incident_reporter_phone ON incident "
               "(reporter_phone text_pattern_ops)")
    op.create_index("ix_incident_state_reported", "incident", ["state", "reported_at"])
    op.create_index("ix_incident_category_reported", "incident",
                    ["category_code", "reported_at"])


def downgrade() -> None:
    for name in ("ix_incident_category_reported", "ix_incident_state_reported",
                 "ix_incident_reporter_phone", "ix_incident_case_no",
                 "ix_incident_description_grams", "ix_incident_address_grams"):
        op.drop_index(name, table_name="incident")
    op.execute("DROP FUNCTION gm_grams(text)")
    op.drop_table("community_service")
    op.drop_table("case_comment")
