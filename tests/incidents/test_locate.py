"""Geolocation on hand-checkable shapes: inside, on an edge, on a shared vertex, in a hole,
outside everything; the grid version valid at the report time (world:
:mod:`tests.fixtures.incident_world`)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.engine import Connection

from gridmap.incidents import locate
from tests.fixtures.incident_world import UTC, redraw

CASES = {  # name: (lon, lat, expected grid, located_by, near_boundary)
    "inside": (121.415, 31.205, "G2", "grid", False),
    "edge": (121.41, 31.205, "G1", "grid", True),
    "vertex": (121.41, 31.21, "G1", "grid", True),
    "hole": (121.405, 31.205, "G1", "nearest_grid", False),
    "outside": (121.45, 31.25, "G3", "nearest_grid", False),
    "building": (121.4085, 31.2085, "G1", "grid", False),
    "near_edge": (121.41005, 31.205, "G2", "grid", True),  # ~5 m east of the shared edge
}


def test_assign_points_hand_checked_shapes(conn: Connection, world: dict[str, int]) -> None:
    names = list(CASES)
    lon = np.array([CASES[n][0] for n in names])
    lat = np.array([CASES[n][1] for n in names])
    at = np.array([np.datetime64("2025-06-01T00:00")] * len(names))
    df = locate.assign_points(conn, lon, lat, at)
    for i, name in enumerate(names):
        _, _, grid, by, near = CASES[name]
        row = df.iloc[i]
        assert row["grid_id"] == world[grid], name
        assert row["located_by"] == by, name
        assert bool(row["near_boundary"]) is near, name
        assert row["street_id"] == world["S"], name
        assert row["community_id"] == world["C1"], name
    by_name = dict(zip(names, range(len(names)), strict=True))
    hole = df.iloc[by_name["hole"]]
    # nearest hole edge is 0.002° of longitude/latitude away: ≈ 190–222 m
    assert 180 < hole["grid_distance_m"] < 230
    assert df.iloc[by_name["outside"]]["grid_distance_m"] > 3000
    b = df.iloc[by_name["building"]]
    assert b["building_id"] == world["B1"] and b["estate_id"] == world["E1"]
    assert pd_isna(df.iloc[by_name["inside"]]["building_id"])
    assert df.iloc[by_name["near_edge"]]["boundary_distance_m"] == pytest.approx(4.8, abs=1)


def pd_isna(v: object) -> bool:
    return bool(pd.isna(v))


@pytest.mark.parametrize("name", list(CASES))
def test_locate_point_matches_bulk(conn: Connection, world: dict[str, int], name: str) -> None:
    lon, lat, grid, by, near = CASES[name]
    res = locate.locate_point(conn, lon, lat, at=dt.datetime(2025, 6, 1, tzinfo=UTC))
    assert res["grid_id"] == world[grid]
    assert res["located_by"] == by
    assert res["near_boundary"] is near
    assert res["community_id"] == world["C1"] and res["street_code"] == "319901001"
    assert res["grid_code"].startswith("319901001001")
    if by == "nearest_grid":
        assert res["grid_distance_m"] > 100


def test_point_before_any_version_has_no_grid(conn: Connection, world: dict[str, int]) -> None:
    res = locate.locate_point(conn, 121.415, 31.205, at=dt.datetime(2024, 6, 1, tzinfo=UTC))
    assert res["grid_id"] is None and res["located_by"] == "none"
    assert res["community_id"] == world["C1"]


def test_grid_version_valid_at_report_time(conn: Connection, world: dict[str, int]) -> None:
    t_redraw = dt.datetime(2025, 7, 1, tzinfo=UTC)
    v2 = redraw(conn, world, t_redraw)
    before = locate.locate_point(conn, 121.402, 31.202, at=dt.datetime(2025, 6, 1, tzinfo=UTC))
    after = locate.locate_point(conn, 121.402, 31.202, at=dt.datetime(2025, 8, 1, tzinfo=UTC))
    assert before["grid_id"] == world["G1"] and before["grid_version_id"] == world["V1"]
    assert after["grid_id"] == world["G2"] and after["grid_version_id"] == v2
    df = locate.assign_points(conn, [121.402, 121.402], [31.202, 31.202],
                              np.array(["2025-06-01T00:00", "2025-08-01T00:00"],
                                       dtype="datetime64[us]"))
    assert df["grid_id"].tolist() == [world["G1"], world["G2"]]
