"""Pure plan geometry (metric CRS, no database): polygonal parts, coverage unions, and the
repairs that keep a plan a partition — detached pieces, slivers and gaps go to the
neighbour sharing the longest edge.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np
import numpy.typing as npt
import shapely
import shapely.errors
from shapely.geometry.base import BaseGeometry

GeomArray = npt.NDArray[np.object_]


def polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Keep only the polygonal parts of ``geom`` (intersections can leave lines/points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def repaired(geom: BaseGeometry) -> BaseGeometry:
    """``geom`` if it is valid, else its polygonal repair."""
    return geom if geom.is_valid else polygonal(shapely.make_valid(geom))


def as_multi(geom: BaseGeometry) -> BaseGeometry:
    """The polygonal part of ``geom`` as a MultiPolygon (Polygon → one-part MultiPolygon)."""
    geom = polygonal(geom)
    if geom.geom_type == "Polygon":
        return shapely.MultiPolygon([geom])
    return geom


def safe_union(geoms: GeomArray) -> BaseGeometry:
    """Union of polygons that form a coverage: fast coverage union, falling back to a
    full overlay when the edges are not noded exactly alike."""
    try:
        out = shapely.coverage_union_all(geoms)
        if shapely.is_valid(out):
            return out
    except shapely.errors.GEOSException:
        pass
    try:
        return shapely.union_all(geoms)
    except shapely.errors.GEOSException:
        # Robust fallback: snap-rounding overlay on a 1 cm grid (metric inputs).
        return shapely.union_all(shapely.make_valid(geoms), grid_size=0.01)


def is_sliver(geom: BaseGeometry, width_m: float) -> bool:
    """True when ``geom`` is thinner than ``width_m`` (2·area/perimeter)."""
    return bool(geom.length > 0 and 2.0 * geom.area / geom.length < width_m)


def longest_edge_neighbour(
    piece: BaseGeometry,
    shapes: Mapping[int, BaseGeometry],
    exclude: Collection[int] = (),
    *,
    buffer_m: float = 0.05,
    quad_segs: int = 1,
) -> int | None:
    """The key of the non-empty shape sharing the longest boundary with ``piece``.

    The shared length is the part of ``piece``'s boundary inside a ``buffer_m`` buffer of
    the other shape (robust to last-digit noise). ``None`` when nothing touches.
    """
    edge = piece.boundary
    best, best_len = None, 0.0
    for key, g in shapes.items():
        if key in exclude or g.is_empty:
            continue
        shared = edge.intersection(g.buffer(buffer_m, quad_segs=quad_segs)).length
        if shared > best_len:
            best, best_len = key, shared
    return best


def _absorb(shapes: dict[int, BaseGeometry], into: int, piece: BaseGeometry) -> None:
    shapes[into] = polygonal(safe_union(np.array([shapes[into], piece], dtype=object)))


def merge_fragments(shapes: dict[int, BaseGeometry], rounds: int = 3) -> int:
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
                best = longest_edge_neighbour(piece, shapes, {gid})
                if best is None:
                    keep.append(piece)
                    continue
                _absorb(shapes, best, piece)
                moved += 1
                changed = True
            shapes[gid] = shapely.union_all(keep) if len(keep) > 1 else keep[0]
        if not changed:
            break
    return moved


def _households_per_shape(shapes: Mapping[int, BaseGeometry], live: list[int],
                          cells: GeomArray, hh: npt.NDArray[np.int64]) -> dict[int, int]:
    """Households of the cells whose point on surface lies in each live shape."""
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
    return totals


def merge_empty(shapes: dict[int, BaseGeometry], cells: GeomArray,
                hh: npt.NDArray[np.int64]) -> int:
    """Merge grids without households (left after fragments moved) into the neighbour
    sharing the longest edge (in place). Returns the number of grids merged."""
    live = [g for g in shapes if not shapes[g].is_empty]
    if len(live) < 2 or not len(cells):
        return 0
    totals = _households_per_shape(shapes, live, cells, hh)
    merged = 0
    for gid in sorted(live, key=lambda g: shapes[g].area):
        if totals[gid] > 0 or sum(1 for g in shapes if not shapes[g].is_empty) < 2:
            continue
        best = longest_edge_neighbour(shapes[gid], shapes, {gid})
        if best is None:
            continue
        _absorb(shapes, best, shapes[gid])
        shapes[gid] = shapely.Polygon()
        merged += 1
    return merged


def _reattach_fragments(new: dict[int, BaseGeometry], target: int, locked: set[int],
                        sliver_width_m: float, min_area_m2: float) -> None:
    """Small or thin parts of a grid (other than ``target``), split off by an edit, join
    the unlocked neighbour sharing the longest edge (in place)."""
    for gid in list(new):
        g = new[gid]
        if gid in locked or g.is_empty or gid == target:
            continue
        parts = sorted(shapely.get_parts(g), key=lambda p: -p.area)
        if len(parts) < 2:
            continue
        keep = [parts[0]]
        for part in parts[1:]:
            if is_sliver(part, sliver_width_m) or part.area < min_area_m2:
                to = longest_edge_neighbour(part, new, locked | {gid},
                                            buffer_m=0.01, quad_segs=16)
                if to is not None:
                    new[to] = new[to].union(part)
                    continue
            keep.append(part)
        new[gid] = shapely.union_all(keep)


def fill_leftovers(new: dict[int, BaseGeometry], community: BaseGeometry,
                   old_target: BaseGeometry | None, target: int, locked: set[int],
                   *, sliver_width_m: float, min_area_m2: float) -> None:
    """After a freehand edit of grid ``target``: give every sliver fragment and every
    uncovered piece of ``community`` to the best unlocked neighbour (in place).

    A piece that ``target`` gave up goes to another grid unless it is a sliver.
    """
    _reattach_fragments(new, target, locked, sliver_width_m, min_area_m2)
    covered = shapely.union_all([g for g in new.values() if not g.is_empty])
    gaps = polygonal(community.difference(covered))
    for piece in shapely.get_parts(gaps):
        if piece.area <= 0:
            continue
        thin = is_sliver(piece, sliver_width_m)
        from_old = old_target is not None and piece.intersection(old_target).area > 0.5 * piece.area
        exclude = locked | {target} if from_old and not thin else set(locked)
        to = longest_edge_neighbour(piece, new, exclude, buffer_m=0.01, quad_segs=16)
        if to is None:
            to = longest_edge_neighbour(piece, new, locked, buffer_m=0.01, quad_segs=16)
        if to is not None:
            new[to] = polygonal(new[to].union(piece))
