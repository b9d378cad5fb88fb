"""Street blocks from road lines (gridmap.blocks)."""

from __future__ import annotations

import numpy as np
import shapely
import sqlalchemy as sa
from shapely.geometry import LineString
from sqlalchemy.engine import Connection

from gridmap.imports import blocks
from gridmap.imports.blocks import BlockParams


def _grid_lines(n: int = 3, step: float = 100.0) -> np.ndarray:
    """n horizontal and n vertical roads, crossing mid-segment (not at shared vertices)."""
    span = (n - 1) * step
    lines = [LineString([(-10, i * step), (span + 10, i * step)]) for i in range(n)]
    lines += [LineString([(i * step, -10), (i * step, span + 10)]) for i in range(n)]
    return np.array(lines, dtype=object)


def test_a_road_grid_gives_its_blocks_after_noding() -> None:
    faces = blocks.polygonize_lines(_grid_lines(), BlockParams(close_at_extent=False))
    assert len(faces) == 4
    assert np.allclose(shapely.area(faces), 10_000.0)
    # deterministic order: north row first, west to east
    pts = shapely.get_coordinates(shapely.point_on_surface(faces))
    assert pts[0][1] > pts[-1][1] and pts[0][0] < pts[1][0]


def test_slivers_and_huge_faces_are_dropped() -> None:
    lines = list(_grid_lines())
    lines.append(LineString([(-10, 103), (210, 103)]))  # dual carriageway 3 m apart
    arr = np.array(lines, dtype=object)
    faces = blocks.polygonize_lines(arr, BlockParams(close_at_extent=False))
    assert len(faces) == 4  # the two 3 m x 200 m slivers are gone
    assert shapely.area(faces).min() >= 9_000
    capped = blocks.polygonize_lines(arr, BlockParams(close_at_extent=False, max_area_m2=9_800))
    assert np.allclose(shapely.area(capped), 9_700.0) and len(capped) == 2


def test_closing_at_the_extent_keeps_edge_blocks() -> None:
    # a comb: one road with three stubs ending at the "extract edge"
    lines = [LineString([(0, 0), (300, 0)])] + [
        LineString([(x, 0), (x, 100)]) for x in (0, 100, 200, 300)]
    arr = np.array(lines, dtype=object)
    assert len(blocks.polygonize_lines(arr, BlockParams(close_at_extent=False))) == 0
    assert len(blocks.polygonize_lines(arr, BlockParams(close_at_extent=True))) == 3


def test_block_line_selection_skips_footways_and_tunnels() -> None:
    mask = blocks.block_lines_mask(
        np.array(["primary", "footway", "residential", "service"], dtype=object),
        np.array([None, None, "yes", None], dtype=object), BlockParams())
    assert mask.tolist() == [True, False, False, False]


def test_storing_blocks_twice_adds_nothing(conn: Connection) -> None:
    faces = blocks.polygonize_lines(_grid_lines(step=0.001), BlockParams(
        close_at_extent=False, min_area_m2=0, min_width_m=0))
    first = blocks.store_blocks(conn, faces, np.full(len(faces), 1.0), "test")
    second = blocks.store_blocks(conn, faces, np.full(len(faces), 1.0), "test")
    assert len(first) == 4 and second == []
    assert conn.execute(sa.text(
        "SELECT count(*) FROM street_block WHERE id = ANY(:ids)"), {"ids": first}).scalar_one() == 4
