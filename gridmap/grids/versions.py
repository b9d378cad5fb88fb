"""Grid plans of a community: versions, drafts, editing, validation, impact, activation.

A community's grids live in *versions* (MapIt-style generations). A redraw is a **draft**
version: edited (unit moves or freehand polygons), validated, previewed, then **activated**
with an effective date, which retires the previous version (``valid_to``) without touching
its geometry, so history is never overwritten and :func:`grid_at` answers "which grid was
this point in on that date". Rules come from ``/work/shared/reference/grids.md``:
G1–G3 (closed polygons, no gaps/overlaps, inside one community), G4 (road centre lines,
via the unit cells of :mod:`gridmap.partition`), §3 household range as warnings, §5 the
responsible party (属地兜底) and validity dates, §6 codes (stable for kept grids, new grids
numbered in reading order, a retired number never reused in a community).

Every function that writes runs in a savepoint; edits of a draft take the draft's
``lock_version`` (optimistic locking): a stale value raises :class:`Conflict` and nothing
is written. Each edit is recorded in ``grid_edit_op`` (undo/redo) and ``audit_log``.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa
from pyproj import Transformer
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy.engine import Connection

from gridmap.crs import metric_crs
from gridmap.errors import Conflict, NotFound, Problem, ValidationError
from gridmap.grids import partition
from gridmap.grids.partition import PartitionParams
from gridmap.reference import codes

PROVISIONAL_BASE = 1_000_000
"""Draft grids get sequence numbers from here until activation gives them real ones."""


@dataclass(frozen=True)
class GridRules:
    """Validation and editing thresholds (reference/grids.md §2–§3; all configurable).

    Parameters
    ----------
    households_min, households_max, residents_max:
        Size range; outside it is a warning ([local] 300–500 households, ≤ 2,500 residents).
    area_tolerance_m2:
        Digitising noise absorbed by the containment, overlap and gap checks (~0.5 m²).
    min_area_m2:
        Smallest acceptable grid.
    compactness_min:
        Polsby-Popper (4πA/P²) below this is a warning.
    snap_tolerance_m:
        Freehand edges within this distance of a road, unit edge, neighbour or the
        community boundary are snapped onto it.
    sliver_width_m:
        Pieces thinner than this (2·area/perimeter) are slivers, merged into the
        neighbour sharing the longest edge.
    seq_width:
        Digits of the grid sequence in the grid code (Settings.grid_seq_width).
    band_height_m:
        Band height of the west→east, north→south numbering.
    """

    households_min: int = 300
    households_max: int = 500
    residents_max: int = 2500
    area_tolerance_m2: float = 0.5
    min_area_m2: float = 50.0
    compactness_min: float = 0.15
    snap_tolerance_m: float = 2.0
    sliver_width_m: float = 1.0
    seq_width: int = 3
    band_height_m: float = 200.0

    @classmethod
    def from_settings(cls, settings: Any) -> GridRules:
        """Rules from a :class:`gridmap.config.Settings`."""
        return cls(
            households_min=settings.grid_households_min,
            households_max=settings.grid_households_max,
            residents_max=settings.grid_residents_max,
            seq_width=settings.grid_seq_width,
        )


# --------------------------------------------------------------------------- geometry io


@dataclass
class _Frame:
    """A community's boundary and the transforms to/from its metric CRS."""

    community_id: int
    code: str
    name: str
    geom: BaseGeometry  # EPSG:4326
    fwd: Transformer
    inv: Transformer

    def to_m(self, g: Any) -> Any:
        return shapely.transform(g, lambda c: np.column_stack(self.fwd.transform(c[:, 0], c[:, 1])))

    def to_ll(self, g: Any) -> Any:
        return shapely.transform(g, lambda c: np.column_stack(self.inv.transform(c[:, 0], c[:, 1])))


def _frame(conn: Connection, community_id: int) -> _Frame:
    row = conn.execute(
        sa.text("SELECT code, name, ST_AsBinary(geom) FROM community WHERE id = :id"),
        {"id": community_id},
    ).first()
    if row is None:
        raise NotFound(f"community {community_id} does not exist")
    geom = shapely.from_wkb(bytes(row[2]))
    fwd, inv = _transformers(metric_crs(*geom.bounds).to_epsg() or 0)
    return _Frame(community_id, row[0], row[1], geom, fwd, inv)


@functools.lru_cache(maxsize=16)
def _transformers(epsg: int) -> tuple[Transformer, Transformer]:
    """EPSG:4326 ⇄ metric CRS transformers (creating one costs tens of milliseconds)."""
    return (Transformer.from_crs(4326, epsg, always_xy=True),
            Transformer.from_crs(epsg, 4326, always_xy=True))


def _valid_ll(fr: _Frame, geoms_m: np.ndarray) -> np.ndarray:
    """Metric polygons → EPSG:4326, repaired where the projection made them invalid."""
    ll = np.asarray(fr.to_ll(geoms_m), dtype=object)
    bad = ~shapely.is_valid(ll)
    if bad.any():
        ll[bad] = [partition._polygonal(shapely.make_valid(g)) for g in ll[bad]]
    return ll


def _wkb(g: BaseGeometry) -> bytes:
    return bytes(shapely.to_wkb(g))


def _multi(g: BaseGeometry) -> BaseGeometry:
    g = partition._polygonal(g)
    if g.geom_type == "Polygon":
        return shapely.MultiPolygon([g])
    return g


def _geojson(g: BaseGeometry) -> dict[str, Any]:
    return dict(mapping(g))


_INSERT_GEOM = sa.text(
    "INSERT INTO grid_geometry (version_id, grid_id, responsible_party, geom)"
    " VALUES (:v, :g, :rp, ST_Multi(ST_SetSRID(ST_GeomFromWKB(:wkb), 4326)))"
)


# --------------------------------------------------------------------------- cells


def rebuild_cells(
    conn: Connection, community_id: int, params: PartitionParams | None = None
) -> int:
    """(Re)compute the unit cells of a community from its street blocks and buildings.

    Call after the community's blocks or buildings change. Existing versions keep their
    stored geometry. Returns the number of cells.
    """
    fr = _frame(conn, community_id)
    blocks = conn.execute(
        sa.text("SELECT id, ST_AsBinary(geom) FROM street_block WHERE community_id = :c"
                " ORDER BY id"),
        {"c": community_id},
    ).all()
    blds = conn.execute(
        sa.text("SELECT id, ST_AsBinary(geom), households, residents FROM building"
                " WHERE community_id = :c ORDER BY id"),
        {"c": community_id},
    ).all()
    bgeoms = fr.to_m(shapely.from_wkb([bytes(r[1]) for r in blocks])) if blocks else []
    ugeoms = fr.to_m(shapely.from_wkb([bytes(r[1]) for r in blds])) if blds else []
    cells = partition.tessellate(
        fr.to_m(fr.geom),
        np.array([r[0] for r in blocks], dtype=np.int64),
        np.asarray(bgeoms, dtype=object),
        np.array([r[0] for r in blds], dtype=np.int64),
        np.asarray(ugeoms, dtype=object),
        np.array([r[2] for r in blds], dtype=np.int64),
        np.array([r[3] for r in blds], dtype=np.int64),
        params,
    )
    ll: Any = _valid_ll(fr, cells.geoms) if len(cells) else []
    rows = [
        {"c": community_id, "t": cells.unit_type[i], "u": int(cells.unit_id[i]),
         "b": int(cells.block_id[i]) or None, "h": int(cells.households[i]),
         "r": int(cells.residents[i]), "wkb": _wkb(ll[i])}
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


def _ensure_cells(conn: Connection, community_id: int) -> None:
    n = conn.execute(
        sa.text("SELECT count(*) FROM grid_cell WHERE community_id = :c"), {"c": community_id}
    ).scalar_one()
    if not n:
        rebuild_cells(conn, community_id)


# --------------------------------------------------------------------------- versions


def _version(conn: Connection, version_id: int, *, for_update: bool = False) -> dict[str, Any]:
    row = conn.execute(
        sa.text(
            "SELECT id, community_id, generation, status, valid_from, valid_to, based_on_id,"  # noqa: S608 - constant SQL fragments, values are bound
            " note, created_by, created_at, activated_at, lock_version, updated_by, updated_at"
            " FROM grid_version WHERE id = :id" + (" FOR UPDATE" if for_update else "")
        ),
        {"id": version_id},
    ).mappings().first()
    if row is None:
        raise NotFound(f"grid version {version_id} does not exist")
    return dict(row)


def get_version(conn: Connection, version_id: int) -> dict[str, Any]:
    """The version row as a dict (raises :class:`NotFound`)."""
    return _version(conn, version_id)


def active_version(conn: Connection, community_id: int) -> int | None:
    """Id of the community's active version, if any."""
    return conn.execute(
        sa.text("SELECT id FROM grid_version WHERE community_id = :c AND status = 'active'"),
        {"c": community_id},
    ).scalar()


def community_id_for(conn: Connection, ref: str) -> int:
    """Community id from an id or a 12-digit code (CLI/API helper)."""
    if ref.isdigit() and len(ref) == 12:
        cid = conn.execute(sa.text("SELECT id FROM community WHERE code = :c"), {"c": ref}).scalar()
    elif ref.isdigit():
        cid = conn.execute(sa.text("SELECT id FROM community WHERE id = :c"),
                           {"c": int(ref)}).scalar()
    else:
        cid = None
    if cid is None:
        raise NotFound(f"community {ref!r} does not exist")
    return int(cid)


def list_versions(conn: Connection, community_id: int) -> list[dict[str, Any]]:
    """All versions of a community, newest generation first, with grid counts."""
    rows = conn.execute(
        sa.text(
            "SELECT v.id, v.generation, v.status, v.valid_from, v.valid_to, v.based_on_id,"
            " v.note, v.created_by, v.created_at, v.lock_version,"
            " (SELECT count(*) FROM grid_geometry gg WHERE gg.version_id = v.id) AS grids"
            " FROM grid_version v WHERE v.community_id = :c ORDER BY v.generation DESC"
        ),
        {"c": community_id},
    ).mappings().all()
    return [dict(r) for r in rows]


def _next_generation(conn: Connection, community_id: int) -> int:
    return int(conn.execute(
        sa.text("SELECT COALESCE(max(generation), 0) + 1 FROM grid_version WHERE community_id = :c"),
        {"c": community_id},
    ).scalar_one())


def create_draft(
    conn: Connection,
    community_id: int,
    *,
    actor: str,
    based_on: int | None = None,
    note: str | None = None,
    copy: bool = True,
) -> int:
    """Create a draft version, by default a copy of the active version.

    Parameters
    ----------
    based_on:
        Version to copy (default: the active one). Activation later refuses the draft if
        the active version is no longer the one it was based on (:class:`Conflict`).
    copy:
        False for an empty draft (auto-partition fills it).

    Returns
    -------
    int
        The new version id.
    """
    _frame(conn, community_id)
    active = active_version(conn, community_id)
    source = based_on if based_on is not None else active
    if source is not None:
        src = _version(conn, source)
        if src["community_id"] != community_id:
            raise ValidationError(f"version {source} belongs to another community")
    with conn.begin_nested():
        vid = int(conn.execute(
            sa.text(
                "INSERT INTO grid_version (community_id, generation, status, based_on_id, note,"
                " created_by, updated_by, updated_at)"
                " VALUES (:c, :gen, 'draft', :base, :note, :actor, :actor, now()) RETURNING id"
            ),
            {"c": community_id, "gen": _next_generation(conn, community_id), "base": active,
             "note": note, "actor": actor},
        ).scalar_one())
        if copy and source is not None:
            conn.execute(
                sa.text(
                    "INSERT INTO grid_geometry (version_id, grid_id, responsible_party, geom)"
                    " SELECT :v, grid_id, responsible_party, geom FROM grid_geometry"
                    " WHERE version_id = :s"
                ),
                {"v": vid, "s": source},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO grid_member (version_id, unit_type, unit_id, grid_id)"
                    " SELECT :v, unit_type, unit_id, grid_id FROM grid_member WHERE version_id = :s"
                ),
                {"v": vid, "s": source},
            )
            # Plans imported as bare polygons have no unit members: derive them.
            _ensure_cells(conn, community_id)
            _rederive_members(conn, vid, community_id, only_missing=True)
        _audit(conn, actor, "grid.draft", vid, None, {"based_on": active, "copied_from": source})
    return vid


def discard_draft(conn: Connection, version_id: int, *, actor: str) -> None:
    """Delete a draft (active and retired versions are history and cannot be deleted)."""
    v = _version(conn, version_id, for_update=True)
    if v["status"] != "draft":
        raise Conflict(f"version {version_id} is {v['status']}, only drafts can be discarded")
    with conn.begin_nested():
        conn.execute(sa.text("DELETE FROM grid_version WHERE id = :v"), {"v": version_id})
        _audit(conn, actor, "grid.discard", version_id, {"generation": v["generation"]}, None)


def _new_grid(conn: Connection, community_id: int, code: str, name: str | None = None) -> int:
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


def _new_grids(conn: Connection, community_id: int, code: str, n: int) -> list[int]:
    """``n`` provisional grid rows in one statement."""
    rows = conn.execute(sa.text(
        "WITH base AS (SELECT GREATEST(COALESCE(max(grid_seq), 0), :base) AS s FROM grid"
        " WHERE community_id = :c)"
        " INSERT INTO grid (community_id, grid_seq, grid_code, provisional)"
        " SELECT :c, base.s + i, 'P' || :code || '-' || (base.s + i - :base), true"
        " FROM base, generate_series(1, :n) AS i ORDER BY i RETURNING id"),
        {"c": community_id, "base": PROVISIONAL_BASE, "code": code, "n": n}).scalars().all()
    return sorted(int(r) for r in rows)


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


def version_geojson(conn: Connection, version_id: int) -> dict[str, Any]:
    """The grids of a version as a GeoJSON FeatureCollection (WGS84)."""
    _version(conn, version_id)
    stats = {r["grid_id"]: r for r in version_grids(conn, version_id)}
    rows = conn.execute(
        sa.text("SELECT grid_id, ST_AsGeoJSON(geom, 7) FROM grid_geometry WHERE version_id = :v"),
        {"v": version_id},
    ).all()
    feats = []
    for gid, gj in rows:
        props = {k: v for k, v in stats[gid].items()}
        feats.append({"type": "Feature", "id": gid, "properties": props,
                      "geometry": json.loads(gj)})
    feats.sort(key=lambda f: (f["properties"]["provisional"], f["properties"]["grid_seq"]))
    return {"type": "FeatureCollection", "features": feats}


def units_geojson(conn: Connection, version_id: int) -> dict[str, Any]:
    """Unit cells of a version's community with the grid each belongs to (for painting)."""
    v = _version(conn, version_id)
    _ensure_cells(conn, v["community_id"])
    rows = conn.execute(
        sa.text(
            "SELECT c.unit_type, c.unit_id, c.households, c.residents, m.grid_id, b.name,"
            " ST_AsGeoJSON(c.geom, 7) FROM grid_cell c"
            " LEFT JOIN grid_member m ON m.version_id = :v AND m.unit_type = c.unit_type"
            "  AND m.unit_id = c.unit_id"
            " LEFT JOIN building b ON c.unit_type = 'building' AND b.id = c.unit_id"
            " WHERE c.community_id = :c ORDER BY c.unit_type, c.unit_id"
        ),
        {"v": version_id, "c": v["community_id"]},
    ).all()
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": f"{r[0]}:{r[1]}",
         "properties": {"unit_type": r[0], "unit_id": r[1], "households": r[2],
                        "residents": r[3], "grid_id": r[4], "name": r[5]},
         "geometry": json.loads(r[6])}
        for r in rows
    ]}


# --------------------------------------------------------------------------- audit, locking


def _audit(conn: Connection, actor: str | None, action: str, version_id: int,
           before: Any, after: Any) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO audit_log (actor, action, object_type, object_id, before, after)"
            " VALUES (:a, :act, 'grid_version', :oid, CAST(:b AS jsonb), CAST(:af AS jsonb))"
        ),
        {"a": actor, "act": action, "oid": str(version_id),
         "b": json.dumps(before, default=str) if before is not None else None,
         "af": json.dumps(after, default=str) if after is not None else None},
    )


def _bump(conn: Connection, version_id: int, expected: int | None, actor: str) -> int:
    """Check the draft's lock_version and increment it; :class:`Conflict` if stale."""
    v = _version(conn, version_id, for_update=True)
    if v["status"] != "draft":
        raise Conflict(f"version {version_id} is {v['status']}; only drafts can be edited")
    if expected is not None and expected != v["lock_version"]:
        raise Conflict(
            f"the draft was changed by {v['updated_by'] or 'someone else'} at "
            f"{v['updated_at']:%Y-%m-%d %H:%M} (version {v['lock_version']}, you had "
            f"{expected}); reload it and redo your change — nothing was saved"
        )
    return int(conn.execute(
        sa.text("UPDATE grid_version SET lock_version = lock_version + 1, updated_by = :a,"
                " updated_at = now() WHERE id = :v RETURNING lock_version"),
        {"v": version_id, "a": actor},
    ).scalar_one())


_SNAPSHOT = sa.text(
    """
    SELECT jsonb_build_object(
      'grids', COALESCE((
        SELECT jsonb_object_agg(g.id::text, CASE WHEN gg.grid_id IS NULL THEN NULL ELSE
               jsonb_build_object('geom', encode(ST_AsBinary(gg.geom), 'hex'),
                                  'responsible_party', gg.responsible_party) END)
        FROM unnest(CAST(:gids AS int[])) AS g(id)
        LEFT JOIN grid_geometry gg ON gg.version_id = :v AND gg.grid_id = g.id), '{}'::jsonb),
      'members', COALESCE((
        SELECT jsonb_agg(jsonb_build_array(unit_type, unit_id, grid_id))
        FROM grid_member WHERE version_id = :v AND grid_id = ANY(CAST(:gids AS int[]))),
        '[]'::jsonb))
    """
)


def _snapshot(conn: Connection, version_id: int, gids: Sequence[int]) -> dict[str, Any]:
    snap: dict[str, Any] = conn.execute(
        _SNAPSHOT, {"v": version_id, "gids": list(gids)}).scalar_one()
    return snap


def _restore(conn: Connection, version_id: int, snap: dict[str, Any]) -> None:
    gids = [int(k) for k in snap["grids"]]
    p = {"v": version_id, "gids": gids, "snap": json.dumps(snap)}
    conn.execute(sa.text("DELETE FROM grid_member WHERE version_id = :v AND grid_id = ANY(:gids)"),
                 p)
    conn.execute(sa.text(
        "DELETE FROM grid_member WHERE version_id = :v AND (unit_type, unit_id) IN ("
        " SELECT m->>0, (m->>1)::int FROM jsonb_array_elements(CAST(:snap AS jsonb)->'members') m)"
    ), p)
    conn.execute(sa.text(
        "INSERT INTO grid_member (version_id, unit_type, unit_id, grid_id)"
        " SELECT :v, m->>0, (m->>1)::int, (m->>2)::int"
        " FROM jsonb_array_elements(CAST(:snap AS jsonb)->'members') m"
    ), p)
    conn.execute(sa.text("DELETE FROM grid_geometry WHERE version_id = :v AND grid_id = ANY(:gids)"),
                 p)
    conn.execute(sa.text(
        "INSERT INTO grid_geometry (version_id, grid_id, responsible_party, geom)"
        " SELECT :v, key::int, value->>'responsible_party',"
        " ST_SetSRID(ST_GeomFromWKB(decode(value->>'geom', 'hex')), 4326)"
        " FROM jsonb_each(CAST(:snap AS jsonb)->'grids') WHERE value <> 'null'::jsonb"
    ), p)


def _record(
    conn: Connection,
    version_id: int,
    kind: str,
    actor: str,
    expected: int | None,
    gids: Sequence[int],
    params: dict[str, Any],
    mutate: Callable[[], Any],
) -> dict[str, Any]:
    """Run one edit: lock check, before snapshot, ``mutate``, after snapshot, op + audit."""
    with conn.begin_nested():
        lock = _bump(conn, version_id, expected, actor)
        before = _snapshot(conn, version_id, gids)
        result = mutate()
        after = _snapshot(conn, version_id, gids)
        conn.execute(sa.text("DELETE FROM grid_edit_op WHERE version_id = :v AND undone"),
                     {"v": version_id})
        seq = conn.execute(sa.text(
            "INSERT INTO grid_edit_op (version_id, seq, kind, actor, params, before, after)"
            " SELECT :v, COALESCE(max(seq), 0) + 1, :k, :a, CAST(:p AS jsonb),"
            " CAST(:b AS jsonb), CAST(:af AS jsonb) FROM grid_edit_op WHERE version_id = :v"
            " RETURNING seq"
        ), {"v": version_id, "k": kind, "a": actor, "p": json.dumps(params, default=str),
            "b": json.dumps(before), "af": json.dumps(after)}).scalar_one()
        _audit(conn, actor, f"grid.edit.{kind}", version_id, None,
               {"op": seq, "params": params, "grids": list(gids)})
    return {"version_id": version_id, "lock_version": lock, "op": int(seq),
            "grids": list(gids), "result": result}


def undo(conn: Connection, version_id: int, *, actor: str,
         expected_lock_version: int | None = None) -> dict[str, Any]:
    """Undo the last (not undone) edit of a draft."""
    return _undo_redo(conn, version_id, actor, expected_lock_version, redo=False)


def redo(conn: Connection, version_id: int, *, actor: str,
         expected_lock_version: int | None = None) -> dict[str, Any]:
    """Redo the last undone edit of a draft."""
    return _undo_redo(conn, version_id, actor, expected_lock_version, redo=True)


def _undo_redo(conn: Connection, version_id: int, actor: str, expected: int | None,
               *, redo: bool) -> dict[str, Any]:
    with conn.begin_nested():
        lock = _bump(conn, version_id, expected, actor)
        sql = ("SELECT id, seq, kind, before, after FROM grid_edit_op WHERE version_id = :v"  # noqa: S608 - constant SQL fragments, values are bound
               + (" AND undone ORDER BY seq ASC" if redo else " AND NOT undone ORDER BY seq DESC")
               + " LIMIT 1")
        op = conn.execute(sa.text(sql), {"v": version_id}).mappings().first()
        if op is None:
            raise Conflict("nothing to redo" if redo else "nothing to undo")
        _restore(conn, version_id, op["after"] if redo else op["before"])
        conn.execute(sa.text("UPDATE grid_edit_op SET undone = :u WHERE id = :id"),
                     {"u": not redo, "id": op["id"]})
        _audit(conn, actor, "grid.edit.redo" if redo else "grid.edit.undo", version_id, None,
               {"op": op["seq"], "kind": op["kind"]})
    return {"version_id": version_id, "lock_version": lock, "op": op["seq"], "kind": op["kind"]}


def edit_history(conn: Connection, version_id: int) -> list[dict[str, Any]]:
    """The edit stack of a draft (oldest first), without snapshots."""
    rows = conn.execute(sa.text(
        "SELECT seq, kind, actor, at, params, undone FROM grid_edit_op WHERE version_id = :v"
        " ORDER BY seq"), {"v": version_id}).mappings().all()
    return [dict(r) for r in rows]


# --------------------------------------------------------------------------- editing


def _version_grid_ids(conn: Connection, version_id: int) -> list[int]:
    return [int(x) for x in conn.execute(
        sa.text("SELECT grid_id FROM grid_geometry WHERE version_id = :v ORDER BY grid_id"),
        {"v": version_id}).scalars()]


def _check_unlocked(conn: Connection, gids: Sequence[int]) -> None:
    locked = conn.execute(
        sa.text("SELECT grid_code FROM grid WHERE id = ANY(:g) AND locked ORDER BY grid_code"),
        {"g": list(gids)}).scalars().all()
    if locked:
        raise Conflict(f"grid(s) {', '.join(locked)} are locked and must not change")


def _expand_units(conn: Connection, community_id: int,
                  units: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """Estates and street blocks → the unit cells they consist of; unknown units are errors."""
    problems: list[Problem] = []
    out: list[tuple[str, int]] = []
    for i, (kind, uid) in enumerate(units):
        if kind not in ("building", "estate", "block"):
            problems.append(Problem(f"unknown unit type {kind!r}", row=i + 1, field="unit_type"))
            continue
        if kind == "building":
            sql = ("SELECT unit_type, unit_id FROM grid_cell WHERE community_id = :c"
                   " AND unit_type = 'building' AND unit_id = :u")
        elif kind == "block":
            sql = ("SELECT unit_type, unit_id FROM grid_cell WHERE community_id = :c"
                   " AND block_id = :u")
        else:
            sql = ("SELECT c.unit_type, c.unit_id FROM grid_cell c JOIN building b"
                   " ON c.unit_type = 'building' AND b.id = c.unit_id"
                   " WHERE c.community_id = :c AND b.estate_id = :u")
        found = conn.execute(sa.text(sql), {"c": community_id, "u": uid}).all()
        if not found:
            problems.append(Problem(f"{kind} {uid} is not a unit of this community", row=i + 1,
                                    field="unit_id"))
        out.extend((str(a), int(b)) for a, b in found)
    if problems:
        raise ValidationError("cannot move these units", problems)
    return sorted(set(out))


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
    v = _version(conn, version_id)
    cid = v["community_id"]
    _ensure_cells(conn, cid)
    cells = _expand_units(conn, cid, units)
    present = set(_version_grid_ids(conn, version_id))
    with conn.begin_nested():
        if to_grid_id is None:
            fr = _frame(conn, cid)
            to_grid_id = _new_grid(conn, cid, fr.code)
        elif to_grid_id not in present:
            raise NotFound(f"grid {to_grid_id} is not in draft {version_id}")
        p = {"v": version_id, "c": cid, "t": [c[0] for c in cells], "u": [c[1] for c in cells]}
        moved = ("(SELECT ST_Union(c.geom) FROM grid_cell c JOIN unnest(CAST(:t AS text[]),"
                 " CAST(:u AS int[])) AS x(t, u) ON c.unit_type = x.t AND c.unit_id = x.u"
                 " WHERE c.community_id = :c)")
        touched = list(conn.execute(sa.text(
            f"SELECT gg.grid_id FROM grid_geometry gg, {moved} AS m(geom)"  # noqa: S608 - constant SQL fragments, values are bound
            " WHERE gg.version_id = :v AND gg.geom && m.geom"
            " AND ST_Relate(gg.geom, m.geom, '2********')"), p).scalars())
        touched += conn.execute(sa.text(
            "SELECT DISTINCT m.grid_id FROM grid_member m JOIN unnest(CAST(:t AS text[]),"
            " CAST(:u AS int[])) AS x(t, u) ON m.unit_type = x.t AND m.unit_id = x.u"
            " WHERE m.version_id = :v"), p).scalars().all()
        gids = sorted(set(int(g) for g in touched) | {to_grid_id})
        _check_unlocked(conn, gids)
        target = to_grid_id

        def mutate() -> int:
            q = {**p, "to": target, "gids": gids}
            conn.execute(sa.text(
                f"UPDATE grid_geometry gg SET geom = ST_Multi(ST_CollectionExtract("  # noqa: S608 - constant SQL fragments, values are bound
                f" ST_Difference(gg.geom, m.geom), 3)) FROM {moved} AS m(geom)"
                " WHERE gg.version_id = :v AND gg.grid_id = ANY(:gids) AND gg.grid_id <> :to"), q)
            conn.execute(sa.text(
                "INSERT INTO grid_geometry (version_id, grid_id, responsible_party, geom)"  # noqa: S608 - constant SQL fragments, values are bound
                f" SELECT :v, :to, NULL, ST_Multi(m.geom) FROM {moved} AS m(geom)"
                " ON CONFLICT (version_id, grid_id) DO UPDATE SET geom = ST_Multi("
                " ST_CollectionExtract(ST_Union(grid_geometry.geom, EXCLUDED.geom), 3))"), q)
            conn.execute(sa.text(
                "INSERT INTO grid_member (version_id, unit_type, unit_id, grid_id)"
                " SELECT :v, x.t, x.u, :to FROM unnest(CAST(:t AS text[]), CAST(:u AS int[]))"
                " AS x(t, u) WHERE x.t IN ('building', 'block')"
                " ON CONFLICT (version_id, unit_type, unit_id) DO UPDATE SET grid_id = :to"), q)
            _drop_empty(conn, version_id)
            return len(cells)

        out = _record(conn, version_id, "move_units", actor, expected_lock_version, gids,
                      {"units": [list(u) for u in units], "to_grid": target}, mutate)
    out["to_grid_id"] = target
    return out


def _drop_empty(conn: Connection, version_id: int) -> None:
    """Remove grids of a draft that have no area left (and no members)."""
    conn.execute(sa.text(
        "DELETE FROM grid_geometry gg WHERE gg.version_id = :v AND (ST_IsEmpty(gg.geom)"
        " OR ST_Area(gg.geom::geography) < 0.01) AND NOT EXISTS (SELECT 1 FROM grid_member m"
        " WHERE m.version_id = :v AND m.grid_id = gg.grid_id)"), {"v": version_id})


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
    if grid_id not in _version_grid_ids(conn, version_id):
        raise NotFound(f"grid {grid_id} is not in draft {version_id}")

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

    return _record(conn, version_id, "attrs", actor, expected_lock_version, [grid_id],
                   {"grid": grid_id, "name": name, "responsible_party": responsible_party,
                    "locked": locked}, mutate)


def _load_version_geoms(conn: Connection, fr: _Frame, version_id: int
                        ) -> tuple[list[int], list[BaseGeometry]]:
    """Grid ids and metric geometries of a version (repaired if projection broke them)."""
    ids, geoms, _ = _load_version_geoms_checked(conn, fr, version_id)
    return ids, geoms


def _load_version_geoms_checked(conn: Connection, fr: _Frame, version_id: int
                                ) -> tuple[list[int], list[BaseGeometry], list[str | None]]:
    rows = conn.execute(sa.text(
        "SELECT grid_id, ST_AsBinary(geom),"
        " CASE WHEN ST_IsValid(geom) THEN NULL ELSE ST_IsValidReason(geom) END"
        " FROM grid_geometry WHERE version_id = :v ORDER BY grid_id"), {"v": version_id}).all()
    ids = [int(r[0]) for r in rows]
    geoms = list(fr.to_m(shapely.from_wkb([bytes(r[1]) for r in rows]))) if rows else []
    geoms = [g if g.is_valid else partition._polygonal(shapely.make_valid(g)) for g in geoms]
    return ids, geoms, [r[2] for r in rows]


def _snap_reference(conn: Connection, fr: _Frame, version_id: int, poly_ll: BaseGeometry,
                    tol_m: float) -> BaseGeometry:
    """Lines to snap a freehand polygon to: roads, unit-cell edges, grid edges, boundary."""
    p = {"v": version_id, "c": fr.community_id, "wkb": _wkb(poly_ll)}
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


def _sliver(g: BaseGeometry, width_m: float) -> bool:
    return bool(g.length > 0 and 2.0 * g.area / g.length < width_m)


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
    v = _version(conn, version_id)
    cid = v["community_id"]
    _ensure_cells(conn, cid)
    fr = _frame(conn, cid)
    poly_ll = shape(polygon) if isinstance(polygon, dict) else polygon
    if poly_ll.is_empty or poly_ll.geom_type not in ("Polygon", "MultiPolygon"):
        raise ValidationError("the drawn shape must be a polygon")
    poly_ll = shapely.make_valid(poly_ll)
    ids, geoms = _load_version_geoms(conn, fr, version_id)
    if grid_id is not None and grid_id not in ids:
        raise NotFound(f"grid {grid_id} is not in draft {version_id}")
    locked = set(conn.execute(sa.text("SELECT id FROM grid WHERE id = ANY(:g) AND locked"),
                              {"g": ids}).scalars())
    if grid_id in locked:
        raise Conflict(f"grid {grid_id} is locked and must not change")

    comm = fr.to_m(fr.geom)
    poly = shapely.snap(fr.to_m(poly_ll),
                        _snap_reference(conn, fr, version_id, poly_ll, r.snap_tolerance_m),
                        r.snap_tolerance_m)
    poly = partition._polygonal(shapely.make_valid(poly))
    poly = partition._polygonal(poly.intersection(comm))
    locked_geoms = [g for i, g in zip(ids, geoms, strict=True) if i in locked]
    if locked_geoms:
        poly = partition._polygonal(poly.difference(shapely.union_all(locked_geoms)))
    if poly.area < r.min_area_m2:
        raise ValidationError(
            f"the drawn grid has {poly.area:.0f} m² inside the community outside locked grids;"
            f" at least {r.min_area_m2:.0f} m² is needed")

    with conn.begin_nested():
        target = grid_id if grid_id is not None else _new_grid(conn, cid, fr.code)
        new: dict[int, BaseGeometry] = {}
        for i, g in zip(ids, geoms, strict=True):
            if i == target:
                continue
            new[i] = g if i in locked else partition._polygonal(g.difference(poly))
        new[target] = poly
        old_target = geoms[ids.index(target)] if target in ids else None
        _fill_leftovers(new, comm, old_target, target, locked, r)
        gids = sorted(set(ids) | {target})

        def mutate() -> int:
            changed = 0
            for gid, g in new.items():
                if gid in locked:
                    continue
                if g.is_empty or g.area < r.area_tolerance_m2:
                    conn.execute(sa.text("DELETE FROM grid_geometry WHERE version_id = :v"
                                         " AND grid_id = :g"), {"v": version_id, "g": gid})
                    continue
                wkb = _wkb(_multi(shapely.make_valid(fr.to_ll(g))))
                conn.execute(sa.text(
                    "INSERT INTO grid_geometry (version_id, grid_id, geom) VALUES (:v, :g,"
                    " ST_Multi(ST_SetSRID(ST_GeomFromWKB(:wkb), 4326)))"
                    " ON CONFLICT (version_id, grid_id) DO UPDATE SET geom = EXCLUDED.geom"),
                    {"v": version_id, "g": gid, "wkb": wkb})
                changed += 1
            _rederive_members(conn, version_id, cid)
            return changed

        out = _record(conn, version_id, "freehand", actor, expected_lock_version, gids,
                      {"grid": target, "polygon": _geojson(poly_ll)}, mutate)
    out["grid_id"] = target
    return out


def _fill_leftovers(new: dict[int, BaseGeometry], comm: BaseGeometry,
                    old_target: BaseGeometry | None, target: int, locked: set[int],
                    r: GridRules) -> None:
    """Give every uncovered piece and every sliver fragment to the best neighbour (in place)."""
    def best_neighbour(piece: BaseGeometry, exclude: set[int]) -> int | None:
        edge = piece.boundary
        best, best_len = None, 0.0
        for gid, g in new.items():
            if gid in locked or gid in exclude or g.is_empty:
                continue
            shared = edge.intersection(g.buffer(0.01)).length
            if shared > best_len:
                best, best_len = gid, shared
        return best

    # 1. fragments: small/thin parts of a grid split off by the edit join a neighbour.
    for gid in list(new):
        g = new[gid]
        if gid in locked or g.is_empty or gid == target:
            continue
        parts = sorted(shapely.get_parts(g), key=lambda p: -p.area)
        if len(parts) < 2:
            continue
        keep = [parts[0]]
        for part in parts[1:]:
            if _sliver(part, r.sliver_width_m) or part.area < r.min_area_m2:
                to = best_neighbour(part, {gid})
                if to is not None:
                    new[to] = new[to].union(part)
                    continue
            keep.append(part)
        new[gid] = shapely.union_all(keep)
    # 2. uncovered pieces of the community.
    covered = shapely.union_all([g for g in new.values() if not g.is_empty])
    gaps = partition._polygonal(comm.difference(covered))
    for piece in shapely.get_parts(gaps):
        if piece.area <= 0:
            continue
        thin = _sliver(piece, r.sliver_width_m)
        from_old = old_target is not None and piece.intersection(old_target).area > 0.5 * piece.area
        exclude = {target} if from_old and not thin else set()
        to = best_neighbour(piece, exclude)
        if to is None:
            to = best_neighbour(piece, set())
        if to is not None:
            new[to] = partition._polygonal(new[to].union(piece))


def _rederive_members(conn: Connection, version_id: int, community_id: int,
                      *, only_missing: bool = False) -> None:
    """Each unit belongs to the grid that covers its cell's representative point.

    ``only_missing``: add members for units that have none, change nothing else.
    """
    if only_missing:
        conn.execute(sa.text(
            "INSERT INTO grid_member (version_id, unit_type, unit_id, grid_id)"
            " SELECT DISTINCT ON (c.unit_type, c.unit_id) :v, c.unit_type, c.unit_id,"
            " gg.grid_id FROM grid_cell c JOIN grid_geometry gg ON gg.version_id = :v"
            "  AND gg.geom && c.geom AND ST_Covers(gg.geom, ST_PointOnSurface(c.geom))"
            " WHERE c.community_id = :c AND c.unit_type IN ('building', 'block')"
            " ORDER BY c.unit_type, c.unit_id, gg.grid_id"
            " ON CONFLICT (version_id, unit_type, unit_id) DO NOTHING"),
            {"v": version_id, "c": community_id})
        return
    conn.execute(sa.text(
        "INSERT INTO grid_member (version_id, unit_type, unit_id, grid_id)"
        " SELECT DISTINCT ON (c.unit_type, c.unit_id) :v, c.unit_type, c.unit_id, gg.grid_id"
        " FROM grid_cell c JOIN grid_geometry gg ON gg.version_id = :v AND gg.geom && c.geom"
        "  AND ST_Covers(gg.geom, ST_PointOnSurface(c.geom))"
        " WHERE c.community_id = :c AND c.unit_type IN ('building', 'block')"
        " ORDER BY c.unit_type, c.unit_id, gg.grid_id"
        " ON CONFLICT (version_id, unit_type, unit_id) DO UPDATE SET grid_id = EXCLUDED.grid_id"
        " WHERE grid_member.grid_id <> EXCLUDED.grid_id"), {"v": version_id, "c": community_id})


# --------------------------------------------------------------------------- validation


def validate(conn: Connection, version_id: int, rules: GridRules | None = None) -> list[Problem]:
    """Every problem of a version at once (reference/grids.md §2 validation recipe).

    Errors: invalid or too small geometry, a grid outside its community, overlaps, gaps in
    the community, a grid in several pieces, a grid without a responsible party.
    Warnings: households outside [min, max], residents above max, Polsby-Popper
    compactness below ``compactness_min``. Each problem carries the geometry to highlight
    (GeoJSON, WGS84) and ``field`` = the grid code where one grid is concerned.
    """
    r = rules or GridRules()
    v = _version(conn, version_id)
    fr = _frame(conn, v["community_id"])
    info = {g["grid_id"]: g for g in version_grids(conn, version_id)}
    ids, geoms, invalid = _load_version_geoms_checked(conn, fr, version_id)
    comm = fr.to_m(fr.geom)
    problems: list[Problem] = []

    def add(reason: str, code: str | None, geom_m: BaseGeometry | None,
            severity: str = "error") -> None:
        gj = _geojson(fr.to_ll(geom_m)) if geom_m is not None and not geom_m.is_empty else None
        problems.append(Problem(reason, field=code, severity=severity, geometry=gj))

    if not ids:
        add("the version has no grids", None, comm)
        return problems
    garr = np.array(geoms, dtype=object)
    areas = shapely.area(garr)
    perims = shapely.length(garr)
    for k, gid in enumerate(ids):
        g = garr[k]
        meta = info[gid]
        code = meta["grid_code"]
        if invalid[k]:
            add(f"grid {code}: geometry is not valid ({invalid[k]})", code, g)
        if areas[k] < r.min_area_m2:
            add(f"grid {code}: area {areas[k]:.1f} m² is below {r.min_area_m2:.0f} m²", code, g)
        outside = g.difference(comm)
        if outside.area > r.area_tolerance_m2:
            add(f"grid {code}: {outside.area:.1f} m² lies outside the community", code, outside)
        pieces = [p for p in shapely.get_parts(g) if p.area > r.area_tolerance_m2]
        if len(pieces) > 1:
            add(f"grid {code}: in {len(pieces)} separate pieces", code, g)
        if not (meta["responsible_party"] or "").strip():
            add(f"grid {code}: no responsible party (责任主体)", code, g)
        hh = int(meta["households"])
        if hh < r.households_min or hh > r.households_max:
            add(f"grid {code}: {hh} households, outside {r.households_min}–{r.households_max}",
                code, g, "warning")
        if int(meta["residents"]) > r.residents_max:
            add(f"grid {code}: {meta['residents']} residents, above {r.residents_max}",
                code, g, "warning")
        pp = 4 * np.pi * areas[k] / perims[k] ** 2 if perims[k] > 0 else 0.0
        if areas[k] > 0 and pp < r.compactness_min:
            add(f"grid {code}: not compact (Polsby-Popper {pp:.2f} < {r.compactness_min})",
                code, g, "warning")
    tree = shapely.STRtree(garr)
    a, b = tree.query(garr, predicate="intersects")
    overlap_found = False
    for i, j in zip(a.tolist(), b.tolist(), strict=True):
        if i >= j:
            continue
        inter = partition._polygonal(garr[i].intersection(garr[j]))
        if inter.area > r.area_tolerance_m2:
            overlap_found = True
            ci, cj = info[ids[i]]["grid_code"], info[ids[j]]["grid_code"]
            add(f"grids {ci} and {cj} overlap by {inter.area:.1f} m²", f"{ci},{cj}", inter)
    union = shapely.union_all(garr) if overlap_found else partition.safe_union(garr)
    gaps = partition._polygonal(comm.difference(union))
    for piece in shapely.get_parts(gaps):
        if piece.area > r.area_tolerance_m2:
            c = piece.representative_point()
            lon, lat = fr.inv.transform(c.x, c.y)
            add(f"gap of {piece.area:.1f} m² not covered by any grid near ({lon:.6f}, {lat:.6f})",
                None, piece)
    return problems


# --------------------------------------------------------------------------- impact, diff


def _incident_table(conn: Connection) -> bool:
    return conn.execute(sa.text("SELECT to_regclass('incident') IS NOT NULL")).scalar_one()


def _grid_stats(conn: Connection, version_id: int, gids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Households, residents, buildings, facilities and open incidents inside each grid."""
    if not gids:
        return {}
    incidents = "0"
    p: dict[str, Any] = {"v": version_id, "g": list(gids)}
    if _incident_table(conn):
        try:
            from gridmap.incidents.states import OPEN_STATES
            p["open"] = list(OPEN_STATES)
        except ImportError:  # pragma: no cover - incidents not installed
            p["open"] = ["reported", "filed", "dispatched", "handling"]
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


def _changed_grids(conn: Connection, old: int | None, new: int) -> list[int]:
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
    cid = _version(conn, new)["community_id"]
    _ensure_cells(conn, cid)
    rows = conn.execute(sa.text(
        "SELECT a.unit_type, a.unit_id, b.grid_id AS from_grid,"  # noqa: S608 - constant fragments
        " a.grid_id AS to_grid, fg.grid_code AS from_code, tg.grid_code AS to_code,"
        " bl.name, bl.households, bl.residents FROM "
        + _unit_grid_sql(conn, new, cid, ":new") + " a JOIN "
        + _unit_grid_sql(conn, old, cid, ":old") + " b"
        "  ON a.unit_type = b.unit_type AND a.unit_id = b.unit_id"
        " LEFT JOIN grid fg ON fg.id = b.grid_id LEFT JOIN grid tg ON tg.id = a.grid_id"
        " LEFT JOIN building bl ON a.unit_type = 'building' AND bl.id = a.unit_id"
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
    v = _version(conn, version_id)
    old = against if against is not None else v["based_on_id"]
    changed = _changed_grids(conn, old, version_id)
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
    a, b = _version(conn, old_version), _version(conn, new_version)
    if a["community_id"] != b["community_id"]:
        raise ValidationError("the two versions belong to different communities")
    changed = _changed_grids(conn, old_version, new_version)
    ga, gb = set(_version_grid_ids(conn, old_version)), set(_version_grid_ids(conn, new_version))
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


# --------------------------------------------------------------------------- activation


def _assign_codes(conn: Connection, fr: _Frame, version_id: int, previous: int | None,
                  rules: GridRules) -> dict[int, str]:
    """Give provisional grids of ``version_id`` their final identity and code.

    A provisional grid that matches a grid of the previous version (same shape within
    2 % of its area) takes over that grid's identity, so unchanged grids keep their codes
    even after an auto-partition. The others get new sequence numbers above every number
    ever used in the community (a retired number is never reused), in reading order
    west→east, north→south (reference/grids.md §6).
    """
    prov = conn.execute(sa.text(
        "SELECT gg.grid_id, ST_AsBinary(gg.geom) FROM grid_geometry gg JOIN grid g"
        " ON g.id = gg.grid_id WHERE gg.version_id = :v AND g.provisional ORDER BY gg.grid_id"),
        {"v": version_id}).all()
    if not prov:
        return {}
    renamed: dict[int, int] = {}
    if previous is not None:
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
    rest = [(int(g), shapely.from_wkb(bytes(w))) for g, w in prov if int(g) not in renamed]
    top = int(conn.execute(sa.text(
        "SELECT COALESCE(max(grid_seq), 0) FROM grid WHERE community_id = :c AND NOT provisional"),
        {"c": fr.community_id}).scalar_one())
    pts = fr.to_m(shapely.point_on_surface([g for _, g in rest]))
    order = codes.reading_order([(p.x, p.y) for p in pts], rules.band_height_m)
    assigned: dict[int, str] = {}
    for rank, idx in enumerate(order):
        gid = rest[idx][0]
        seq = top + rank + 1
        code = codes.grid_code(fr.code, seq, rules.seq_width)
        conn.execute(sa.text(
            "UPDATE grid SET grid_seq = :s, grid_code = :code, provisional = false,"
            " name = COALESCE(name, :name) WHERE id = :g"),
            {"s": seq, "code": code, "g": gid, "name": f"{fr.name}第{seq}网格"})
        assigned[gid] = code
    return assigned


def activate(
    conn: Connection,
    version_id: int,
    *,
    effective: dt.datetime,
    actor: str,
    expected_lock_version: int | None = None,
    rules: GridRules | None = None,
) -> None:
    """Activate a draft from ``effective`` on, in one savepoint.

    Closes the previous active version (``valid_to = effective``, status retired), gives
    new grids their codes (kept grids keep theirs), copies names and responsible parties
    onto the grids, re-assigns open incidents (``gridmap.locate.reassign_open``) and
    writes the audit log with before/after geometry of every changed grid.

    Raises
    ------
    ValidationError
        If the draft has errors (warnings do not block) or ``effective`` is not after the
        previous version's start.
    Conflict
        If the draft is stale (lock_version) or the active version changed since it was
        drafted.
    """
    r = rules or GridRules()
    if effective.tzinfo is None:
        effective = effective.replace(tzinfo=dt.UTC)
    v = _version(conn, version_id, for_update=True)
    if v["status"] != "draft":
        raise Conflict(f"version {version_id} is {v['status']}; only a draft can be activated")
    if expected_lock_version is not None and expected_lock_version != v["lock_version"]:
        raise Conflict(f"the draft was changed by {v['updated_by']} since you loaded it;"
                       " reload it before activating — nothing was saved")
    cid = v["community_id"]
    fr = _frame(conn, cid)
    prev = conn.execute(sa.text(
        "SELECT id, valid_from FROM grid_version WHERE community_id = :c AND status = 'active'"
        " FOR UPDATE"), {"c": cid}).first()
    prev_id = int(prev[0]) if prev else None
    if prev_id != v["based_on_id"]:
        raise Conflict(
            f"the active plan of this community changed since draft {version_id} was made"
            f" (based on {v['based_on_id']}, active now {prev_id}); start a new draft")
    problems = validate(conn, version_id, r)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ValidationError(f"draft {version_id} cannot be activated", errors)
    if prev is not None and prev[1] is not None and effective <= prev[1]:
        raise ValidationError(
            f"effective date {effective:%Y-%m-%d %H:%M} must be after the start of the current"
            f" plan ({prev[1]:%Y-%m-%d %H:%M})")
    with conn.begin_nested():
        changed = _changed_grids(conn, prev_id, version_id)
        before_geo = _geoms_json(conn, prev_id, changed) if prev_id else {}
        if prev_id is not None:
            conn.execute(sa.text(
                "UPDATE grid_version SET status = 'retired', valid_to = :e WHERE id = :p"),
                {"e": effective, "p": prev_id})
        new_codes = _assign_codes(conn, fr, version_id, prev_id, r)
        conn.execute(sa.text(
            "UPDATE grid g SET responsible_party = gg.responsible_party FROM grid_geometry gg"
            " WHERE gg.version_id = :v AND gg.grid_id = g.id"), {"v": version_id})
        conn.execute(sa.text(
            "UPDATE grid_version SET status = 'active', valid_from = :e, valid_to = NULL,"
            " activated_at = now(), lock_version = lock_version + 1, updated_by = :a,"
            " updated_at = now() WHERE id = :v"), {"e": effective, "a": actor, "v": version_id})
        changed = _changed_grids(conn, prev_id, version_id)
        after_geo = _geoms_json(conn, version_id, changed)
        reassigned = _reassign_open(conn, cid)
        _audit(conn, actor, "grid.activate", version_id,
               {"version": prev_id, "grids": before_geo},
               {"version": version_id, "generation": v["generation"], "effective": effective,
                "new_codes": new_codes, "grids": after_geo, "incidents_reassigned": reassigned,
                "warnings": [p.reason for p in problems if p.severity == "warning"]})


def _reassign_open(conn: Connection, community_id: int) -> int | None:
    try:
        locate = importlib.import_module("gridmap.incidents.relocate")
    except ModuleNotFoundError:
        return None
    fn = getattr(locate, "reassign_open", None)
    if fn is None or not _incident_table(conn):
        return None
    return int(fn(conn, community_id) or 0)


def _geoms_json(conn: Connection, version_id: int | None, gids: Sequence[int]) -> dict[str, Any]:
    if version_id is None or not gids:
        return {}
    rows = conn.execute(sa.text(
        "SELECT g.grid_code, ST_AsGeoJSON(gg.geom, 7) FROM grid_geometry gg JOIN grid g"
        " ON g.id = gg.grid_id WHERE gg.version_id = :v AND gg.grid_id = ANY(:g)"),
        {"v": version_id, "g": list(gids)}).all()
    return {code: json.loads(gj) for code, gj in rows}


def revert(conn: Connection, to_version_id: int, *, effective: dt.datetime, actor: str,
           rules: GridRules | None = None) -> int:
    """Re-activate an earlier version's plan as a new generation (history is kept).

    Returns the id of the new active version (a copy of ``to_version_id``).
    """
    old = _version(conn, to_version_id)
    if old["status"] == "draft":
        raise ValidationError(f"version {to_version_id} is a draft; activate it instead")
    with conn.begin_nested():
        vid = create_draft(conn, old["community_id"], actor=actor, based_on=to_version_id,
                           note=f"revert to generation {old['generation']}")
        activate(conn, vid, effective=effective, actor=actor, rules=rules)
    return vid


def grid_at(conn: Connection, lon: float, lat: float, at: dt.datetime) -> dict[str, Any] | None:
    """The grid (active or retired version valid at ``at``) containing a WGS84 point."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    row = conn.execute(sa.text(
        "SELECT g.id AS grid_id, g.grid_code, g.name, gg.responsible_party, v.id AS version_id,"
        " v.generation, v.community_id, v.valid_from, v.valid_to"
        " FROM grid_version v JOIN grid_geometry gg ON gg.version_id = v.id"
        " JOIN grid g ON g.id = gg.grid_id"
        " WHERE v.status IN ('active', 'retired') AND v.valid_from <= :at"
        " AND (v.valid_to IS NULL OR v.valid_to > :at)"
        " AND gg.geom && ST_SetSRID(ST_MakePoint(:x, :y), 4326)"
        " AND ST_Covers(gg.geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
        " ORDER BY g.grid_seq LIMIT 1"), {"x": lon, "y": lat, "at": at}).mappings().first()
    return dict(row) if row else None


# --------------------------------------------------------------------------- auto-partition


def _load_cells(conn: Connection, fr: _Frame) -> tuple[list[tuple[str, int]], np.ndarray,
                                                     np.ndarray, np.ndarray]:
    _ensure_cells(conn, fr.community_id)
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
        geoms[bad] = [partition._polygonal(shapely.make_valid(g)) for g in geoms[bad]]
    return keys, blocks, hh, geoms


def auto_partition(
    conn: Connection,
    community_id: int,
    *,
    seed: int = 0,
    params: PartitionParams | None = None,
    actor: str = "auto-partition",
) -> int:
    """Create a DRAFT plan for a community from its units; returns the version id.

    Street blocks are kept whole when they hold at most ``households_max`` households
    (grid boundaries then follow road centre lines, reference/grids.md G4); bigger blocks
    are split between buildings. Grids are contiguous, compact and balanced
    (:func:`gridmap.partition.partition_units`); deterministic for a given ``seed``. Each
    grid's responsible party defaults to the community itself (属地兜底, grids.md §5).
    """
    p = params or PartitionParams()
    fr = _frame(conn, community_id)
    with conn.begin_nested():
        keys, blocks, hh, geoms = _load_cells(conn, fr)
        labels = _partition_cells(keys, blocks, hh, geoms, p, seed)
        vid = create_draft(conn, community_id, actor=actor, copy=False,
                           note=f"auto-partition seed={seed}")
        _write_plan(conn, fr, vid, keys, labels, geoms, hh)
        _audit(conn, actor, "grid.autopartition", vid, None,
               {"seed": seed, "grids": int(labels.max()) + 1 if len(labels) else 1})
    return vid


def _partition_cells(keys: list[tuple[str, int]], blocks: np.ndarray, hh: np.ndarray,
                     geoms: np.ndarray, p: PartitionParams, seed: int) -> np.ndarray:
    n = len(keys)
    if n == 0:
        return np.array([], dtype=np.int64)
    labels = _partition_grouped(blocks, hh, geoms, p, seed, whole_blocks=True)
    if partition.plan_score(labels, hh, p)[0] > 0 and n > 1:
        # Whole blocks cannot meet the range: move single buildings across the block
        # edges of the out-of-range grids (few moves from the whole-block plan).
        ei, ej, _ = partition.adjacency(geoms, p.min_shared_edge_m)
        cxy = shapely.get_coordinates(shapely.centroid(geoms))
        ei, ej = partition.connect_components(cxy, ei, ej)
        # Neutral moves that even out two in-range neighbours let the excess travel
        # along a chain of grids towards one with room (a few per grid).
        finer, _ = partition.rebalance_labels(labels, hh, ei, ej, p,
                                              balance_rounds=4 * len(set(labels.tolist())))
        if partition.plan_score(finer, hh, p) < partition.plan_score(labels, hh, p):
            labels = finer
    return labels


def _partition_grouped(blocks: np.ndarray, hh: np.ndarray, geoms: np.ndarray,
                       p: PartitionParams, seed: int, *, whole_blocks: bool) -> np.ndarray:
    n = len(blocks)
    # Group cells: a block within the household maximum is one indivisible unit.
    group = np.empty(n, dtype=np.int64)
    gkeys: dict[tuple[int, int], int] = {}
    block_hh: dict[int, int] = {}
    for i in range(n):
        block_hh[int(blocks[i])] = block_hh.get(int(blocks[i]), 0) + int(hh[i])
    for i in range(n):
        b = int(blocks[i])
        whole = whole_blocks and b and block_hh[b] <= p.households_max
        key = (b, -1) if whole else (b, i)
        group[i] = gkeys.setdefault(key, len(gkeys))
    m = len(gkeys)
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(m + 1))
    ggeoms = np.empty(m, dtype=object)
    gw = np.zeros(m, dtype=np.int64)
    for k in range(m):
        idx = order[bounds[k]:bounds[k + 1]]
        ggeoms[k] = geoms[idx[0]] if len(idx) == 1 else partition.safe_union(geoms[idx])
        gw[k] = hh[idx].sum()
    xy = shapely.get_coordinates(shapely.centroid(ggeoms))
    ei, ej, _ = partition.adjacency(ggeoms, p.min_shared_edge_m)
    ei, ej = partition.connect_components(xy, ei, ej)
    # A unit above the maximum (a tower block) is a grid of its own; size the rest.
    big = gw > p.households_max
    k = int(big.sum()) + partition.choose_k(int(gw[~big].sum()), p)
    glabels = partition.best_partition(gw, xy, ei, ej, k, p, seed)
    return np.asarray(glabels[group], dtype=np.int64)


def _write_plan(conn: Connection, fr: _Frame, version_id: int, keys: list[tuple[str, int]],
                labels: np.ndarray, geoms: np.ndarray, hh: np.ndarray) -> None:
    """Insert grids (union of their cells) and members for a label per cell."""
    comm_m = fr.to_m(fr.geom)
    if len(keys) == 0:
        gid = _new_grid(conn, fr.community_id, fr.code)
        conn.execute(_INSERT_GEOM, {"v": version_id, "g": gid, "rp": fr.name,
                                    "wkb": _wkb(_multi(fr.geom))})
        return
    members: list[dict[str, Any]] = []
    geo_rows: list[dict[str, Any]] = []
    labs = sorted(set(labels.tolist()))
    new_ids = _new_grids(conn, fr.community_id, fr.code, len(labs))
    shapes: dict[int, BaseGeometry] = {}
    for lab, gid in zip(labs, new_ids, strict=True):
        idx = np.flatnonzero(labels == lab)
        g = partition.safe_union(geoms[idx])
        shapes[gid] = partition._polygonal(g.intersection(comm_m)) if not comm_m.contains(g) else g
        members.extend({"v": version_id, "t": keys[i][0], "u": keys[i][1], "g": gid}
                       for i in idx if keys[i][0] in ("building", "block"))
    fragments = _merge_fragments(shapes)
    fragments += _merge_empty(shapes, geoms, hh)
    for gid, g in shapes.items():
        if g.is_empty:
            continue
        geo_rows.append({"v": version_id, "g": gid, "rp": fr.name,
                         "wkb": _wkb(_multi(_valid_ll(fr, np.array([g], dtype=object))[0]))})
    conn.execute(_INSERT_GEOM, geo_rows)
    if members:
        conn.execute(sa.text("INSERT INTO grid_member (version_id, unit_type, unit_id, grid_id)"
                             " VALUES (:v, :t, :u, :g)"), members)
    if fragments:
        _rederive_members(conn, version_id, fr.community_id)
        _drop_empty(conn, version_id)


def _merge_empty(shapes: dict[int, BaseGeometry], cells: np.ndarray, hh: np.ndarray) -> int:
    """Merge grids without households (left after fragments moved) into the neighbour
    sharing the longest edge (in place). Returns the number of grids merged."""
    live = [g for g in shapes if not shapes[g].is_empty]
    if len(live) < 2 or not len(cells):
        return 0
    pts = shapely.point_on_surface(cells)
    ids = np.array(live)
    tree = shapely.STRtree(np.array([shapes[g] for g in live], dtype=object))
    src, dst = tree.query(pts, predicate="intersects")
    totals = dict.fromkeys(live, 0)
    seen: set[int] = set()
    for si, di in zip(src.tolist(), dst.tolist(), strict=True):
        if si not in seen:
            seen.add(si)
            totals[int(ids[di])] += int(hh[si])
    merged = 0
    for gid in sorted(live, key=lambda g: shapes[g].area):
        if totals[gid] > 0 or sum(1 for g in shapes if not shapes[g].is_empty) < 2:
            continue
        edge = shapes[gid].boundary
        best, best_len = None, 0.0
        for other, g in shapes.items():
            if other != gid and not g.is_empty:
                shared = edge.intersection(g.buffer(0.05, quad_segs=1)).length
                if shared > best_len:
                    best, best_len = other, shared
        if best is None:
            continue
        shapes[best] = partition._polygonal(partition.safe_union(
            np.array([shapes[best], shapes[gid]], dtype=object)))
        shapes[gid] = shapely.Polygon()
        merged += 1
    return merged


def _merge_fragments(shapes: dict[int, BaseGeometry], rounds: int = 3) -> int:
    """Give every detached piece of a grid (all but its largest part) to the grid that
    shares the longest edge with it, so each grid is one piece (in place; metric CRS).

    Detached pieces come from unit cells that a concave community boundary cuts in two, or
    from units linked only through a corner. Returns the number of pieces moved.
    """
    moved = 0
    for _ in range(rounds):
        changed = False
        for gid in list(shapes):
            parts = sorted(shapely.get_parts(shapes[gid]), key=lambda q: -q.area)
            if len(parts) < 2:
                continue
            keep = [parts[0]]
            for piece in parts[1:]:
                edge = piece.boundary
                best, best_len = None, 0.0
                for other, g in shapes.items():
                    if other == gid or g.is_empty:
                        continue
                    shared = edge.intersection(g.buffer(0.05, quad_segs=1)).length
                    if shared > best_len:
                        best, best_len = other, shared
                if best is None:
                    keep.append(piece)
                    continue
                shapes[best] = partition._polygonal(partition.safe_union(
                    np.array([shapes[best], piece], dtype=object)))
                moved += 1
                changed = True
            shapes[gid] = shapely.union_all(keep) if len(keep) > 1 else keep[0]
        if not changed:
            break
    return moved


def rebalance(
    conn: Connection,
    version_id: int,
    *,
    actor: str,
    params: PartitionParams | None = None,
    expected_lock_version: int | None = None,
) -> dict[str, Any]:
    """Bring a draft's grids into the household range with few unit moves (one undo step).

    Locked grids neither give nor receive units. Returns the edit result with ``moves``:
    the units moved, as dicts (unit_type, unit_id, from_grid, to_grid).
    """
    p = params or PartitionParams()
    v = _version(conn, version_id)
    fr = _frame(conn, v["community_id"])
    keys, _, hh, geoms = _load_cells(conn, fr)
    member = {(str(t), int(u)): int(g) for t, u, g in conn.execute(sa.text(
        "SELECT unit_type, unit_id, grid_id FROM grid_member WHERE version_id = :v"),
        {"v": version_id})}
    idx = [i for i, k in enumerate(keys) if k in member]
    if not idx:
        raise ValidationError(f"draft {version_id} has no unit-based grids to rebalance")
    sub_keys = [keys[i] for i in idx]
    gids = sorted({member[k] for k in sub_keys})
    lab_of = {g: j for j, g in enumerate(gids)}
    labels = np.array([lab_of[member[k]] for k in sub_keys], dtype=np.int64)
    locked = set(conn.execute(sa.text("SELECT id FROM grid WHERE id = ANY(:g) AND locked"),
                              {"g": gids}).scalars())
    ei, ej, _ = partition.adjacency(geoms[idx], p.min_shared_edge_m)
    new_labels, moves = partition.rebalance_labels(
        labels, hh[idx], ei, ej, p, frozen={lab_of[g] for g in locked})
    moved = [{"unit_type": sub_keys[u][0], "unit_id": sub_keys[u][1],
              "from_grid": gids[a], "to_grid": gids[b]} for u, a, b in moves]
    # Net effect per unit (a unit may move twice).
    final = {sub_keys[i]: gids[int(new_labels[i])] for i in range(len(sub_keys))
             if new_labels[i] != labels[i]}
    touched = sorted({gids[a] for _, a, _ in moves} | {gids[b] for _, _, b in moves})

    def mutate() -> int:
        if final:
            conn.execute(sa.text(
                "UPDATE grid_member SET grid_id = :g WHERE version_id = :v AND unit_type = :t"
                " AND unit_id = :u"),
                [{"v": version_id, "t": k[0], "u": k[1], "g": g} for k, g in final.items()])
            _recompute_from_cells(conn, version_id, fr.community_id, touched)
        return len(final)

    out = _record(conn, version_id, "rebalance", actor, expected_lock_version, touched,
                  {"moves": len(final)}, mutate)
    out["moves"] = moved
    return out


def _recompute_from_cells(conn: Connection, version_id: int, community_id: int,
                          gids: Sequence[int]) -> None:
    conn.execute(sa.text(
        "UPDATE grid_geometry gg SET geom = s.geom FROM ("
        " SELECT m.grid_id, ST_Multi(ST_CollectionExtract(ST_Union(c.geom), 3)) AS geom"
        " FROM grid_member m JOIN grid_cell c ON c.community_id = :c"
        "  AND c.unit_type = m.unit_type AND c.unit_id = m.unit_id"
        " WHERE m.version_id = :v AND m.grid_id = ANY(:g) GROUP BY m.grid_id) s"
        " WHERE gg.version_id = :v AND gg.grid_id = s.grid_id"),
        {"v": version_id, "c": community_id, "g": list(gids)})
    _drop_empty(conn, version_id)
