"""Stored rows of grid plans: version rows, provisional grid rows, grid sizes, locks and the
audit log — the small SQL helpers every part of :mod:`gridmap.grids` shares.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import Conflict, NotFound

PROVISIONAL_BASE = 1_000_000
"""Draft grids get sequence numbers from here until activation gives them real ones."""

INSERT_GEOM = sa.text(
    "INSERT INTO grid_geometry (version_id, grid_id, responsible_party, geom)"
    " VALUES (:v, :g, :rp, ST_Multi(ST_SetSRID(ST_GeomFromWKB(:wkb), 4326)))"
)
"""Insert one grid's polygon into a version (params v, g, rp, wkb)."""


def version_row(conn: Connection, version_id: int, *, for_update: bool = False
                ) -> dict[str, Any]:
    """The ``grid_version`` row as a dict (raises :class:`NotFound`)."""
    row = conn.execute(
        sa.text(
            "SELECT id, community_id, generation, status, valid_from, valid_to, based_on_id,"  # noqa: S608 - constant SQL fragments, values are bound
            " note, created_by, created_at, activated_at, lock_version, updated_by, updated_at"
            " FROM grid_version WHERE id = :id" + (" FOR UPDATE" if for_update else "")
        ),
        {"id": version_id},
    ).mappings().first()
    if row is None:
        raise NotFound("grids.version_not_found", {"version": version_id})
    return dict(row)


def version_grid_ids(conn: Connection, version_id: int) -> list[int]:
    """Ids of the grids of a version, ascending."""
    return [int(x) for x in conn.execute(
        sa.text("SELECT grid_id FROM grid_geometry WHERE version_id = :v ORDER BY grid_id"),
        {"v": version_id}).scalars()]


def version_grids(conn: Connection, version_id: int) -> list[dict[str, Any]]:
    """Grids of a version with their sizes (households, residents, buildings)."""
    rows = conn.execute(
        sa.text(
            "SELECT g.id AS grid_id, g.grid_code, g.grid_seq, g.name, g.locked, g.provisional,"
            " g.grid_kind, gg.responsible_party,"
            " COALESCE(s.households, 0) AS households, COALESCE(s.residents, 0) AS residents,"
            " COALESCE(s.buildings, 0) AS buildings"
            " FROM grid_geometry gg JOIN grid g ON g.id = gg.grid_id"
            " JOIN grid_version v ON v.id = gg.version_id"
            " LEFT JOIN (SELECT m.grid_id, sum(c.households) AS households,"
            "   sum(c.residents) AS residents,"
            "   count(*) FILTER (WHERE m.unit_type = 'building') AS buildings"
            "   FROM grid_member m JOIN grid_version mv ON mv.id = m.version_id"
            "   JOIN grid_cell c ON c.community_id = mv.community_id"
            "    AND c.unit_type = m.unit_type AND c.unit_id = m.unit_id"
            "   WHERE m.version_id = :v GROUP BY m.grid_id) s ON s.grid_id = gg.grid_id"
            " WHERE gg.version_id = :v ORDER BY g.provisional, g.grid_seq"
        ),
        {"v": version_id},
    ).mappings().all()
    return [dict(r) for r in rows]


def new_grid(conn: Connection, community_id: int, code: str, name: str | None = None) -> int:
    """A provisional grid row (real sequence and code are given at activation)."""
    seq = int(conn.execute(
        sa.text("SELECT GREATEST(COALESCE(max(grid_seq), 0), :base) + 1 FROM grid"
                " WHERE community_id = :c"),
        {"c": community_id, "base": PROVISIONAL_BASE},
    ).scalar_one())
    return int(conn.execute(
        sa.text(
            "INSERT INTO grid (community_id, grid_seq, grid_code, name, provisional)"
            " VALUES (:c, :seq, :code, :name, true) RETURNING id"
        ),
        {"c": community_id, "seq": seq, "code": f"P{code}-{seq - PROVISIONAL_BASE}",
         "name": name},
    ).scalar_one())


def new_grids(conn: Connection, community_id: int, code: str, n: int) -> list[int]:
    """``n`` provisional grid rows in one statement."""
    rows = conn.execute(sa.text(
        "WITH base AS (SELECT GREATEST(COALESCE(max(grid_seq), 0), :base) AS s FROM grid"
        " WHERE community_id = :c)"
        " INSERT INTO grid (community_id, grid_seq, grid_code, provisional)"
        " SELECT :c, base.s + i, 'P' || :code || '-' || (base.s + i - :base), true"
        " FROM base, generate_series(1, :n) AS i ORDER BY i RETURNING id"),
        {"c": community_id, "base": PROVISIONAL_BASE, "code": code, "n": n}).scalars().all()
    return sorted(int(r) for r in rows)


def locked_ids(conn: Connection, gids: Sequence[int]) -> set[int]:
    """The locked grids among ``gids``."""
    return set(conn.execute(sa.text("SELECT id FROM grid WHERE id = ANY(:g) AND locked"),
                            {"g": list(gids)}).scalars())


def check_unlocked(conn: Connection, gids: Sequence[int]) -> None:
    """:class:`Conflict` naming the locked grids among ``gids``, if any."""
    locked = conn.execute(
        sa.text("SELECT grid_code FROM grid WHERE id = ANY(:g) AND locked ORDER BY grid_code"),
        {"g": list(gids)}).scalars().all()
    if locked:
        raise Conflict("grids.grids_locked", {"grids": list(locked)})


def drop_empty(conn: Connection, version_id: int) -> None:
    """Remove grids of a draft that have no area left (and no members)."""
    conn.execute(sa.text(
        "DELETE FROM grid_geometry gg WHERE gg.version_id = :v AND (ST_IsEmpty(gg.geom)"
        " OR ST_Area(gg.geom::geography) < 0.01) AND NOT EXISTS (SELECT 1 FROM grid_member m"
        " WHERE m.version_id = :v AND m.grid_id = gg.grid_id)"), {"v": version_id})


def audit(conn: Connection, actor: str | None, action: str, version_id: int,
          before: Any, after: Any) -> None:
    """One ``audit_log`` row about a grid version (before/after as JSON)."""
    conn.execute(
        sa.text(
            "INSERT INTO audit_log (actor, action, object_type, object_id, before, after)"
            " VALUES (:a, :act, 'grid_version', :oid, CAST(:b AS jsonb), CAST(:af AS jsonb))"
        ),
        {"a": actor, "act": action, "oid": str(version_id),
         "b": json.dumps(before, default=str) if before is not None else None,
         "af": json.dumps(after, default=str) if after is not None else None},
    )
