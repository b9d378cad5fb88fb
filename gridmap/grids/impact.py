"""What a new plan changes: grids reshaped, units moving, and the people, buildings,
facilities and open incidents concerned (impact of a draft, diff of two versions).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError
from gridmap.grids.store import version_grid_ids, version_row
from gridmap.grids.units import ensure_cells, unit_label_columns
from gridmap.incidents.states import OPEN_STATES


def incident_table(conn: Connection) -> bool:
    """True when the database has the ``incident`` table."""
    return bool(conn.execute(sa.text("SELECT to_regclass('incident') IS NOT NULL")).scalar_one())


def _grid_stats(conn: Connection, version_id: int, gids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Households, residents, buildings, facilities and open incidents inside each grid."""
    if not gids:
        return {}
    incidents = "0"
    p: dict[str, Any] = {"v": version_id, "g": list(gids)}
    if incident_table(conn):
        p["open"] = list(OPEN_STATES)
        incidents = ("(SELECT count(*) FROM incident i WHERE i.geom && gg.geom"
                     " AND ST_Covers(gg.geom, i.geom) AND i.state = ANY(:open))")
    rows = conn.execute(sa.text(
        "SELECT gg.grid_id,"  # noqa: S608 - constant SQL fragments, values are bound
        " (SELECT COALESCE(sum(b.households), 0) FROM building b WHERE b.geom && gg.geom"
        "   AND ST_Covers(gg.geom, ST_PointOnSurface(b.geom))) AS households,"
        " (SELECT COALESCE(sum(b.residents), 0) FROM building b WHERE b.geom && gg.geom"
        "   AND ST_Covers(gg.geom, ST_PointOnSurface(b.geom))) AS residents,"
        " (SELECT count(*) FROM building b WHERE b.geom && gg.geom"
        "   AND ST_Covers(gg.geom, ST_PointOnSurface(b.geom))) AS buildings,"
        " (SELECT count(*) FROM facility f WHERE f.location && gg.geom"
        "   AND ST_Covers(gg.geom, f.location)) AS facilities,"
        f" {incidents} AS open_incidents,"
        " ST_Area(gg.geom::geography) AS area_m2"
        " FROM grid_geometry gg WHERE gg.version_id = :v AND gg.grid_id = ANY(:g)"), p
    ).mappings().all()
    return {int(r["grid_id"]): {k: (round(float(v), 1) if k == "area_m2" else int(v))
                                for k, v in r.items() if k != "grid_id"} for r in rows}


def changed_grids(conn: Connection, old: int | None, new: int) -> list[int]:
    """Grids added, removed or reshaped (by more than 0.5 m²) from ``old`` to ``new``."""
    rows = conn.execute(sa.text(
        "SELECT COALESCE(a.grid_id, b.grid_id) FROM"
        " (SELECT grid_id, geom FROM grid_geometry WHERE version_id = :new) a FULL JOIN"
        " (SELECT grid_id, geom FROM grid_geometry WHERE version_id = :old) b USING (grid_id)"
        " WHERE a.geom IS NULL OR b.geom IS NULL OR NOT ST_OrderingEquals(a.geom, b.geom)"
        " AND ST_Area(ST_SymDifference(a.geom, b.geom)::geography) > :tol"
        " ORDER BY 1"), {"new": new, "old": old or -1, "tol": 0.5}).scalars().all()
    return [int(x) for x in rows]


_UNIT_GRID_SPATIAL = (
    "(SELECT c.unit_type, c.unit_id, COALESCE(m.grid_id, (SELECT gg.grid_id"
    "  FROM grid_geometry gg WHERE gg.version_id = {v} AND gg.geom && c.geom"
    "  AND ST_Covers(gg.geom, ST_PointOnSurface(c.geom)) ORDER BY gg.grid_id LIMIT 1)) AS grid_id"
    " FROM grid_cell c LEFT JOIN grid_member m ON m.version_id = {v}"
    "  AND m.unit_type = c.unit_type AND m.unit_id = c.unit_id"
    " WHERE c.community_id = :c AND c.unit_type IN ('building', 'block'))"
)
_UNIT_GRID_MEMBERS = (
    "(SELECT unit_type, unit_id, grid_id FROM grid_member WHERE version_id = {v})"
)


def _unit_grid_sql(conn: Connection, version_id: int, community_id: int, bind: str) -> str:
    """Unit → grid of a version: its members, or spatial where members are missing."""
    members, cells = conn.execute(sa.text(
        "SELECT (SELECT count(*) FROM grid_member WHERE version_id = :v),"
        " (SELECT count(*) FROM grid_cell WHERE community_id = :c"
        "  AND unit_type IN ('building', 'block'))"), {"v": version_id, "c": community_id}).one()
    template = _UNIT_GRID_MEMBERS if members >= cells else _UNIT_GRID_SPATIAL
    return template.format(v=bind)


def _moved_units(conn: Connection, old: int | None, new: int) -> list[dict[str, Any]]:
    """Units whose grid differs between two versions (plans without unit members, e.g.
    imported polygons, are assigned spatially by each cell's representative point)."""
    if old is None:
        return []
    cid = version_row(conn, new)["community_id"]
    ensure_cells(conn, cid)
    rows = conn.execute(sa.text(
        "SELECT a.unit_type, a.unit_id, b.grid_id AS from_grid,"  # noqa: S608 - constant fragments
        " a.grid_id AS to_grid, fg.grid_code AS from_code, tg.grid_code AS to_code,"
        " bl.name, bl.households, bl.residents, " + unit_label_columns("bl") + " FROM "
        + _unit_grid_sql(conn, new, cid, ":new") + " a JOIN "
        + _unit_grid_sql(conn, old, cid, ":old") + " b"
        "  ON a.unit_type = b.unit_type AND a.unit_id = b.unit_id"
        " LEFT JOIN grid fg ON fg.id = b.grid_id LEFT JOIN grid tg ON tg.id = a.grid_id"
        " LEFT JOIN building bl ON a.unit_type = 'building' AND bl.id = a.unit_id"
        " LEFT JOIN estate es ON es.id = bl.estate_id"
        " WHERE a.grid_id IS DISTINCT FROM b.grid_id ORDER BY 1, 2"),
        {"new": new, "old": old, "c": cid}).mappings().all()
    return [dict(r) for r in rows]


def impact(conn: Connection, version_id: int, against: int | None = None) -> dict[str, Any]:
    """What activating ``version_id`` would change, compared with ``against``.

    ``against`` defaults to the draft's base version (the active one when it was created).

    Returns
    -------
    dict
        ``grids``: one entry per changed grid with ``before``/``after`` counts
        (households, residents, buildings, facilities, open_incidents, area_m2; ``None``
        where the grid does not exist on that side), and ``moves``: units changing grid
        (``unit_type``, ``unit_id``, ``from_grid``/``to_grid`` and their codes).
    """
    v = version_row(conn, version_id)
    old = against if against is not None else v["based_on_id"]
    changed = changed_grids(conn, old, version_id)
    moves = _moved_units(conn, old, version_id)
    gids = sorted(set(changed) | {m["from_grid"] for m in moves if m["from_grid"]}
                  | {m["to_grid"] for m in moves if m["to_grid"]})
    before = _grid_stats(conn, old, gids) if old is not None else {}
    after = _grid_stats(conn, version_id, gids)
    meta = {int(r[0]): (r[1], r[2]) for r in conn.execute(sa.text(
        "SELECT id, grid_code, name FROM grid WHERE id = ANY(:g)"), {"g": gids})}
    grids = [{"grid_id": g, "grid_code": meta[g][0], "name": meta[g][1],
              "before": before.get(g), "after": after.get(g)} for g in gids]
    return {"version_id": version_id, "against": old, "grids": grids, "moves": moves}


def diff(conn: Connection, old_version: int, new_version: int) -> dict[str, Any]:
    """Grids added, removed and reshaped, and units moved, from one version to another."""
    a, b = version_row(conn, old_version), version_row(conn, new_version)
    if a["community_id"] != b["community_id"]:
        raise ValidationError("grids.versions_in_different_communities")
    changed = changed_grids(conn, old_version, new_version)
    ga, gb = set(version_grid_ids(conn, old_version)), set(version_grid_ids(conn, new_version))
    rows = conn.execute(sa.text(
        "SELECT g.id, g.grid_code,"
        " (SELECT ST_Area(geom::geography) FROM grid_geometry WHERE version_id = :a"
        "  AND grid_id = g.id) AS area_before,"
        " (SELECT ST_Area(geom::geography) FROM grid_geometry WHERE version_id = :b"
        "  AND grid_id = g.id) AS area_after FROM grid g WHERE g.id = ANY(:g) ORDER BY g.grid_code"),
        {"a": old_version, "b": new_version, "g": changed}).mappings().all()
    out: dict[str, Any] = {"old": old_version, "new": new_version, "added": [], "removed": [],
                           "changed": []}
    for r in rows:
        item = {"grid_id": r["id"], "grid_code": r["grid_code"],
                "area_before_m2": round(r["area_before"] or 0.0, 1),
                "area_after_m2": round(r["area_after"] or 0.0, 1)}
        key = "added" if r["id"] not in ga else "removed" if r["id"] not in gb else "changed"
        out[key].append(item)
    out["moves"] = _moved_units(conn, old_version, new_version)
    out["unchanged"] = len(ga & gb) - len(out["changed"])
    return out
