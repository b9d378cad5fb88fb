"""Geolocation of incidents: street, community, estate, building and the grid of the grid
version active at the report time, in one set-based pass.

Entry points (re-assignment after a redraw and supervisors' confirmations are in
:mod:`gridmap.incidents.relocate`):

- :func:`assign_points` (bulk): :func:`load_locator` reads the polygons of the five levels
  overlapping the points' extent once and builds their STRtrees; :meth:`Locator.assign`
  then runs vectorised shapely 2 queries (the engine of geopandas ``sjoin``) over all points
  without touching the database, so a bulk import can locate chunk *k + 1* while chunk *k* is
  being COPYed. Measured against an SQL ``INSERT … SELECT`` with ``LATERAL`` index lookups in
  ``benchmarks/bench_incidents.py``; see docs/incidents.md for the figures.
- :func:`locate_point` (one point, for ``/api/locate``): one SQL statement with GiST index
  lookups per level.

Rules (issue #4): a point inside a grid takes that grid's community (a grid version belongs to
one community) and the community's street; points outside every grid are tested against the
community and street polygons. A point on an edge or a shared vertex belongs to every polygon
touching it; the lowest id wins (deterministic) and the point is flagged ``near_boundary``.
Points within ``near_boundary_m`` of their grid's boundary are flagged too. Points in no grid
get the nearest grid of a version valid at the report time and its distance (``located_by =
'nearest_grid'``); their community and street are the containing ones, else those of that
grid (属地兜底). Points are never dropped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import crs
from gridmap.config import Settings

if TYPE_CHECKING:
    from pyproj import Transformer

LEVELS = ("street", "community", "estate", "building")


@dataclass(frozen=True)
class LocateParams:
    """Parameters of the assignment (defaults from :class:`gridmap.config.Settings`)."""

    near_boundary_m: float = Settings.near_boundary_m


# --- bulk assignment ------------------------------------------------------------------

def _load_level(conn: Connection, table: str, bbox: tuple[float, float, float, float]
                ) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
    # table names come from the fixed LEVELS tuple, never from input
    rows = conn.execute(
        sa.text(f"SELECT id, ST_AsBinary(geom) FROM {table} "  # noqa: S608
                "WHERE geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326) ORDER BY id"),
        dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=True)),
    ).all()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    geoms = shapely.from_wkb([bytes(r[1]) for r in rows]) if rows else np.array([], dtype=object)
    return ids, geoms


def _first_match(pairs: npt.NDArray[np.int64], ids: npt.NDArray[np.int64], n: int
                 ) -> npt.NDArray[np.int64]:
    """For each point, the lowest id among matched polygons, or -1."""
    out = np.full(n, -1, dtype=np.int64)
    if pairs.shape[1] == 0:
        return out
    pid, gid = pairs[0], ids[pairs[1]]
    order = np.lexsort((gid, pid))
    pid, gid = pid[order], gid[order]
    first = np.r_[True, pid[1:] != pid[:-1]]
    out[pid[first]] = gid[first]
    return out


def _multi_match(pairs: npt.NDArray[np.int64], n: int) -> npt.NDArray[np.bool_]:
    counts = np.bincount(pairs[0], minlength=n) if pairs.shape[1] else np.zeros(n, dtype=np.int64)
    return np.asarray(counts > 1)


def points_bbox(lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64],
                pad: float = 0.02) -> tuple[float, float, float, float]:
    """The points' extent padded by ``pad`` degrees (the polygons a :class:`Locator` loads)."""
    return (float(np.nanmin(lon)) - pad, float(np.nanmin(lat)) - pad,
            float(np.nanmax(lon)) + pad, float(np.nanmax(lat)) + pad)


@dataclass
class Locator:
    """The polygons of the five levels inside a bounding box, loaded once with their STRtrees.

    :meth:`assign` is pure (no database access), so a bulk import can locate one chunk of
    points while the previous chunk is being COPYed on the same connection.
    """

    levels: dict[str, tuple[npt.NDArray[np.int64], shapely.STRtree | None]]
    grid: dict[str, Any]
    grid_tree: shapely.STRtree | None
    transformer: Transformer | None
    mgeoms: npt.NDArray[Any]
    inner: npt.NDArray[Any]
    community_street: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]
    """Community ids (sorted) and their street ids."""

    def _contained(self, level: str, pts: npt.NDArray[Any], sel: npt.NDArray[np.int64]
                   ) -> npt.NDArray[np.int64]:
        res = np.full(len(pts), -1, dtype=np.int64)
        ids, tree = self.levels[level]
        if tree is not None and len(sel):
            pairs = tree.query(pts[sel], predicate="intersects")
            res[sel] = _first_match(pairs, ids, len(sel))
        return res

    def _grid_rows(self, pts: npt.NDArray[Any], at64: npt.NDArray[np.datetime64]
                   ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
        """Per point the row of the lowest-id grid containing it in a version valid at its
        time (or -1), and whether more than one such grid touches it (on an edge)."""
        n = len(pts)
        grid = self.grid
        grid_row = np.full(n, -1, dtype=np.int64)
        on_edge = np.zeros(n, dtype=bool)
        if self.grid_tree is not None:
            pairs = self.grid_tree.query(pts, predicate="intersects")
            if pairs.shape[1]:
                pid, row = pairs[0], pairs[1]
                ok = (grid["valid_from"][row] <= at64[pid]) & (at64[pid] < grid["valid_to"][row])
                pid, row = pid[ok], row[ok]
                order = np.lexsort((grid["grid_id"][row], pid))
                pid, row = pid[order], row[order]
                first = np.r_[True, pid[1:] != pid[:-1]] if len(pid) else np.array([], bool)
                grid_row[pid[first]] = row[first]
                on_edge = np.bincount(pid, minlength=n) > 1
        return grid_row, on_edge

    def _measure(self, lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64],
                 at64: npt.NDArray[np.datetime64], grid_row: npt.NDArray[np.int64],
                 on_edge: npt.NDArray[np.bool_]
                 ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """In metres: the boundary distance of points near their grid's boundary, and the
        nearest valid grid of points in none (written into ``grid_row``, 属地兜底)."""
        n = len(lon)
        grid_dist = np.full(n, np.nan)
        bdist = np.full(n, np.nan)
        if self.transformer is None:
            return grid_dist, bdist
        located = grid_row >= 0
        x, y = self.transformer.transform(lon, lat)
        # near boundary: outside the inward buffer of the containing grid
        if located.any():
            li = np.flatnonzero(located)
            near = ~shapely.contains_xy(self.inner[grid_row[li]], x[li], y[li]) | on_edge[li]
            ni = li[near]
            bdist[ni] = shapely.distance(shapely.boundary(self.mgeoms[grid_row[ni]]),
                                         shapely.points(x[ni], y[ni]))
        # 属地兜底: nearest grid of a version valid at the report time
        miss = np.flatnonzero(~located)
        if len(miss):
            _nearest_valid(self.grid, self.mgeoms, x, y, at64, miss, grid_row, grid_dist)
        return grid_dist, bdist

    def _streets_of_communities(self, out: dict[str, Any]) -> None:
        """Street of the community for points whose street is still unknown."""
        missing_street = (out["street_id"] < 0) & (out["community_id"] >= 0)
        if missing_street.any() and len(self.community_street[0]):
            cids, sids = self.community_street
            pos = np.searchsorted(cids, out["community_id"][missing_street])
            pos = np.minimum(pos, len(cids) - 1)
            hit = cids[pos] == out["community_id"][missing_street]
            out["street_id"][missing_street] = np.where(hit, sids[pos], -1)

    def assign(self, lon: npt.ArrayLike, lat: npt.ArrayLike, at: npt.ArrayLike) -> pd.DataFrame:
        """Assign points (inside this locator's box) to the five levels.

        Same parameters and result as :func:`assign_points`, without the connection.
        """
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        at64 = _as_utc64(at)
        n = len(lon)
        if n == 0:
            return _empty_frame()
        grid = self.grid
        pts = shapely.points(lon, lat)
        out: dict[str, Any] = {}
        everyone = np.arange(n)
        out["estate_id"] = self._contained("estate", pts, everyone)
        out["building_id"] = self._contained("building", pts, everyone)
        grid_id = np.full(n, -1, dtype=np.int64)
        version_id = np.full(n, -1, dtype=np.int64)
        grid_row, on_edge = self._grid_rows(pts, at64)
        located = grid_row >= 0
        # a grid lies in one community: points inside a grid take its community (and
        # street); the others are tested against the community and street polygons
        rest = np.flatnonzero(~located)
        out["community_id"] = self._contained("community", pts, rest)
        out["street_id"] = self._contained("street", pts, rest)
        if located.any():
            out["community_id"][located] = grid["community_id"][grid_row[located]]
        grid_dist, bdist = self._measure(lon, lat, at64, grid_row, on_edge)
        if self.transformer is not None:
            has = grid_row >= 0
            grid_id[has] = grid["grid_id"][grid_row[has]]
            version_id[has] = grid["version_id"][grid_row[has]]
            # fallback community/street from the grid when the point lies in none
            gcomm = np.where(has, grid["community_id"][np.maximum(grid_row, 0)], -1)
            out["community_id"] = np.where(out["community_id"] >= 0, out["community_id"], gcomm)
        self._streets_of_communities(out)
        df = pd.DataFrame({
            c: pd.arrays.IntegerArray(v, v < 0) for c, v in (
                ("street_id", out["street_id"]), ("community_id", out["community_id"]),
                ("estate_id", out["estate_id"]), ("building_id", out["building_id"]),
                ("grid_id", grid_id), ("grid_version_id", version_id))})
        df["located_by"] = np.where(located, "grid",
                                    np.where(grid_id >= 0, "nearest_grid", "none"))
        df["grid_distance_m"] = grid_dist
        df["near_boundary"] = ~np.isnan(bdist) & located
        df["boundary_distance_m"] = bdist
        return df


def load_locator(conn: Connection, bbox: tuple[float, float, float, float],
                 params: LocateParams | None = None) -> Locator:
    """Load the streets, communities, estates, buildings and grid versions inside ``bbox``.

    Grid versions are those ever active (status active or retired, with a start date), so
    points are placed in the version valid at their report time.
    """
    params = params or LocateParams()
    levels: dict[str, tuple[npt.NDArray[np.int64], shapely.STRtree | None]] = {}
    for level in LEVELS:
        ids, geoms = _load_level(conn, level, bbox)
        levels[level] = (ids, shapely.STRtree(geoms) if len(ids) else None)
    grid = _load_grids(conn, bbox)
    cs = conn.execute(sa.text(
        "SELECT id, street_id FROM community WHERE street_id IS NOT NULL ORDER BY id")).all()
    community_street = (np.array([r[0] for r in cs], dtype=np.int64),
                        np.array([r[1] for r in cs], dtype=np.int64))
    transformer = None
    mgeoms = inner = np.array([], dtype=object)
    if len(grid["grid_id"]):
        metric = crs.metric_crs(*bbox)
        transformer = crs.transformer(crs.STORAGE_EPSG, metric)
        mgeoms = crs.to_metric(grid["geom"], metric)
        inner = shapely.buffer(mgeoms, -params.near_boundary_m)
        shapely.prepare(inner)
    return Locator(levels=levels, grid=grid,
                   grid_tree=shapely.STRtree(grid["geom"]) if len(grid["grid_id"]) else None,
                   transformer=transformer, mgeoms=mgeoms, inner=inner,
                   community_street=community_street)


def assign_points(conn: Connection, lon: npt.ArrayLike, lat: npt.ArrayLike, at: npt.ArrayLike,
                  params: LocateParams | None = None) -> pd.DataFrame:
    """Assign every point to street, community, estate, building and grid (set-based).

    Parameters
    ----------
    conn:
        Connection to read the polygons from.
    lon, lat:
        WGS84 coordinates (arrays of equal length).
    at:
        Report times (UTC ``datetime64`` or timezone-aware datetimes); selects the grid version
        valid at that time (``valid_from <= at < valid_to``, status active or retired).
    params:
        Near-boundary distance.

    Returns
    -------
    pandas.DataFrame
        One row per input point, same order: ``street_id, community_id, estate_id, building_id,
        grid_id, grid_version_id, located_by, grid_distance_m, near_boundary,
        boundary_distance_m`` (ids are nullable ``Int64``).
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if len(lon) == 0:
        return _empty_frame()
    return load_locator(conn, points_bbox(lon, lat), params).assign(lon, lat, at)


def _empty_frame() -> pd.DataFrame:
    cols = ["street_id", "community_id", "estate_id", "building_id", "grid_id", "grid_version_id"]
    df = pd.DataFrame({c: pd.Series([], dtype="Int64") for c in cols})
    df["located_by"] = pd.Series([], dtype=object)
    df["grid_distance_m"] = pd.Series([], dtype=float)
    df["near_boundary"] = pd.Series([], dtype=bool)
    df["boundary_distance_m"] = pd.Series([], dtype=float)
    return df


def _as_utc64(at: npt.ArrayLike) -> npt.NDArray[np.datetime64]:
    arr = np.asarray(at)
    if arr.dtype.kind == "M":
        return arr.astype("datetime64[us]")
    s = pd.to_datetime(pd.Series(arr), utc=True)
    return s.dt.tz_localize(None).to_numpy().astype("datetime64[us]")


_FAR_FUTURE = np.datetime64("9999-01-01T00:00:00", "us")


def _load_grids(conn: Connection, bbox: tuple[float, float, float, float]) -> dict[str, Any]:
    rows = conn.execute(
        sa.text(
            """
            SELECT gg.grid_id, gg.version_id, gv.community_id, gv.valid_from, gv.valid_to,
                   ST_AsBinary(gg.geom)
            FROM grid_geometry gg JOIN grid_version gv ON gv.id = gg.version_id
            WHERE gv.status IN ('active', 'retired', 'scheduled') AND gv.valid_from IS NOT NULL
              AND gg.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)
            ORDER BY gg.grid_id, gg.version_id
            """
        ),
        dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=True)),
    ).all()

    def ts(values: list[Any]) -> npt.NDArray[np.datetime64]:
        return np.array([
            np.datetime64(v.astimezone(dt.UTC).replace(tzinfo=None), "us")
            if v is not None else _FAR_FUTURE for v in values
        ], dtype="datetime64[us]")

    return {
        "grid_id": np.array([r[0] for r in rows], dtype=np.int64),
        "version_id": np.array([r[1] for r in rows], dtype=np.int64),
        "community_id": np.array([r[2] for r in rows], dtype=np.int64),
        "valid_from": ts([r[3] for r in rows]),
        "valid_to": ts([r[4] for r in rows]),
        "geom": shapely.from_wkb([bytes(r[5]) for r in rows]) if rows
        else np.array([], dtype=object),
    }


def _nearest_valid(grid: dict[str, Any], mgeoms: npt.NDArray[Any], x: npt.NDArray[np.float64],
                   y: npt.NDArray[np.float64], at64: npt.NDArray[np.datetime64],
                   miss: npt.NDArray[np.int64], grid_row: npt.NDArray[np.int64],
                   grid_dist: npt.NDArray[np.float64]) -> None:
    """Nearest grid per missed point among versions valid at its time (one tree per time slice)."""
    edges = np.unique(np.concatenate([grid["valid_from"], grid["valid_to"]]))
    slice_of = np.searchsorted(edges, at64[miss], side="right")
    for s in np.unique(slice_of):
        sel = miss[slice_of == s]
        t = at64[sel[0]]
        valid = np.flatnonzero((grid["valid_from"] <= t) & (t < grid["valid_to"]))
        if not len(valid):
            continue
        tree = shapely.STRtree(mgeoms[valid])
        idx, dist = tree.query_nearest(shapely.points(x[sel], y[sel]), return_distance=True,
                                       all_matches=False)
        grid_row[sel[idx[0]]] = valid[idx[1]]
        grid_dist[sel[idx[0]]] = dist


# --- single point (one SQL statement) ----------------------------------------------------

_LOCATE_SQL = sa.text(
    """
    WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g,
                      CAST(:at AS timestamptz) AS t)
    SELECT COALESCE(st.id, sf.id) AS street_id, COALESCE(st.code, sf.code) AS street_code,
           COALESCE(st.name, sf.name) AS street_name,
           COALESCE(cm.id, cf.id) AS community_id, COALESCE(cm.code, cf.code) AS community_code,
           COALESCE(cm.name, cf.name) AS community_name,
           es.id AS estate_id, es.code AS estate_code, es.name AS estate_name,
           bd.id AS building_id, bd.code AS building_code, bd.name AS building_name,
           gx.id AS grid_id, gx.grid_code AS grid_code, gx.name AS grid_name,
           COALESCE(gi.version_id, gn.version_id) AS grid_version_id,
           gi.grid_id IS NOT NULL AS inside,
           gi.n_match AS n_match,
           CASE WHEN gi.grid_id IS NOT NULL
                THEN ST_Distance(ST_Boundary(gi.geom)::geography, p.g::geography) END
                AS boundary_distance_m,
           CASE WHEN gi.grid_id IS NULL AND gn.grid_id IS NOT NULL
                THEN ST_Distance(gn.geom::geography, p.g::geography) END AS grid_distance_m
    FROM p
    LEFT JOIN LATERAL (SELECT id, code, name FROM street s WHERE ST_Intersects(s.geom, p.g)
                       ORDER BY id LIMIT 1) st ON true
    LEFT JOIN LATERAL (SELECT id, code, name, street_id FROM community c
                       WHERE ST_Intersects(c.geom, p.g) ORDER BY id LIMIT 1) cm ON true
    LEFT JOIN LATERAL (SELECT id, code, name FROM estate e WHERE ST_Intersects(e.geom, p.g)
                       ORDER BY id LIMIT 1) es ON true
    LEFT JOIN LATERAL (SELECT id, code, name FROM building b WHERE ST_Intersects(b.geom, p.g)
                       ORDER BY id LIMIT 1) bd ON true
    LEFT JOIN LATERAL (
        SELECT gg.grid_id, gg.version_id, gv.community_id, gg.geom,
               count(*) OVER () AS n_match
        FROM grid_geometry gg JOIN grid_version gv ON gv.id = gg.version_id
        WHERE ST_Intersects(gg.geom, p.g) AND gv.status IN ('active', 'retired', 'scheduled')
          AND gv.valid_from <= p.t AND (gv.valid_to IS NULL OR p.t < gv.valid_to)
        ORDER BY gg.grid_id LIMIT 1) gi ON true
    LEFT JOIN LATERAL (
        -- KNN in degrees picks candidates, the metric (geography) distance decides
        SELECT k.* FROM (
            SELECT gg.grid_id, gg.version_id, gv.community_id, gg.geom
            FROM grid_geometry gg JOIN grid_version gv ON gv.id = gg.version_id
            WHERE gi.grid_id IS NULL AND gv.status IN ('active', 'retired', 'scheduled')
              AND gv.valid_from <= p.t AND (gv.valid_to IS NULL OR p.t < gv.valid_to)
            ORDER BY gg.geom <-> p.g LIMIT 8) k
        ORDER BY ST_Distance(k.geom::geography, p.g::geography), k.grid_id LIMIT 1) gn ON true
    LEFT JOIN grid gx ON gx.id = COALESCE(gi.grid_id, gn.grid_id)
    LEFT JOIN community cf ON cm.id IS NULL AND cf.id = COALESCE(gi.community_id, gn.community_id)
    LEFT JOIN street sf ON st.id IS NULL AND sf.id = COALESCE(cm.street_id, cf.street_id)
    """
)


def locate_point(conn: Connection, lon: float, lat: float, at: dt.datetime | None = None,
                 *, near_boundary_m: float = Settings.near_boundary_m) -> dict[str, Any]:
    """Locate one WGS84 point (one SQL statement with index lookups).

    Parameters
    ----------
    lon, lat:
        WGS84 coordinates.
    at:
        Report time selecting the grid version; defaults to now.
    near_boundary_m:
        Distance to the grid boundary under which ``near_boundary`` is true.

    Returns
    -------
    dict
        ``street_id/code/name``, ``community_id/code/name``, ``estate_id/code/name``,
        ``building_id/code/name``, ``grid_id``, ``grid_code``, ``grid_name``,
        ``grid_version_id``, ``located_by`` (grid | nearest_grid | none),
        ``grid_distance_m`` (fallback only), ``near_boundary``, ``boundary_distance_m``.
    """
    when = at or dt.datetime.now(dt.UTC)
    row = conn.execute(_LOCATE_SQL, {"lon": lon, "lat": lat, "at": when}).mappings().one()
    res = dict(row)
    inside = bool(res.pop("inside"))
    n_match = res.pop("n_match") or 0
    res["located_by"] = "grid" if inside else ("nearest_grid" if res["grid_id"] else "none")
    bd = res["boundary_distance_m"]
    res["near_boundary"] = bool(inside and (n_match > 1 or (bd is not None and bd <= near_boundary_m)))
    if not res["near_boundary"]:
        res["boundary_distance_m"] = bd if inside else None
    return res
