"""Unit cells in the database: (re)building a community's cells from its blocks and
buildings, expanding estates/blocks to cells, and unit membership of grid versions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import Problem, ValidationError
from gridmap.grids.cells import tessellate
from gridmap.grids.frame import Frame, load_frame, valid_ll, wkb
from gridmap.grids.geometry import polygonal
from gridmap.grids.partition import PartitionParams
from gridmap.grids.store import version_row

_CELLS_OF = {
    "building": ("SELECT unit_type, unit_id FROM grid_cell WHERE community_id = :c"
                 " AND unit_type = 'building' AND unit_id = :u"),
    "block": "SELECT unit_type, unit_id FROM grid_cell WHERE community_id = :c AND block_id = :u",
    "estate": ("SELECT c.unit_type, c.unit_id FROM grid_cell c JOIN building b"
               " ON c.unit_type = 'building' AND b.id = c.unit_id"
               " WHERE c.community_id = :c AND b.estate_id = :u"),
}


def _community_units(conn: Connection, fr: Frame) -> tuple[Sequence[Any], Sequence[Any], Any, Any]:
    """Block rows, building rows and their metric geometries."""
    blocks = conn.execute(
        sa.text("SELECT id, ST_AsBinary(geom) FROM street_block WHERE community_id = :c"
                " ORDER BY id"),
        {"c": fr.community_id},
    ).all()
    blds = conn.execute(
        sa.text("SELECT id, ST_AsBinary(geom), households, residents FROM building"
                " WHERE community_id = :c ORDER BY id"),
        {"c": fr.community_id},
    ).all()
    bgeoms = fr.to_m(shapely.from_wkb([bytes(r[1]) for r in blocks])) if blocks else []
    ugeoms = fr.to_m(shapely.from_wkb([bytes(r[1]) for r in blds])) if blds else []
    return blocks, blds, bgeoms, ugeoms


def rebuild_cells(
    conn: Connection, community_id: int, params: PartitionParams | None = None
) -> int:
    """(Re)compute the unit cells of a community from its street blocks and buildings.

    Call after the community's blocks or buildings change. Existing versions keep their
    stored geometry. Returns the number of cells.
    """
    fr = load_frame(conn, community_id)
    blocks, blds, bgeoms, ugeoms = _community_units(conn, fr)
    cells = tessellate(
        fr.to_m(fr.geom),
        np.array([r[0] for r in blocks], dtype=np.int64),
        np.asarray(bgeoms, dtype=object),
        np.array([r[0] for r in blds], dtype=np.int64),
        np.asarray(ugeoms, dtype=object),
        np.array([r[2] for r in blds], dtype=np.int64),
        np.array([r[3] for r in blds], dtype=np.int64),
        params,
    )
    ll: Any = valid_ll(fr, cells.geoms) if len(cells) else []
    rows = [
        {"c": community_id, "t": cells.unit_type[i], "u": int(cells.unit_id[i]),
         "b": int(cells.block_id[i]) or None, "h": int(cells.households[i]),
         "r": int(cells.residents[i]), "wkb": wkb(ll[i])}
        for i in range(len(cells))
    ]
    with conn.begin_nested():
        conn.execute(sa.text("DELETE FROM grid_cell WHERE community_id = :c"), {"c": community_id})
        if rows:
            conn.execute(
                sa.text(
                    "INSERT INTO grid_cell (community_id, unit_type, unit_id, block_id,"
                    " households, residents, geom) VALUES (:c, :t, :u, :b, :h, :r,"
                    " ST_Multi(ST_SetSRID(ST_GeomFromWKB(:wkb), 4326)))"
                ),
                rows,
            )
    return len(rows)


def ensure_cells(conn: Connection, community_id: int) -> None:
    """Build the community's unit cells if it has none yet."""
    n = conn.execute(
        sa.text("SELECT count(*) FROM grid_cell WHERE community_id = :c"), {"c": community_id}
    ).scalar_one()
    if not n:
        rebuild_cells(conn, community_id)


def load_cells(conn: Connection, fr: Frame) -> tuple[list[tuple[str, int]],
                                                     npt.NDArray[np.int64],
                                                     npt.NDArray[np.int64],
                                                     npt.NDArray[np.object_]]:
    """The community's cells: keys (unit_type, unit_id), block ids, households and metric
    geometries (repaired where the projection broke them), ordered by key."""
    ensure_cells(conn, fr.community_id)
    rows = conn.execute(sa.text(
        "SELECT unit_type, unit_id, COALESCE(block_id, 0), households, ST_AsBinary(geom)"
        " FROM grid_cell WHERE community_id = :c ORDER BY unit_type, unit_id"),
        {"c": fr.community_id}).all()
    keys = [(str(r[0]), int(r[1])) for r in rows]
    blocks = np.array([r[2] for r in rows], dtype=np.int64)
    hh = np.array([r[3] for r in rows], dtype=np.int64)
    geoms = fr.to_m(shapely.from_wkb([bytes(r[4]) for r in rows])) if rows else np.array([])
    geoms = np.asarray(geoms, dtype=object)
    bad = ~shapely.is_valid(geoms) if len(geoms) else np.array([], dtype=bool)
    if bad.any():
        geoms[bad] = [polygonal(shapely.make_valid(g)) for g in geoms[bad]]
    return keys, blocks, hh, geoms


_NOT_A_UNIT = {"building": "grids.building_not_in_community",
               "estate": "grids.estate_not_in_community",
               "block": "grids.block_not_in_community"}


def expand_units(conn: Connection, community_id: int,
                 units: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """Estates and street blocks → the unit cells they consist of; unknown units are errors."""
    problems: list[Problem] = []
    out: list[tuple[str, int]] = []
    for i, (kind, uid) in enumerate(units):
        if kind not in _CELLS_OF:
            problems.append(Problem("grids.unknown_unit_type", {"kind": kind}, row=i + 1,
                                    field="unit_type"))
            continue
        found = conn.execute(sa.text(_CELLS_OF[kind]), {"c": community_id, "u": uid}).all()
        if not found:
            problems.append(Problem(_NOT_A_UNIT[kind], {"unit": uid}, row=i + 1,
                                    field="unit_id"))
        out.extend((str(a), int(b)) for a, b in found)
    if problems:
        raise ValidationError("grids.cannot_move_units", problems)
    return sorted(set(out))


_REDERIVE = (
    "INSERT INTO grid_member (version_id, unit_type, unit_id, grid_id)"
    " SELECT DISTINCT ON (c.unit_type, c.unit_id) :v, c.unit_type, c.unit_id, gg.grid_id"
    " FROM grid_cell c JOIN grid_geometry gg ON gg.version_id = :v AND gg.geom && c.geom"
    "  AND ST_Covers(gg.geom, ST_PointOnSurface(c.geom))"
    " WHERE c.community_id = :c AND c.unit_type IN ('building', 'block')"
    " ORDER BY c.unit_type, c.unit_id, gg.grid_id"
    " ON CONFLICT (version_id, unit_type, unit_id) DO "
)


def rederive_members(conn: Connection, version_id: int, community_id: int,
                     *, only_missing: bool = False) -> None:
    """Each unit belongs to the grid that covers its cell's representative point.

    ``only_missing``: add members for units that have none, change nothing else.
    """
    action = ("NOTHING" if only_missing else
              "UPDATE SET grid_id = EXCLUDED.grid_id WHERE grid_member.grid_id <> EXCLUDED.grid_id")
    conn.execute(sa.text(_REDERIVE + action), {"v": version_id, "c": community_id})


def unit_label_columns(building: str = "b", estate: str = "es") -> str:
    """Columns naming a unit for a person when its building has no name of its own: the
    estate (小区, ``estate_name``) and the 楼号 from the address register (``building_no``).

    ``building`` and ``estate`` are the query's (constant) aliases of those tables.
    """
    return (f"{estate}.name AS estate_name, (SELECT min(ae.building_no) FROM address_entry ae"  # noqa: S608
            f" WHERE ae.building_id = {building}.id AND ae.valid_to IS NULL) AS building_no")


def units_geojson(conn: Connection, version_id: int) -> dict[str, Any]:
    """Unit cells of a version's community with the grid each belongs to (for painting)."""
    v = version_row(conn, version_id)
    ensure_cells(conn, v["community_id"])
    rows = conn.execute(
        sa.text(
            "SELECT c.unit_type, c.unit_id, c.households, c.residents, m.grid_id, b.name,"  # noqa: S608
            " ST_AsGeoJSON(c.geom, 7), " + unit_label_columns() + " FROM grid_cell c"
            " LEFT JOIN grid_member m ON m.version_id = :v AND m.unit_type = c.unit_type"
            "  AND m.unit_id = c.unit_id"
            " LEFT JOIN building b ON c.unit_type = 'building' AND b.id = c.unit_id"
            " LEFT JOIN estate es ON es.id = b.estate_id"
            " WHERE c.community_id = :c ORDER BY c.unit_type, c.unit_id"
        ),
        {"v": version_id, "c": v["community_id"]},
    ).all()
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": f"{r[0]}:{r[1]}",
         "properties": {"unit_type": r[0], "unit_id": r[1], "households": r[2],
                        "residents": r[3], "grid_id": r[4], "name": r[5],
                        "estate_name": r[7], "building_no": r[8]},
         "geometry": json.loads(r[6])}
        for r in rows
    ]}
