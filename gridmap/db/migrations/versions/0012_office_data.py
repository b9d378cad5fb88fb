"""Office data imports: category mappings, import provenance, history flags (issue #15).

Two parts, filled by two pieces of work: ``_upgrade_tables`` and ``_upgrade_layers``.

Revision ID: 0012_office_data
Revises: 0011_sessions
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_office_data"
down_revision = "0011_sessions"
branch_labels = None
depends_on = None


def _upgrade_tables() -> None:
    """Tabular office imports: mapping tables, history flags (owned by the tabular-import work).

    ``category_mapping``: an office's category text/code → event catalogue code
    (``gridmap import category-map``). ``incident`` gains what a hotline history brings: the
    original category text and whether the category is a fallback awaiting review
    (``--unmapped-to``), the evaluation time, the responsible unit and the satisfaction, and
    ``location_note`` (``before_first_plan``: reported before the first grid plan, located
    with the earliest plan).
    """
    import sqlalchemy as sa

    op.create_table(
        "category_mapping",
        sa.Column("external_key", sa.Text, primary_key=True,
                  comment="normalised external text (NFKC, case-folded, no spaces)"),
        sa.Column("external", sa.Text, nullable=False),
        sa.Column("code", sa.String(16), sa.ForeignKey("event_category.code"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    )
    for name, type_ in (("original_category", sa.Text()), ("evaluated_at",
                        sa.DateTime(timezone=True)), ("responsible_unit", sa.Text()),
                        ("satisfaction", sa.Text()), ("location_note", sa.String(24))):
        op.add_column("incident", sa.Column(name, type_))
    op.add_column("incident", sa.Column("category_review", sa.Boolean, nullable=False,
                                        server_default=sa.false()))


def _downgrade_tables() -> None:
    for name in ("category_review", "location_note", "satisfaction", "responsible_unit",
                 "evaluated_at", "original_category"):
        op.drop_column("incident", name)
    op.drop_table("category_mapping")


_LAYER_COLUMNS: dict[str, list[tuple[str, sa.types.TypeEngine, str]]] = {
    # POI facilities (gridmap import facilities): licence of the source, the source's own id
    "facility": [("licence", sa.Text(), "licence of the source (never 'OSM' for a POI file)"),
                 ("ext_id", sa.Text(), "id of the row in its source file (Amap id …)")],
    # survey roads (gridmap import streets): where a line came from and its key there
    "osm_line": [("source", sa.Text(), "osm:<file> or the survey file"),
                 ("ext_key", sa.Text(), "key of the line in its survey file")],
    # official population (gridmap import population): provenance and 一老一小 age groups
    "building": [("population_ref", sa.Text(), "source of the official figures"),
                 ("population_date", sa.Date(), "date of the official figures"),
                 ("population_level", sa.String(16), "building | estate | community"),
                 ("age_0_3", sa.Integer(), "children aged 0-3"),
                 ("age_3_6", sa.Integer(), "children aged 3-6"),
                 ("age_60_plus", sa.Integer(), "residents aged 60+"),
                 ("age_80_plus", sa.Integer(), "residents aged 80+")],
    # readable names of unnamed estates: where the name came from
    "estate": [("name_source", sa.String(16),
                "osm | building | entrance | address | road | import")],
}


def _upgrade_layers() -> None:
    """POI facilities, survey buildings/roads, official population (owned by the layers work)."""
    for table, columns in _LAYER_COLUMNS.items():
        for name, type_, comment in columns:
            op.add_column(table, sa.Column(name, type_, comment=comment))
    op.create_index("ix_facility_ext_id", "facility", ["source", "ext_id"])
    op.create_index("ix_osm_line_ext_key", "osm_line", ["source", "ext_key"])
    op.create_index("ix_osm_line_osm_id", "osm_line", ["osm_id"])


def _downgrade_layers() -> None:
    op.drop_index("ix_osm_line_osm_id", table_name="osm_line")
    op.drop_index("ix_osm_line_ext_key", table_name="osm_line")
    op.drop_index("ix_facility_ext_id", table_name="facility")
    for table, columns in reversed(list(_LAYER_COLUMNS.items())):
        for name, _type, _comment in reversed(columns):
            op.drop_column(table, name)


def upgrade() -> None:
    _upgrade_tables()
    _upgrade_layers()


def downgrade() -> None:
    _downgrade_layers()
    _downgrade_tables()
