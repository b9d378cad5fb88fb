"""Edit history of drafts: optimistic locking, before/after snapshots, undo/redo.

Every edit of a draft runs through :func:`record`: it checks and bumps the draft's
``lock_version`` (a stale value raises :class:`Conflict` and nothing is written), snapshots
the grids it touches before and after, and appends the operation to ``grid_edit_op``
(undo/redo) and ``audit_log``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import Conflict
from gridmap.grids.store import audit, version_row


def bump(conn: Connection, version_id: int, expected: int | None, actor: str) -> int:
    """Check the draft's lock_version and increment it; :class:`Conflict` if stale."""
    v = version_row(conn, version_id, for_update=True)
    if v["status"] != "draft":
        raise Conflict("grids.edit_not_draft", {"version": version_id, "status": v["status"]})
    if expected is not None and expected != v["lock_version"]:
        params = {"at": v["updated_at"], "lock": v["lock_version"], "expected": expected}
        if v["updated_by"]:
            raise Conflict("grids.stale_draft", {"who": v["updated_by"], **params})
        raise Conflict("grids.stale_draft_anonymous", params)
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


def record(
    conn: Connection,
    version_id: int,
    kind: str,
    actor: str,
    expected: int | None,
    gids: Sequence[int],
    params: dict[str, Any],
    mutate: Callable[[], Any],
) -> dict[str, Any]:
    """Run one edit: lock check, before snapshot, ``mutate``, after snapshot, op + audit.

    Returns
    -------
    dict
        ``version_id``, new ``lock_version``, ``op`` (undo stack position), ``grids``
        (the grids snapshotted) and ``result`` (what ``mutate`` returned).
    """
    with conn.begin_nested():
        lock = bump(conn, version_id, expected, actor)
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
        audit(conn, actor, f"grid.edit.{kind}", version_id, None,
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
        lock = bump(conn, version_id, expected, actor)
        sql = ("SELECT id, seq, kind, before, after FROM grid_edit_op WHERE version_id = :v"  # noqa: S608 - constant SQL fragments, values are bound
               + (" AND undone ORDER BY seq ASC" if redo else " AND NOT undone ORDER BY seq DESC")
               + " LIMIT 1")
        op = conn.execute(sa.text(sql), {"v": version_id}).mappings().first()
        if op is None:
            raise Conflict("grids.nothing_to_redo" if redo else "grids.nothing_to_undo")
        _restore(conn, version_id, op["after"] if redo else op["before"])
        conn.execute(sa.text("UPDATE grid_edit_op SET undone = :u WHERE id = :id"),
                     {"u": not redo, "id": op["id"]})
        audit(conn, actor, "grid.edit.redo" if redo else "grid.edit.undo", version_id, None,
              {"op": op["seq"], "kind": op["kind"]})
    return {"version_id": version_id, "lock_version": lock, "op": op["seq"], "kind": op["kind"]}


def edit_history(conn: Connection, version_id: int) -> list[dict[str, Any]]:
    """The edit stack of a draft (oldest first), without snapshots."""
    rows = conn.execute(sa.text(
        "SELECT seq, kind, actor, at, params, undone FROM grid_edit_op WHERE version_id = :v"
        " ORDER BY seq"), {"v": version_id}).mappings().all()
    return [dict(r) for r in rows]
