"""Grids balanced on workload, not only households (#17 §4).

A second target per unit cell — **cases** (cases per month reported in the cell over the last
12 months) or **patrol** (metres of street centre line in or along the cell) — evened out
across the grids of a plan while the household range stays a hard constraint:

- :func:`unit_workload` reads the second weight of every cell (one SQL aggregate);
- :func:`balance_workload` (pure) moves boundary units between neighbouring grids, each
  step the move that lowers Σ (workload − mean)² the most, only if neither grid's
  households leave the range (or get further out of it) and the source grid stays
  contiguous;
- :func:`balance_report` / :func:`plan_balance` report both balances of a plan.

:mod:`gridmap.grids.autopartition` calls :func:`workload_moves` when ``auto_partition`` or
``rebalance`` gets a ``second_target``.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError
from gridmap.grids.frame import load_frame
from gridmap.grids.partition import PartitionParams, adjacency
from gridmap.grids.store import version_row
from gridmap.grids.units import load_cells

TARGETS = ("cases", "patrol")
MONTHS = 12
"""Months of cases behind the ``cases`` target (cases per month = count / 12)."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_SQL = {
    "cases": (
        "SELECT c.unit_type, c.unit_id, count(i.id)::float8 / :months FROM grid_cell c "
        "LEFT JOIN incident i ON i.geom && c.geom AND ST_Intersects(c.geom, i.geom) "
        "AND i.reported_at >= :since AND i.reported_at < :now "
        "WHERE c.community_id = :c GROUP BY 1, 2"),
    "patrol": (  # a street along a shared edge counts for both sides
        "SELECT c.unit_type, c.unit_id, coalesce(sum(ST_Length("
        "ST_Intersection(c.geom, l.geom)::geography)), 0) FROM grid_cell c "
        "LEFT JOIN osm_line l ON l.geom && c.geom AND l.highway IS NOT NULL "
        "AND ST_Intersects(c.geom, l.geom) WHERE c.community_id = :c GROUP BY 1, 2"),
}


def check_target(target: str) -> None:
    """Refuse an unknown second target (``analysis.target``)."""
    if target not in TARGETS:
        raise ValidationError("analysis.target", params={"value": target})


def unit_workload(conn: Connection, community_id: int, keys: Sequence[tuple[str, int]],
                  target: str, *, now: dt.datetime | None = None) -> FloatArray:
    """The second weight of each cell in ``keys`` order (0 for a cell without any).

    Parameters
    ----------
    keys:
        (unit_type, unit_id) of the community's cells (:func:`gridmap.grids.units.load_cells`).
    target:
        ``cases`` (cases per month, last 12 months before ``now``) or ``patrol`` (metres of
        street).
    """
    check_target(target)
    now = now or dt.datetime.now(dt.UTC)
    rows = conn.execute(sa.text(_SQL[target]), {
        "c": community_id, "months": float(MONTHS), "now": now,
        "since": now - dt.timedelta(days=365)}).all()
    found = {(str(t), int(u)): float(v) for t, u, v in rows}
    return np.array([found.get((str(t), int(u)), 0.0) for t, u in keys], dtype=float)


def _neighbours(n: int, ei: IntArray, ej: IntArray) -> list[set[int]]:
    nb: list[set[int]] = [set() for _ in range(n)]
    for a, b in zip(ei.tolist(), ej.tolist(), strict=True):
        if a != b:
            nb[a].add(b)
            nb[b].add(a)
    return nb


def _connected_without(members: set[int], removed: int, nb: list[set[int]]) -> bool:
    return _connected(members - {removed}, nb)


def _penalty(s: FloatArray, lo: float, hi: float) -> FloatArray:
    return np.maximum(0.0, lo - s) + np.maximum(0.0, s - hi)


def _best_move(labels: IntArray, hh: FloatArray, work: FloatArray, ei: IntArray,
               ej: IntArray, hsum: FloatArray, wsum: FloatArray, mean: float,
               lo: float, hi: float, frozen: set[int]) -> npt.NDArray[np.int64]:
    """Candidate moves (unit, from, to) as rows, best workload gain first (gain > 0 and the
    household penalty not worse), one vectorised pass over the edges (both directions)."""
    u = np.concatenate([ei, ej])
    v = np.concatenate([ej, ei])
    a, b = labels[u], labels[v]
    ok = (a != b) & ~np.isin(a, list(frozen)) & ~np.isin(b, list(frozen))
    u, a, b = u[ok], a[ok], b[ok]
    h, w = hh[u], work[u]
    pen_before = _penalty(hsum[a], lo, hi) + _penalty(hsum[b], lo, hi)
    pen_after = _penalty(hsum[a] - h, lo, hi) + _penalty(hsum[b] + h, lo, hi)
    gain = ((wsum[a] - mean) ** 2 + (wsum[b] - mean) ** 2
            - (wsum[a] - w - mean) ** 2 - (wsum[b] + w - mean) ** 2)
    keep = (gain > 1e-9) & (pen_after <= pen_before + 1e-9)
    order = np.argsort(-gain[keep], kind="stable")
    return np.stack([u[keep][order], a[keep][order], b[keep][order]], axis=1)


def balance_workload(labels: npt.ArrayLike, households: npt.ArrayLike,
                     work: npt.ArrayLike, ei: npt.ArrayLike, ej: npt.ArrayLike,
                     params: PartitionParams | None = None, *,
                     frozen: set[int] | None = None, max_moves: int = 500
                     ) -> tuple[IntArray, list[tuple[int, int, int]]]:
    """Even out the second target across regions, households range kept (pure).

    Parameters
    ----------
    labels:
        Region per unit (a plan, e.g. from :func:`gridmap.grids.partition.best_partition`).
    households, work:
        Households and second weight per unit.
    ei, ej:
        Unit adjacency pairs (:func:`gridmap.grids.partition.adjacency`).
    params:
        The household range (``households_min``/``households_max``): never left, and a
        region already outside it never gets further out.
    frozen:
        Regions that neither give nor take units (locked grids).

    Returns
    -------
    tuple
        New labels and the moves made as (unit, from region, to region).
    """
    p = params or PartitionParams()
    lab = np.asarray(labels, dtype=np.int64).copy()
    hh = np.asarray(households, dtype=float)
    w = np.asarray(work, dtype=float)
    e_i, e_j = np.asarray(ei, dtype=np.int64), np.asarray(ej, dtype=np.int64)
    if len(lab) == 0:
        return lab, []
    k = int(lab.max()) + 1
    hsum = np.bincount(lab, weights=hh, minlength=k).astype(float)
    wsum = np.bincount(lab, weights=w, minlength=k).astype(float)
    mean = float(w.sum()) / len(np.unique(lab))
    nb = _neighbours(len(lab), e_i, e_j)
    members: dict[int, set[int]] = {}
    for u, r in enumerate(lab.tolist()):
        members.setdefault(r, set()).add(u)
    moves: list[tuple[int, int, int]] = []
    lo, hi = float(p.households_min), float(p.households_max)
    while len(moves) < max_moves:
        cands = _best_move(lab, hh, w, e_i, e_j, hsum, wsum, mean, lo, hi, frozen or set())
        pick = [(int(u), int(a), int(b)) for u, a, b in cands[:200]
                if _connected_without(members[int(a)], int(u), nb)][:1]
        if not pick:  # no single move helps within the range: exchange two units
            pick = _best_swap(lab, hh, w, e_i, e_j, hsum, wsum, mean, lo, hi, frozen or set(),
                              members, nb)
        if not pick:
            break
        for u, a, b in pick:
            lab[u] = b
            members[a].discard(u)
            members[b].add(u)
            hsum[a] -= hh[u]
            hsum[b] += hh[u]
            wsum[a] -= w[u]
            wsum[b] += w[u]
        moves.extend(pick)
    return lab, moves


def _connected(nodes: set[int], nb: list[set[int]]) -> bool:
    if not nodes:
        return False
    start = next(iter(nodes))
    seen, queue = {start}, deque([start])
    while queue:
        for v in nb[queue.popleft()] & nodes:
            if v not in seen:
                seen.add(v)
                queue.append(v)
    return len(seen) == len(nodes)


def _best_swap(lab: IntArray, hh: FloatArray, w: FloatArray, ei: IntArray, ej: IntArray,
               hsum: FloatArray, wsum: FloatArray, mean: float, lo: float, hi: float,
               frozen: set[int], members: dict[int, set[int]], nb: list[set[int]]
               ) -> list[tuple[int, int, int]]:
    """The best exchange of a unit of region a (next to b) with one of b (next to a):
    households nearly unchanged, workload evened; both regions stay contiguous."""
    best: tuple[float, int, int, int, int] | None = None
    cross = lab[ei] != lab[ej]
    pairs = {(int(min(lab[i], lab[j])), int(max(lab[i], lab[j])))
             for i, j in zip(ei[cross], ej[cross], strict=True)}
    for a, b in sorted(pairs):
        if a in frozen or b in frozen:
            continue
        ua = [u for u in members[a] if any(lab[v] == b for v in nb[u])]
        ub = [v for v in members[b] if any(lab[x] == a for x in nb[v])]
        for u in ua:
            for v in ub:
                d_w, d_h = w[u] - w[v], hh[u] - hh[v]
                pen = (_penalty(np.array([hsum[a] - d_h, hsum[b] + d_h]), lo, hi).sum()
                       - _penalty(np.array([hsum[a], hsum[b]]), lo, hi).sum())
                gain = ((wsum[a] - mean) ** 2 + (wsum[b] - mean) ** 2
                        - (wsum[a] - d_w - mean) ** 2 - (wsum[b] + d_w - mean) ** 2)
                if gain > 1e-9 and pen <= 1e-9 and (best is None or gain > best[0]):
                    if (_connected((members[a] - {u}) | {v}, nb)
                            and _connected((members[b] - {v}) | {u}, nb)):
                        best = (float(gain), u, v, a, b)
    if best is None:
        return []
    _, u, v, a, b = best
    return [(u, a, b), (v, b, a)]


def balance_report(labels: npt.ArrayLike, households: npt.ArrayLike, work: npt.ArrayLike,
                   params: PartitionParams, target: str) -> dict[str, Any]:
    """Both balances of a plan: households (range, spread) and the second target.

    Returns
    -------
    dict
        ``grids``; ``households``: min, max, mean, spread, ``out_of_range`` (grids);
        ``workload``: target, min, max, mean, ``cv`` (coefficient of variation),
        ``max_over_mean``.
    """
    lab = np.asarray(labels, dtype=np.int64)
    _, inv = np.unique(lab, return_inverse=True)
    hs = np.bincount(inv, weights=np.asarray(households, dtype=float))
    ws = np.bincount(inv, weights=np.asarray(work, dtype=float))
    out = int(((hs < params.households_min) | (hs > params.households_max)).sum())
    wmean = float(ws.mean()) if len(ws) else 0.0
    return {
        "grids": int(len(hs)),
        "households": {"min": float(hs.min()), "max": float(hs.max()),
                       "mean": round(float(hs.mean()), 1),
                       "spread": float(hs.max() - hs.min()), "out_of_range": out,
                       "range": [params.households_min, params.households_max]},
        "workload": {"target": target, "min": round(float(ws.min()), 2),
                     "max": round(float(ws.max()), 2), "mean": round(wmean, 2),
                     "cv": round(float(ws.std() / wmean), 3) if wmean else 0.0,
                     "max_over_mean": round(float(ws.max() / wmean), 3) if wmean else 0.0},
    }


def workload_moves(conn: Connection, community_id: int, keys: Sequence[tuple[str, int]],
                   households: npt.ArrayLike, geoms: npt.NDArray[np.object_],
                   labels: npt.ArrayLike, params: PartitionParams, target: str, *,
                   frozen: set[int] | None = None, now: dt.datetime | None = None
                   ) -> tuple[IntArray, list[tuple[int, int, int]]]:
    """:func:`balance_workload` of a community's cells: reads the second weight, builds the
    cells' adjacency (metric geometries) and evens the plan ``labels`` out."""
    work = unit_workload(conn, community_id, keys, target, now=now)
    ei, ej, _ = adjacency(geoms, params.min_shared_edge_m)
    return balance_workload(labels, households, work, ei, ej, params, frozen=frozen)


def plan_balance(conn: Connection, version_id: int, target: str,
                 params: PartitionParams | None = None, *, now: dt.datetime | None = None
                 ) -> dict[str, Any]:
    """Both balances of a plan (version) from its unit members: :func:`balance_report` plus
    ``per_grid`` (grid_id, grid_code, households, workload)."""
    check_target(target)
    p = params or PartitionParams()
    fr = load_frame(conn, version_row(conn, version_id)["community_id"])
    keys, _, hh, _ = load_cells(conn, fr)
    member = {(str(t), int(u)): (int(g), str(c)) for t, u, g, c in conn.execute(sa.text(
        "SELECT m.unit_type, m.unit_id, m.grid_id, g.grid_code FROM grid_member m "
        "JOIN grid g ON g.id = m.grid_id WHERE m.version_id = :v"), {"v": version_id})}
    idx = [i for i, k in enumerate(keys) if k in member]
    if not idx:
        raise ValidationError("grids.nothing_to_rebalance", params={"version": version_id})
    work = unit_workload(conn, fr.community_id, [keys[i] for i in idx], target, now=now)
    gids = np.array([member[keys[i]][0] for i in idx], dtype=np.int64)
    codes = {member[keys[i]][0]: member[keys[i]][1] for i in idx}
    out = balance_report(gids, hh[idx], work, p, target)
    ids, inv = np.unique(gids, return_inverse=True)
    hs = np.bincount(inv, weights=hh[idx].astype(float))
    ws = np.bincount(inv, weights=work)
    out["per_grid"] = [{"grid_id": int(g), "grid_code": codes[int(g)],
                        "households": int(hs[j]), "workload": round(float(ws[j]), 2)}
                       for j, g in enumerate(ids)]
    return out
