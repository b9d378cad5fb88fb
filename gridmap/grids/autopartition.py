"""Automatic plans: a draft partition of a community from its unit cells, and rebalancing a
draft's grids into the household range with few unit moves.

The algorithm is :mod:`gridmap.grids.partition` (pure); this module reads the cells, writes
the plan as a draft version and records a rebalance as one undoable edit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError
from gridmap.grids import partition, workload
from gridmap.grids.frame import Frame, load_frame, valid_ll, wkb
from gridmap.grids.geometry import as_multi, merge_empty, merge_fragments, polygonal, safe_union
from gridmap.grids.history import record
from gridmap.grids.partition import PartitionParams
from gridmap.grids.store import (
    INSERT_GEOM,
    audit,
    drop_empty,
    locked_ids,
    new_grid,
    new_grids,
    version_row,
)
from gridmap.grids.units import load_cells, rederive_members
from gridmap.grids.versions import create_draft


def auto_partition(
    conn: Connection,
    community_id: int,
    *,
    seed: int = 0,
    params: PartitionParams | None = None,
    actor: str = "auto-partition",
    second_target: str | None = None,
) -> int:
    """Create a DRAFT plan for a community from its units; returns the version id.

    Street blocks are kept whole when they hold at most ``households_max`` households
    (grid boundaries then follow road centre lines, reference/grids.md G4); bigger blocks
    are split between buildings. Grids are contiguous, compact and balanced
    (:func:`gridmap.partition.partition_units`); deterministic for a given ``seed``. Each
    grid's responsible party defaults to the community itself (属地兜底, grids.md §5).
    ``second_target`` (``cases`` | ``patrol``): then even that workload out too, the
    household range kept (:mod:`gridmap.grids.workload`).
    """
    p = params or PartitionParams()
    fr = load_frame(conn, community_id)
    with conn.begin_nested():
        keys, blocks, hh, geoms = load_cells(conn, fr)
        labels = _partition_cells(keys, blocks, hh, geoms, p, seed)
        if second_target is not None and len(keys) > 1:
            labels, _ = workload.workload_moves(conn, community_id, keys, hh, geoms, labels, p,
                                                second_target)
        vid = create_draft(conn, community_id, actor=actor, copy=False,
                           note=f"auto-partition seed={seed}")
        _write_plan(conn, fr, vid, keys, labels, geoms, hh)
        audit(conn, actor, "grid.autopartition", vid, None,
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
        ggeoms[k] = geoms[idx[0]] if len(idx) == 1 else safe_union(geoms[idx])
        gw[k] = hh[idx].sum()
    xy = shapely.get_coordinates(shapely.centroid(ggeoms))
    ei, ej, _ = partition.adjacency(ggeoms, p.min_shared_edge_m)
    ei, ej = partition.connect_components(xy, ei, ej)
    # A unit above the maximum (a tower block) is a grid of its own; size the rest.
    big = gw > p.households_max
    k = int(big.sum()) + partition.choose_k(int(gw[~big].sum()), p)
    glabels = partition.best_partition(gw, xy, ei, ej, k, p, seed)
    return np.asarray(glabels[group], dtype=np.int64)


def _write_plan(conn: Connection, fr: Frame, version_id: int, keys: list[tuple[str, int]],
                labels: np.ndarray, geoms: np.ndarray, hh: np.ndarray) -> None:
    """Insert grids (union of their cells) and members for a label per cell."""
    comm_m = fr.to_m(fr.geom)
    if len(keys) == 0:
        gid = new_grid(conn, fr.community_id, fr.code)
        conn.execute(INSERT_GEOM, {"v": version_id, "g": gid, "rp": fr.name,
                                    "wkb": wkb(as_multi(fr.geom))})
        return
    members: list[dict[str, Any]] = []
    geo_rows: list[dict[str, Any]] = []
    labs = sorted(set(labels.tolist()))
    new_ids = new_grids(conn, fr.community_id, fr.code, len(labs))
    shapes: dict[int, BaseGeometry] = {}
    for lab, gid in zip(labs, new_ids, strict=True):
        idx = np.flatnonzero(labels == lab)
        g = safe_union(geoms[idx])
        shapes[gid] = polygonal(g.intersection(comm_m)) if not comm_m.contains(g) else g
        members.extend({"v": version_id, "t": keys[i][0], "u": keys[i][1], "g": gid}
                       for i in idx if keys[i][0] in ("building", "block"))
    fragments = merge_fragments(shapes)
    fragments += merge_empty(shapes, geoms, hh)
    for gid, g in shapes.items():
        if g.is_empty:
            continue
        geo_rows.append({"v": version_id, "g": gid, "rp": fr.name,
                         "wkb": wkb(as_multi(valid_ll(fr, np.array([g], dtype=object))[0]))})
    conn.execute(INSERT_GEOM, geo_rows)
    if members:
        conn.execute(sa.text("INSERT INTO grid_member (version_id, unit_type, unit_id, grid_id)"
                             " VALUES (:v, :t, :u, :g)"), members)
    if fragments:
        rederive_members(conn, version_id, fr.community_id)
        drop_empty(conn, version_id)
        _drop_unused_grids(conn, [gid for gid, g in shapes.items() if g.is_empty])


def _drop_unused_grids(conn: Connection, gids: Sequence[int]) -> None:
    """Delete provisional grid rows that a merge left without geometry or members (else
    they would stay behind with their provisional codes)."""
    conn.execute(sa.text(
        "DELETE FROM grid g WHERE g.id = ANY(:g) AND g.provisional"
        " AND NOT EXISTS (SELECT 1 FROM grid_geometry gg WHERE gg.grid_id = g.id)"
        " AND NOT EXISTS (SELECT 1 FROM grid_member m WHERE m.grid_id = g.id)"),
        {"g": list(gids)})


def rebalance(
    conn: Connection,
    version_id: int,
    *,
    actor: str,
    params: PartitionParams | None = None,
    expected_lock_version: int | None = None,
    second_target: str | None = None,
) -> dict[str, Any]:
    """Bring a draft's grids into the household range with few unit moves (one undo step).

    Locked grids neither give nor receive units. Returns the edit result with ``moves``:
    the units moved, as dicts (unit_type, unit_id, from_grid, to_grid). ``second_target``
    (``cases`` | ``patrol``): then even that workload out too, the household range kept.
    """
    p = params or PartitionParams()
    fr = load_frame(conn, version_row(conn, version_id)["community_id"])
    keys, _, hh, geoms = load_cells(conn, fr)
    member = {(str(t), int(u)): int(g) for t, u, g in conn.execute(sa.text(
        "SELECT unit_type, unit_id, grid_id FROM grid_member WHERE version_id = :v"),
        {"v": version_id})}
    idx = [i for i, k in enumerate(keys) if k in member]
    if not idx:
        raise ValidationError("grids.nothing_to_rebalance", params={"version": version_id})
    sub_keys = [keys[i] for i in idx]
    gids = sorted({member[k] for k in sub_keys})
    lab_of = {g: j for j, g in enumerate(gids)}
    labels = np.array([lab_of[member[k]] for k in sub_keys], dtype=np.int64)
    locked = locked_ids(conn, gids)
    ei, ej, _ = partition.adjacency(geoms[idx], p.min_shared_edge_m)
    new_labels, moves = partition.rebalance_labels(
        labels, hh[idx], ei, ej, p, frozen={lab_of[g] for g in locked})
    if second_target is not None:
        new_labels, more = workload.workload_moves(conn, fr.community_id, sub_keys, hh[idx],
                                                   geoms[idx], new_labels, p, second_target,
                                                   frozen={lab_of[g] for g in locked})
        moves = moves + more
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

    out = record(conn, version_id, "rebalance", actor, expected_lock_version, touched,
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
    drop_empty(conn, version_id)
