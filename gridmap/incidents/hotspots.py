"""Aggregates for heatmaps (per grid or per H3 cell) and hotspots by Getis-Ord Gi*.

Hotspots are the units whose Gi* z-score is at least ``z_threshold`` (default 1.96, one-sided
p ≈ 0.025): a unit is hot when it *and its neighbours* have significantly more cases than the
study area's mean, which is not the same as the top N by count. Neighbours: grids whose active
geometries touch (share an edge or a vertex), or the H3 ring k = 1 of a cell. Weights are
binary and include the unit itself (the "star" in Gi*).

Gi*ᵢ = (Σⱼ wᵢⱼ xⱼ − x̄ Wᵢ) / (S √((n Σⱼ wᵢⱼ² − Wᵢ²) / (n − 1))), with Wᵢ = Σⱼ wᵢⱼ,
x̄ and S the mean and standard deviation of all n units (Getis & Ord 1992; Ord & Getis 1995).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import h3
import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from scipy import sparse
from scipy.stats import norm
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError
from gridmap.incidents.query import filter_sql


@dataclass(frozen=True)
class HotspotParams:
    """Significance threshold and H3 resolution of the hotspot analysis."""

    z_threshold: float = 1.96
    h3_resolution: int = 9


def resolution_for_zoom(zoom: int) -> int:
    """H3 resolution for a web-map zoom: cells of roughly 20–60 screen pixels."""
    table = {10: 6, 11: 7, 12: 7, 13: 8, 14: 9, 15: 9, 16: 10, 17: 11}
    if zoom < 10:
        return 5
    return table.get(zoom, 12)


def gi_star(values: npt.ArrayLike, adjacency: sparse.spmatrix | npt.NDArray[Any]
            ) -> npt.NDArray[np.float64]:
    """Getis-Ord Gi* z-scores with binary weights (self included).

    Parameters
    ----------
    values:
        Count per unit (length n).
    adjacency:
        n × n symmetric 0/1 matrix of neighbours (diagonal ignored; self is added).

    Returns
    -------
    numpy.ndarray
        z-score per unit (0 where the values do not vary).
    """
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n < 3:
        return np.zeros(n)
    w = sparse.csr_matrix(adjacency, dtype=float)
    w = w - sparse.diags(w.diagonal()) + sparse.identity(n, format="csr")
    w.data[:] = 1.0
    mean = x.mean()
    s = np.sqrt(max((x ** 2).mean() - mean ** 2, 0.0))
    if s == 0:
        return np.zeros(n)
    wi = np.asarray(w.sum(axis=1)).ravel()
    s1 = wi  # binary weights: Σ w² = Σ w
    num = w @ x - mean * wi
    den = s * np.sqrt(np.maximum(n * s1 - wi ** 2, 0) / (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(den > 0, num / den, 0.0)
    return np.asarray(z, dtype=float)


# --------------------------------------------------------------------------------------
# aggregates
# --------------------------------------------------------------------------------------

def _cells(conn: Connection, where: str, params: Mapping[str, Any], res: int
           ) -> dict[str, int]:
    """Counts per H3 cell: SQL pre-aggregates on a ~10 m lattice, then h3 per lattice point."""
    rows = conn.execute(sa.text(
        "SELECT round(ST_X(i.geom)::numeric, 4)::float8, round(ST_Y(i.geom)::numeric, 4)::float8,"  # noqa: S608
        f" count(*) FROM incident i WHERE {where} GROUP BY 1, 2"), params).all()  # noqa: S608
    out: dict[str, int] = {}
    for lon, lat, c in rows:
        cell = h3.latlng_to_cell(lat, lon, res)
        out[cell] = out.get(cell, 0) + int(c)
    return out


def heat_counts(conn: Connection, *, bbox: Sequence[float], zoom: int,
                filters: Mapping[str, Any] | None = None, by: str = "h3",
                point_threshold: int = 20_000) -> dict[str, Any]:
    """Counts for a heatmap in ``bbox``: raw points when few, else per H3 cell or per grid.

    Parameters
    ----------
    bbox:
        (lon0, lat0, lon1, lat1) WGS84.
    zoom:
        Web-map zoom; picks the H3 resolution (:func:`resolution_for_zoom`).
    filters:
        Incident filters of :func:`gridmap.incidents.filter_sql` (time window, categories,
        statuses, urgencies, sources, scope).
    by:
        ``h3`` (cells) or ``grid`` (per grid id).
    point_threshold:
        At or below this many matching incidents, points are returned instead of cells.

    Returns
    -------
    dict
        ``mode`` (points | h3 | grid), ``total``, ``max``; ``points`` as [lon, lat] or
        ``cells`` as {h3|grid_id, count, lon, lat, intensity (count / max)}.
    """
    if by not in ("h3", "grid"):
        raise ValidationError("incidents.heat_by")
    where, params = filter_sql({**(filters or {}), "bbox": tuple(bbox)})
    total = int(conn.execute(sa.text(f"SELECT count(*) FROM incident i WHERE {where}"),  # noqa: S608
                             params).scalar_one())
    if total <= point_threshold:
        pts = conn.execute(sa.text(f"SELECT ST_X(i.geom), ST_Y(i.geom) FROM incident i "  # noqa: S608
                                   f"WHERE {where}"), params).all()
        return {"mode": "points", "total": total, "max": 1,
                "points": [[round(x, 6), round(y, 6)] for x, y in pts]}
    if by == "grid":
        rows = conn.execute(sa.text(
            "SELECT i.grid_id, count(*), ST_X(ST_Centroid(ST_Collect(i.geom))), "  # noqa: S608
            f"ST_Y(ST_Centroid(ST_Collect(i.geom))) FROM incident i WHERE {where} "
            "AND i.grid_id IS NOT NULL GROUP BY 1"), params).all()
        mx = max((r[1] for r in rows), default=1)
        return {"mode": "grid", "total": total, "max": mx, "cells": [
            {"grid_id": g, "count": c, "lon": x, "lat": y, "intensity": c / mx}
            for g, c, x, y in rows]}
    res = resolution_for_zoom(zoom)
    counts = _cells(conn, where, params, res)
    mx = max(counts.values(), default=1)
    cells = []
    for cell, c in counts.items():
        lat, lon = h3.cell_to_latlng(cell)
        cells.append({"h3": cell, "count": c, "lon": lon, "lat": lat, "intensity": c / mx})
    return {"mode": "h3", "resolution": res, "total": total, "max": mx, "cells": cells}


def _grid_scope_sql(filters: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Condition on ``gv`` (grid_version) limiting grids to the filters' scope.

    ``community_ids`` and ``street_ids`` as in :func:`gridmap.incidents.filter_sql`
    (either one admits a grid); no scope key: every active grid.
    """
    parts, p = [], {}
    if filters.get("community_ids") is not None:
        parts.append("gv.community_id = ANY(:g_comms)")
        p["g_comms"] = list(filters["community_ids"])
    if filters.get("street_ids") is not None:
        parts.append("gv.community_id IN (SELECT id FROM community WHERE street_id = ANY(:g_streets))")
        p["g_streets"] = list(filters["street_ids"])
    return ("(" + " OR ".join(parts) + ")" if parts else "true"), p


def hotspots(conn: Connection, level: str, filters: Mapping[str, Any] | None = None,
             params: HotspotParams | None = None) -> dict[str, Any]:
    """Significantly high grids or H3 cells (Getis-Ord Gi*), not just the top N.

    Parameters
    ----------
    level:
        ``grid`` (active grids, neighbours = touching grids; grids without cases count as 0)
        or ``h3`` (cells with cases and their k = 1 rings as zeros).
    filters:
        Incident filters of :func:`gridmap.incidents.filter_sql`.

    Returns
    -------
    dict
        ``level``, ``z_threshold``, ``n_units``, ``items`` (hot units, highest z first: id,
        code for grids, count, z, p).
    """
    params = params or HotspotParams()
    where, fp = filter_sql(filters or {})
    if level == "grid":
        # the study area is the caller's scope: grids of other streets are neither units
        # nor neighbours, so the hotspots counted are the ones a scoped map can draw
        gscope, sp = _grid_scope_sql(filters or {})
        units = conn.execute(sa.text(
            "SELECT gg.grid_id, g.grid_code FROM grid_geometry gg "  # noqa: S608
            "JOIN grid_version gv ON gv.id = gg.version_id JOIN grid g ON g.id = gg.grid_id "
            f"WHERE gv.status = 'active' AND {gscope} ORDER BY gg.grid_id"), sp).all()
        ids = [u[0] for u in units]
        codes = {u[0]: u[1] for u in units}
        pos = {g: i for i, g in enumerate(ids)}
        pairs = conn.execute(sa.text(
            "WITH a AS (SELECT gg.grid_id, gg.geom FROM grid_geometry gg JOIN grid_version gv "  # noqa: S608
            f"ON gv.id = gg.version_id WHERE gv.status = 'active' AND {gscope}) "
            "SELECT a.grid_id, b.grid_id FROM a JOIN a b ON a.grid_id < b.grid_id "
            "AND ST_Intersects(a.geom, b.geom)"), sp).all()
        counts: dict[int, int] = {int(a): int(b) for a, b in conn.execute(sa.text(
            f"SELECT i.grid_id, count(*) FROM incident i WHERE {where} "  # noqa: S608
            "AND i.grid_id IS NOT NULL GROUP BY 1"), fp).all()}
        x = np.array([counts.get(g, 0) for g in ids], dtype=float)
        r = [pos[a] for a, b in pairs if a in pos and b in pos]
        c = [pos[b] for a, b in pairs if a in pos and b in pos]
    elif level == "h3":
        cc = _cells(conn, where, fp, params.h3_resolution)
        domain = set(cc)
        for cell in list(cc):
            domain.update(h3.grid_disk(cell, 1))
        ids = sorted(domain)
        codes = {}
        pos = {g: i for i, g in enumerate(ids)}
        x = np.array([cc.get(g, 0) for g in ids], dtype=float)
        r, c = [], []
        for cell in ids:
            for nb in h3.grid_disk(cell, 1):
                if nb != cell and nb in pos:
                    r.append(pos[cell])
                    c.append(pos[nb])
    else:
        raise ValidationError("incidents.hotspot_level")
    n = len(ids)
    adj = sparse.coo_matrix((np.ones(len(r)), (r, c)), shape=(n, n)).tocsr()
    adj = ((adj + adj.T) > 0).astype(float)
    z = gi_star(x, adj)
    p = norm.sf(z)
    hot = np.flatnonzero(z >= params.z_threshold)
    hot = hot[np.argsort(-z[hot])]
    items = [{"id": ids[i], "code": codes.get(ids[i]) if level == "grid" else ids[i],
              "count": int(x[i]), "z": round(float(z[i]), 3), "p": float(p[i])} for i in hot]
    return {"level": level, "z_threshold": params.z_threshold, "n_units": n, "items": items}
