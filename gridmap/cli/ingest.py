"""``gridmap import …`` and ``gridmap export …``: boundary files in, levels out."""

from __future__ import annotations

from gridmap.cli import main


@main.group("import")
def import_() -> None:
    """Import boundaries, OSM extracts and incidents (validated, all-or-nothing)."""
