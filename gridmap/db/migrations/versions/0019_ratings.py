"""Committee star ratings (星级测评, issue #17 §1).

- ``rating_scheme``: one scheme per year (criteria, weights, thresholds, rounds) as JSONB,
  validated by :mod:`gridmap.ratings.scheme` before it is stored.
- ``rating``: one rating per (year, round, committee); a draft until confirmed, then frozen.
- ``rating_entry``: values entered by a rater (who, when, evidence note).
- ``rating_case``: the cases a confirmed rating was computed from, with their per-case facts
  (no FOREIGN KEY to ``incident``: that table may become partitioned by month, slot 0020).

Revision ID: 0019_ratings
Revises: 0018_pages
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0019_ratings"
down_revision = "0018_pages"
branch_labels = None
depends_on = None

_ROUNDS = "round IN ('initial','acceptance')"


def _now() -> sa.TextClause:
    return sa.text("now()")


def _scheme_and_rating() -> None:
    op.create_table(
        "rating_scheme",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("year", sa.Integer, nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("body", JSONB, nullable=False),
        sa.Column("source", sa.Text),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=_now()),
        sa.Column("imported_by", sa.Text),
    )
    op.create_table(
        "rating",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("round", sa.String(16), nullable=False),
        sa.Column("community_id", sa.Integer, sa.ForeignKey("community.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("scheme_id", sa.Integer, sa.ForeignKey("rating_scheme.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="draft"),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("computed_stars", sa.SmallInteger, nullable=False),
        sa.Column("stars", sa.SmallInteger, nullable=False),
        sa.Column("complete", sa.Boolean, nullable=False),
        sa.Column("criteria", JSONB, nullable=False),
        sa.Column("reasons", JSONB, nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=_now()),
        sa.Column("confirmed_at", sa.DateTime(timezone=True)),
        sa.Column("confirmed_by", sa.Text),
        sa.Column("confirmed_level", sa.String(16)),
        sa.Column("note", sa.Text),
        sa.UniqueConstraint("year", "round", "community_id", name="uq_rating_year_round_community"),
        sa.CheckConstraint(_ROUNDS, name="ck_rating_round"),
        sa.CheckConstraint("status IN ('draft','confirmed')", name="ck_rating_status"),
        sa.CheckConstraint("stars BETWEEN 1 AND 5 AND computed_stars BETWEEN 1 AND 5",
                           name="ck_rating_stars"),
        sa.CheckConstraint("confirmed_level IS NULL OR confirmed_level IN ('street','district')",
                           name="ck_rating_level"),
    )
    op.create_index("ix_rating_community", "rating", ["community_id", "year"])


def _entries_and_cases() -> None:
    op.create_table(
        "rating_entry",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("round", sa.String(16), nullable=False),
        sa.Column("community_id", sa.Integer, sa.ForeignKey("community.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("criterion", sa.String(64), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("entered_by", sa.Text, nullable=False),
        sa.Column("entered_level", sa.String(16), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
        sa.UniqueConstraint("year", "round", "community_id", "criterion",
                            name="uq_rating_entry_criterion"),
        sa.CheckConstraint(_ROUNDS, name="ck_rating_entry_round"),
    )
    op.create_table(
        "rating_case",
        sa.Column("rating_id", sa.BigInteger, sa.ForeignKey("rating.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("incident_id", sa.BigInteger, primary_key=True),
        sa.Column("case_no", sa.Text),
        sa.Column("category_code", sa.String(16)),
        sa.Column("facts", ARRAY(sa.SmallInteger), nullable=False),
    )


def upgrade() -> None:
    _scheme_and_rating()
    _entries_and_cases()


def downgrade() -> None:
    for table in ("rating_case", "rating_entry", "rating", "rating_scheme"):
        op.drop_table(table)
