"""Editing a draft: moving units between grids, freehand polygons, grid attributes.

Every edit keeps the plan a partition of the community, refuses to change locked grids,
and is one undoable step (:func:`gridmap.grids.history.record`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import shapely
import sqlalchemy as sa
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy.engine import Connection

from gridmap.errors import Conflict, NotFound, ValidationError
from gridmap.grids.checks import GridRules
from gridmap.grids.frame import Frame, geojson, load_frame, version_geoms, wkb
from gridmap.grids.geometry import as_multi, fill_leftovers, polygonal
from gridmap.grids.history import record
from gridmap.grids.store import (
    check_unlocked,
    drop_empty,
    locked_ids,
    new_grid,
    version_grid_ids,
    version_row,
)
from gridmap.grids.units import ensure_cells, expand_units, rederive_members

_MOVED = ("(SELECT ST_Union(c.geom) FROM grid_cell c JOIN unnest(CAST(:t AS text[]),"
          " CAST(:u AS int[])) AS x(t, u) ON c.unit_type = x.t AND c.unit_id = x.u"
          " WHERE c.community_id = :c)")
"""The union of the moved cells (params c, t, u)."""


def _touched_by_move(conn: Connection, p: dict[str, Any]) -> set[int]:
    """Grids whose area overlaps the moved cells or that have them as members."""
    touched = set(conn.execute(sa.text(
        f"SELECT gg.grid_id FROM grid_geometry gg, {_MOVED} AS m(geom)"  # noqa: S608 - constant SQL fragments, values are bound
        " WHERE gg.version_id = :v AND gg.geom && m.geom"
        " AND ST_Relate(gg.geom, m.geom, '2********')"), p).scalars())
    touched |= set(conn.execute(sa.text(
        "SELECT DISTINCT m.grid_id FROM grid_member m JOIN unnest(CAST(:t AS text[]),"
        " CAST(:u AS int[])) AS x(t, u) ON m.unit_type = x.t AND m.unit_id = x.u"
        " WHERE m.version_id = :v"), p).scalars())
    return {int(g) for g in touched}


def _apply_move(conn: Connection, q: dict[str, Any]) -> None:
    """Cut the moved cells out of the other grids, add them to ``:to``, update members."""
    conn.execute(sa.text(
        f"UPDATE grid_geometry gg SET geom = ST_Multi(ST_CollectionExtract("  # noqa: S608 - constant SQL fragments, values are bound
        f" ST_Difference(gg.geom, m.geom), 3)) FROM {_MOVED} AS m(geom)"
        " WHERE gg.version_id = :v AND gg.grid_id = ANY(:gids) AND gg.grid_id <> :to"), q)
    conn.execute(sa.text(
        "INSERT INTO grid_geometry (version_id, grid_id, responsible_party, geom)"  # noqa: S608 - constant SQL fragments, values are bound
        f" SELECT :v, :to, NULL, ST_Multi(m.geom) FROM {_MOVED} AS m(geom)"
        " ON CONFLICT (version_id, grid_id) DO UPDATE SET geom = ST_Multi("
        " ST_CollectionExtract(ST_Union(grid_geometry.geom, EXCLUDED.geom), 3))"), q)
    conn.execute(sa.text(
        "INSERT INTO grid_member (version_id, unit_type, unit_id, grid_id)"
        " SELECT :v, x.t, x.u, :to FROM unnest(CAST(:t AS text[]), CAST(:u AS int[]))"
        " AS x(t, u) WHERE x.t IN ('building', 'block')"
        " ON CONFLICT (version_id, unit_type, unit_id) DO UPDATE SET grid_id = :to"), q)
    drop_empty(conn, q["v"])


def move_units(
    conn: Connection,
    version_id: int,
    units: Sequence[tuple[str, int]],
    to_grid_id: int | None,
    *,
    actor: str,
    expected_lock_version: int | None = None,
) -> dict[str, Any]:
    """Move units (``("building"|"estate"|"block", id)``) of a draft into another grid.

    The moved cells are cut out of every grid they overlap and added to the target, so the
    plan stays a partition. ``to_grid_id=None`` creates a new (provisional) grid. Grids left
    without area disappear from the draft.

    Returns
    -------
    dict
        ``version_id``, new ``lock_version``, ``op`` (undo stack position), ``grids`` changed.
    """
    v = version_row(conn, version_id)
    cid = v["community_id"]
    ensure_cells(conn, cid)
    cells = expand_units(conn, cid, units)
    present = set(version_grid_ids(conn, version_id))
    with conn.begin_nested():
        if to_grid_id is None:
            to_grid_id = new_grid(conn, cid, load_frame(conn, cid).code)
        elif to_grid_id not in present:
            raise NotFound("grids.grid_not_in_draft", {"grid": to_grid_id, "version": version_id})
        p = {"v": version_id, "c": cid, "t": [c[0] for c in cells], "u": [c[1] for c in cells]}
        gids = sorted(_touched_by_move(conn, p) | {to_grid_id})
        check_unlocked(conn, gids)
        target = to_grid_id

        def mutate() -> int:
            _apply_move(conn, {**p, "to": target, "gids": gids})
            return len(cells)

        out = record(conn, version_id, "move_units", actor, expected_lock_version, gids,
                     {"units": [list(u) for u in units], "to_grid": target}, mutate)
    out["to_grid_id"] = target
    return out


def set_grid_attrs(
    conn: Connection,
    version_id: int,
    grid_id: int,
    *,
    actor: str,
    expected_lock_version: int | None = None,
    name: str | None = None,
    responsible_party: str | None = None,
    locked: bool | None = None,
) -> dict[str, Any]:
    """Set a grid's name, responsible party (责任主体) or lock flag in a draft."""
    if grid_id not in version_grid_ids(conn, version_id):
        raise NotFound("grids.grid_not_in_draft", {"grid": grid_id, "version": version_id})

    def mutate() -> None:
        if responsible_party is not None:
            conn.execute(sa.text(
                "UPDATE grid_geometry SET responsible_party = NULLIF(:rp, '')"
                " WHERE version_id = :v AND grid_id = :g"),
                {"rp": responsible_party, "v": version_id, "g": grid_id})
        if name is not None:
            conn.execute(sa.text("UPDATE grid SET name = NULLIF(:n, '') WHERE id = :g"),
                         {"n": name, "g": grid_id})
        if locked is not None:
            conn.execute(sa.text("UPDATE grid SET locked = :l WHERE id = :g"),
                         {"l": locked, "g": grid_id})

    return record(conn, version_id, "attrs", actor, expected_lock_version, [grid_id],
                  {"grid": grid_id, "name": name, "responsible_party": responsible_party,
                   "locked": locked}, mutate)


def _snap_reference(conn: Connection, fr: Frame, version_id: int, poly_ll: BaseGeometry
                    ) -> BaseGeometry:
    """Lines to snap a freehand polygon to: roads, unit-cell edges, grid edges, boundary."""
    p = {"v": version_id, "c": fr.community_id, "wkb": wkb(poly_ll)}
    area = ("ST_Expand(ST_SetSRID(ST_GeomFromWKB(:wkb), 4326), 0.0005)")
    rows = conn.execute(sa.text(
        f"SELECT ST_AsBinary(ST_Boundary(geom)) FROM grid_cell WHERE community_id = :c"  # noqa: S608 - constant SQL fragments, values are bound
        f" AND geom && {area}"
        f" UNION ALL SELECT ST_AsBinary(ST_Boundary(geom)) FROM grid_geometry"
        f" WHERE version_id = :v AND geom && {area}"
        f" UNION ALL SELECT ST_AsBinary(geom) FROM osm_line WHERE geom && {area}"
        f" AND highway IS NOT NULL"), p).all()
    lines = [shapely.from_wkb(bytes(r[0])) for r in rows]
    lines.append(fr.geom.boundary)
    ref = fr.to_m(shapely.GeometryCollection(lines))
    return shapely.set_precision(ref, 0.001)


def _drawn_polygon(polygon: BaseGeometry | dict[str, Any]) -> BaseGeometry:
    """The drawn shape (shapely or GeoJSON) as a valid polygon, or :class:`ValidationError`."""
    poly_ll = shape(polygon) if isinstance(polygon, dict) else polygon
    if poly_ll.is_empty or poly_ll.geom_type not in ("Polygon", "MultiPolygon"):
        raise ValidationError("grids.not_a_polygon")
    return shapely.make_valid(poly_ll)


def _fit_polygon(conn: Connection, fr: Frame, version_id: int, poly_ll: BaseGeometry,
                 locked_geoms: list[BaseGeometry], r: GridRules) -> BaseGeometry:
    """The drawn polygon snapped, clipped to the community and kept out of locked grids
    (metric CRS); :class:`ValidationError` if too little area is left."""
    poly = shapely.snap(fr.to_m(poly_ll), _snap_reference(conn, fr, version_id, poly_ll),
                        r.snap_tolerance_m)
    poly = polygonal(shapely.make_valid(poly))
    poly = polygonal(poly.intersection(fr.to_m(fr.geom)))
    if locked_geoms:
        poly = polygonal(poly.difference(shapely.union_all(locked_geoms)))
    if poly.area < r.min_area_m2:
        raise ValidationError("grids.drawn_too_small",
                              params={"area": poly.area, "min_area": r.min_area_m2})
    return poly


def _write_shapes(conn: Connection, fr: Frame, version_id: int, new: dict[int, BaseGeometry],
                  locked: set[int], r: GridRules) -> int:
    """Store the new shapes of the unlocked grids (empty ones are deleted); re-derive units."""
    changed = 0
    for gid, g in new.items():
        if gid in locked:
            continue
        if g.is_empty or g.area < r.area_tolerance_m2:
            conn.execute(sa.text("DELETE FROM grid_geometry WHERE version_id = :v"
                                 " AND grid_id = :g"), {"v": version_id, "g": gid})
            continue
        conn.execute(sa.text(
            "INSERT INTO grid_geometry (version_id, grid_id, geom) VALUES (:v, :g,"
            " ST_Multi(ST_SetSRID(ST_GeomFromWKB(:wkb), 4326)))"
            " ON CONFLICT (version_id, grid_id) DO UPDATE SET geom = EXCLUDED.geom"),
            {"v": version_id, "g": gid, "wkb": wkb(as_multi(shapely.make_valid(fr.to_ll(g))))})
        changed += 1
    rederive_members(conn, version_id, fr.community_id)
    return changed


def set_grid_geometry(
    conn: Connection,
    version_id: int,
    grid_id: int | None,
    polygon: BaseGeometry | dict[str, Any],
    *,
    actor: str,
    expected_lock_version: int | None = None,
    rules: GridRules | None = None,
) -> dict[str, Any]:
    """Freehand edit: replace a grid's polygon (``grid_id=None``: draw a new grid).

    The polygon (EPSG:4326, shapely or GeoJSON) is clipped to the community, kept out of
    locked grids, snapped (``snap_tolerance_m``) to road lines, unit-cell edges, other
    grids' edges and the community boundary; other grids lose what it covers; the area the
    grid gave up goes to the neighbour sharing the longest edge; slivers thinner than
    ``sliver_width_m`` (e.g. a hair-line gap left by an imprecise drawing) are merged into
    the grid sharing the longest edge. Unit membership is re-derived from the new shapes.
    """
    r = rules or GridRules()
    cid = version_row(conn, version_id)["community_id"]
    ensure_cells(conn, cid)
    fr = load_frame(conn, cid)
    poly_ll = _drawn_polygon(polygon)
    ids, geoms, _ = version_geoms(conn, fr, version_id)
    if grid_id is not None and grid_id not in ids:
        raise NotFound("grids.grid_not_in_draft", {"grid": grid_id, "version": version_id})
    locked = locked_ids(conn, ids)
    if grid_id in locked:
        raise Conflict("grids.grid_locked", {"grid": grid_id})
    poly = _fit_polygon(conn, fr, version_id, poly_ll,
                        [g for i, g in zip(ids, geoms, strict=True) if i in locked], r)
    with conn.begin_nested():
        target = grid_id if grid_id is not None else new_grid(conn, cid, fr.code)
        new: dict[int, BaseGeometry] = {
            i: g if i in locked else polygonal(g.difference(poly))
            for i, g in zip(ids, geoms, strict=True) if i != target}
        new[target] = poly
        fill_leftovers(new, fr.to_m(fr.geom), geoms[ids.index(target)] if target in ids else None,
                       target, locked, sliver_width_m=r.sliver_width_m,
                       min_area_m2=r.min_area_m2)
        out = record(conn, version_id, "freehand", actor, expected_lock_version,
                     sorted(set(ids) | {target}), {"grid": target, "polygon": geojson(poly_ll)},
                     lambda: _write_shapes(conn, fr, version_id, new, locked, r))
    out["grid_id"] = target
    return out
