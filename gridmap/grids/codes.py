"""Grid codes at activation (reference/grids.md §6): kept grids keep their identity and code,
new grids are numbered in reading order, a retired number is never reused in a community.
"""

from __future__ import annotations

import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.grids.checks import GridRules
from gridmap.grids.frame import Frame
from gridmap.reference import codes as admin_codes


def _take_over_identities(conn: Connection, version_id: int, previous: int) -> dict[int, int]:
    """Provisional grids that match a grid of ``previous`` (same shape within 2 % of its
    area) take over that grid's id. Returns {provisional id: kept id}."""
    renamed: dict[int, int] = {}
    matches = conn.execute(sa.text(
        "SELECT n.grid_id, o.grid_id FROM grid_geometry n JOIN grid g ON g.id = n.grid_id"
        " JOIN grid_geometry o ON o.version_id = :old AND o.geom && n.geom"
        " WHERE n.version_id = :v AND g.provisional"
        " AND o.grid_id NOT IN (SELECT grid_id FROM grid_geometry WHERE version_id = :v)"
        " AND ST_Area(ST_SymDifference(o.geom, n.geom)) <= 0.02 * ST_Area(o.geom)"),
        {"v": version_id, "old": previous}).all()
    for new_id, old_id in matches:
        if new_id not in renamed and old_id not in renamed.values():
            renamed[int(new_id)] = int(old_id)
    for new_id, old_id in renamed.items():
        p = {"v": version_id, "n": new_id, "o": old_id}
        conn.execute(sa.text("UPDATE grid_geometry SET grid_id = :o WHERE version_id = :v"
                             " AND grid_id = :n"), p)
        conn.execute(sa.text("UPDATE grid_member SET grid_id = :o WHERE version_id = :v"
                             " AND grid_id = :n"), p)
        conn.execute(sa.text("UPDATE grid SET locked = (SELECT locked FROM grid WHERE id = :n)"
                             " WHERE id = :o"), p)
    return renamed


def assign_codes(conn: Connection, fr: Frame, version_id: int, previous: int | None,
                 rules: GridRules) -> dict[int, str]:
    """Give provisional grids of ``version_id`` their final identity and code.

    A provisional grid that matches a grid of the previous version (same shape within
    2 % of its area) takes over that grid's identity, so unchanged grids keep their codes
    even after an auto-partition. The others get new sequence numbers above every number
    ever used in the community (a retired number is never reused), in reading order
    west→east, north→south (reference/grids.md §6).

    Returns
    -------
    dict
        {grid id: new code} of the grids that got a new number.
    """
    prov = conn.execute(sa.text(
        "SELECT gg.grid_id, ST_AsBinary(gg.geom) FROM grid_geometry gg JOIN grid g"
        " ON g.id = gg.grid_id WHERE gg.version_id = :v AND g.provisional ORDER BY gg.grid_id"),
        {"v": version_id}).all()
    if not prov:
        return {}
    renamed = _take_over_identities(conn, version_id, previous) if previous is not None else {}
    rest = [(int(g), shapely.from_wkb(bytes(w))) for g, w in prov if int(g) not in renamed]
    top = int(conn.execute(sa.text(
        "SELECT COALESCE(max(grid_seq), 0) FROM grid WHERE community_id = :c AND NOT provisional"),
        {"c": fr.community_id}).scalar_one())
    pts = fr.to_m(shapely.point_on_surface([g for _, g in rest]))
    order = admin_codes.reading_order([(p.x, p.y) for p in pts], rules.band_height_m)
    assigned: dict[int, str] = {}
    for rank, idx in enumerate(order):
        gid = rest[idx][0]
        seq = top + rank + 1
        code = admin_codes.grid_code(fr.code, seq, rules.seq_width)
        conn.execute(sa.text(
            "UPDATE grid SET grid_seq = :s, grid_code = :code, provisional = false,"
            " name = COALESCE(name, :name) WHERE id = :g"),
            {"s": seq, "code": code, "g": gid, "name": f"{fr.name}第{seq}网格"})
        assigned[gid] = code
    return assigned
