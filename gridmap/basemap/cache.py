"""Cached basemap tiles: ``basemap_tile`` keyed by ``z/x/y``, valid for one data generation.

``basemap_state.generation`` is bumped (in the importing transaction) by statement
triggers on the tables the basemap is drawn from (migration ``0018_pages``), so a cached
tile is served only while the data it was drawn from is unchanged; the next request after
an import draws it again and replaces it. The generation is read before the tile is
drawn: a tile drawn while an import commits is stored under the older generation and
never served as current.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.basemap.tiles import MIN_ZOOM, check_tile, tile

_LOOKUP_SQL = sa.text(
    "SELECT s.generation, t.data FROM basemap_state s"
    " LEFT JOIN basemap_tile t ON t.z = :z AND t.x = :x AND t.y = :y"
    " AND t.generation = s.generation")
_STORE_SQL = sa.text(
    "INSERT INTO basemap_tile (z, x, y, generation, data) VALUES (:z, :x, :y, :gen, :data)"
    " ON CONFLICT (z, x, y) DO UPDATE SET generation = EXCLUDED.generation,"
    " data = EXCLUDED.data, made_at = now()"
    " WHERE basemap_tile.generation <= EXCLUDED.generation")


@dataclass(frozen=True)
class CachedTile:
    """A tile and the data generation it belongs to (``cached``: served from the cache)."""

    data: bytes
    generation: int
    cached: bool


def generation(conn: Connection) -> int:
    """The current data generation of the basemap."""
    return int(conn.execute(sa.text("SELECT generation FROM basemap_state")).scalar_one())


def check_tile_address(z: int, x: int, y: int) -> None:
    """Refuse a tile address outside the pyramid (see :func:`~gridmap.basemap.tiles.check_tile`)."""
    check_tile(z, x, y)


def cached_tile(conn: Connection, z: int, x: int, y: int) -> CachedTile:
    """Tile ``z/x/y`` from the cache, drawn and stored when missing or stale.

    Writes to ``basemap_tile``: call inside a transaction that is committed. Tiles below
    :data:`~gridmap.basemap.tiles.MIN_ZOOM` are empty and never stored.

    Raises
    ------
    ValidationError
        A tile address outside the pyramid.
    """
    check_tile(z, x, y)
    gen, data = conn.execute(_LOOKUP_SQL, {"z": z, "x": x, "y": y}).one()
    if data is not None:
        return CachedTile(bytes(data), int(gen), True)
    drawn = tile(conn, z, x, y)
    if z >= MIN_ZOOM:
        conn.execute(_STORE_SQL, {"z": z, "x": x, "y": y, "gen": gen, "data": drawn})
    return CachedTile(drawn, int(gen), False)


def clear(conn: Connection) -> int:
    """Drop every cached tile; returns how many were dropped."""
    return int(conn.execute(sa.text("DELETE FROM basemap_tile")).rowcount or 0)
