"""Validation of a grid plan (reference/grids.md §2–§3): the rules and every problem at once.

Errors block activation (invalid or too small geometry, a grid outside its community,
overlaps, gaps, a grid in several pieces, no responsible party); warnings (household and
resident range, compactness) are reported but allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy.engine import Connection

from gridmap.config import Settings
from gridmap.errors import Problem
from gridmap.grids.frame import Frame, geojson, load_frame, version_geoms
from gridmap.grids.geometry import polygonal, safe_union
from gridmap.grids.store import version_grids, version_row


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

    households_min: int = Settings.grid_households_min
    households_max: int = Settings.grid_households_max
    residents_max: int = Settings.grid_residents_max
    area_tolerance_m2: float = 0.5
    min_area_m2: float = 50.0
    compactness_min: float = 0.15
    snap_tolerance_m: float = 2.0
    sliver_width_m: float = 1.0
    seq_width: int = Settings.grid_seq_width
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


class _Problems(list[Problem]):
    """Problems of one version; geometry is given in metres and stored as WGS84 GeoJSON."""

    def __init__(self, fr: Frame) -> None:
        super().__init__()
        self.fr = fr

    def add(self, code: str, params: dict[str, Any], field: str | None,
            geom_m: BaseGeometry | None, severity: str = "error") -> None:
        gj = (geojson(self.fr.to_ll(geom_m))
              if geom_m is not None and not geom_m.is_empty else None)
        self.append(Problem(code, params, field=field, severity=severity, geometry=gj))


def _check_grid(out: _Problems, r: GridRules, meta: dict[str, Any], g: BaseGeometry,
                comm: BaseGeometry, area: float, perim: float, invalid: str | None) -> None:
    """The problems of one grid on its own."""
    code = meta["grid_code"]
    if invalid:
        out.add("grids.invalid_geometry", {"grid": code, "why": invalid}, code, g)
    if area < r.min_area_m2:
        out.add("grids.too_small", {"grid": code, "area": area, "min_area": r.min_area_m2},
                code, g)
    outside = g.difference(comm)
    if outside.area > r.area_tolerance_m2:
        out.add("grids.outside_community", {"grid": code, "area": outside.area}, code, outside)
    pieces = [p for p in shapely.get_parts(g) if p.area > r.area_tolerance_m2]
    if len(pieces) > 1:
        out.add("grids.separate_pieces", {"grid": code, "n": len(pieces)}, code, g)
    if not (meta["responsible_party"] or "").strip():
        out.add("grids.no_responsible_party", {"grid": code}, code, g)
    hh = int(meta["households"])
    if hh < r.households_min or hh > r.households_max:
        out.add("grids.households_out_of_range",
                {"grid": code, "households": hh, "min": r.households_min,
                 "max": r.households_max}, code, g, "warning")
    if int(meta["residents"]) > r.residents_max:
        out.add("grids.too_many_residents",
                {"grid": code, "residents": int(meta["residents"]), "max": r.residents_max},
                code, g, "warning")
    pp = 4 * np.pi * area / perim ** 2 if perim > 0 else 0.0
    if area > 0 and pp < r.compactness_min:
        out.add("grids.not_compact", {"grid": code, "pp": float(pp), "min": r.compactness_min},
                code, g, "warning")


def _check_overlaps(out: _Problems, r: GridRules, garr: Any, codes: list[str]) -> bool:
    """Overlaps between grids; True if any was found."""
    tree = shapely.STRtree(garr)
    a, b = tree.query(garr, predicate="intersects")
    found = False
    for i, j in zip(a.tolist(), b.tolist(), strict=True):
        if i >= j:
            continue
        inter = polygonal(garr[i].intersection(garr[j]))
        if inter.area > r.area_tolerance_m2:
            found = True
            ci, cj = codes[i], codes[j]
            out.add("grids.overlap", {"a": ci, "b": cj, "area": inter.area}, f"{ci},{cj}", inter)
    return found


def _check_gaps(out: _Problems, r: GridRules, comm: BaseGeometry, union: BaseGeometry) -> None:
    """Pieces of the community that no grid covers."""
    for piece in shapely.get_parts(polygonal(comm.difference(union))):
        if piece.area > r.area_tolerance_m2:
            c = piece.representative_point()
            lon, lat = out.fr.lonlat(c.x, c.y)
            out.add("grids.gap", {"area": piece.area, "lon": lon, "lat": lat}, None, piece)


def validate(conn: Connection, version_id: int, rules: GridRules | None = None) -> list[Problem]:
    """Every problem of a version at once (reference/grids.md §2 validation recipe).

    Errors: invalid or too small geometry, a grid outside its community, overlaps, gaps in
    the community, a grid in several pieces, a grid without a responsible party.
    Warnings: households outside [min, max], residents above max, Polsby-Popper
    compactness below ``compactness_min``. Each problem carries the geometry to highlight
    (GeoJSON, WGS84) and ``field`` = the grid code where one grid is concerned.
    """
    r = rules or GridRules()
    v = version_row(conn, version_id)
    fr = load_frame(conn, v["community_id"])
    info = {g["grid_id"]: g for g in version_grids(conn, version_id)}
    ids, geoms, invalid = version_geoms(conn, fr, version_id)
    comm = fr.to_m(fr.geom)
    out = _Problems(fr)
    if not ids:
        out.add("grids.no_grids", {}, None, comm)
        return list(out)
    garr = np.array(geoms, dtype=object)
    areas = shapely.area(garr)
    perims = shapely.length(garr)
    for k, gid in enumerate(ids):
        _check_grid(out, r, info[gid], garr[k], comm, float(areas[k]), float(perims[k]),
                    invalid[k])
    overlap = _check_overlaps(out, r, garr, [info[g]["grid_code"] for g in ids])
    _check_gaps(out, r, comm, shapely.union_all(garr) if overlap else safe_union(garr))
    return list(out)
