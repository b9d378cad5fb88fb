"""The event category catalogue: shipped file loaded with its limits and hierarchy."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from gridmap.reference import categories


def test_catalogue_loaded_with_limits(conn: Connection) -> None:
    cats = {c["code"]: c for c in categories.categories(conn)}
    assert cats["E0102"]["time_limit"] == 4 and cats["E0102"]["time_unit"] == "working_hour"
    assert cats["E0102"]["parent_name"] == "市容环境"
    assert cats["E0401"]["default_urgency"] == "urgent"
