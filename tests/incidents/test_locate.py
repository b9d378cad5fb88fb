"""Geolocation on hand-checkable shapes: inside, on an edge, on a shared vertex, in a hole,
outside everything; the grid version valid at the report time; re-assignment after a redraw.

World (lon/lat degrees, 0.01° ≈ 1 km near Shanghai)::

    G3 [121.40,31.21]-[121.41,31.22]
    G1 [121.40,31.20]-[121.41,31.21] with a hole [121.403,31.203]-[121.407,31.207]
    G2 [121.41,31.20]-[121.42,31.21]

G1/G2 share the edge x = 121.41; G1, G2 and G3 share the vertex (121.41, 31.21).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.incidents import locate

UTC = dt.UTC
T0 = dt.datetime(2025, 1, 1, tzinfo=UTC)


def box(x0: float, y0: float, x1: float, y1: float, hole: tuple[float, ...] | None = None
        ) -> str:
    ring = f"({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0})"
    if hole:
        a, b, c, d = hole
        ring += f", ({a} {b}, {a} {d}, {c} {d}, {c} {b}, {a} {b})"
    return f"MULTIPOLYGON(({ring}))"


def _ins(conn: Connection, sql: str, **kw: Any) -> int:
    return int(conn.execute(sa.text(sql + " RETURNING id"), kw).scalar_one())


def build_world(conn: Connection) -> dict[str, int]:
    """Insert the small district above; returns the ids by name."""
    ids: dict[str, int] = {}
    ids["D"] = _ins(conn, "INSERT INTO district (code, name, geom) VALUES ('319901', 'D', ST_GeomFromText(:wkt, 4326))",
                    wkt=box(121.40, 31.20, 121.44, 31.24))
    ids["S"] = _ins(conn, "INSERT INTO street (code, name, district_id, geom) "
                    "VALUES ('319901001', 'S', :d, ST_GeomFromText(:wkt, 4326))", d=ids["D"],
                    wkt=box(121.40, 31.20, 121.44, 31.24))
    ids["C1"] = _ins(conn, "INSERT INTO community (code, name, street_id, geom) "
                     "VALUES ('319901001001', 'C1', :s, ST_GeomFromText(:wkt, 4326))", s=ids["S"],
                     wkt=box(121.40, 31.20, 121.42, 31.24))
    ids["C2"] = _ins(conn, "INSERT INTO community (code, name, street_id, geom) "
                     "VALUES ('319901001002', 'C2', :s, ST_GeomFromText(:wkt, 4326))", s=ids["S"],
                     wkt=box(121.42, 31.20, 121.44, 31.24))
    ids["E1"] = _ins(conn, "INSERT INTO estate (code, name, community_id, geom) "
                     "VALUES ('E1', 'E1', :c, ST_GeomFromText(:wkt, 4326))", c=ids["C1"],
                     wkt=box(121.40, 31.20, 121.41, 31.21))
    ids["B1"] = _ins(conn, "INSERT INTO building (code, name, community_id, estate_id, geom) "
                     "VALUES ('B1', 'B1', :c, :e, ST_GeomFromText(:wkt, 4326))", c=ids["C1"], e=ids["E1"],
                     wkt=box(121.408, 31.208, 121.409, 31.209))
    ids["V1"] = _ins(conn, "INSERT INTO grid_version (community_id, generation, status, "
                     "valid_from) VALUES (:c, 1, 'active', :t)", c=ids["C1"], t=T0)
    shapes = {
        "G1": box(121.40, 31.20, 121.41, 31.21, hole=(121.403, 31.203, 121.407, 31.207)),
        "G2": box(121.41, 31.20, 121.42, 31.21),
        "G3": box(121.40, 31.21, 121.41, 31.22),
    }
    for seq, (name, wkt) in enumerate(shapes.items(), start=1):
        ids[name] = _ins(conn, "INSERT INTO grid (community_id, grid_seq, grid_code, name) "
                         "VALUES (:c, :s, :code, :n)", c=ids["C1"], s=seq,
                         code=f"319901001001{seq:03d}", n=name)
        conn.execute(sa.text("INSERT INTO grid_geometry (version_id, grid_id, geom) "
                             "VALUES (:v, :g, ST_GeomFromText(:wkt, 4326))"), {"v": ids["V1"], "g": ids[name], "wkt": wkt})
    return ids


def redraw(conn: Connection, ids: dict[str, int], at: dt.datetime) -> int:
    """Generation 2 of C1: G1 disappears, G2 covers both bottom squares, G3 unchanged."""
    conn.execute(sa.text("UPDATE grid_version SET status = 'retired', valid_to = :t "
                         "WHERE id = :v"), {"t": at, "v": ids["V1"]})
    v2 = _ins(conn, "INSERT INTO grid_version (community_id, generation, status, valid_from) "
              "VALUES (:c, 2, 'active', :t)", c=ids["C1"], t=at)
    for name, wkt in (("G2", box(121.40, 31.20, 121.42, 31.21)),
                      ("G3", box(121.40, 31.21, 121.41, 31.22))):
        conn.execute(sa.text("INSERT INTO grid_geometry (version_id, grid_id, geom) "
                             "VALUES (:v, :g, ST_GeomFromText(:wkt, 4326))"),
                     {"v": v2, "g": ids[name], "wkt": wkt})
    return v2


CASES = {  # name: (lon, lat, expected grid, located_by, near_boundary)
    "inside": (121.415, 31.205, "G2", "grid", False),
    "edge": (121.41, 31.205, "G1", "grid", True),
    "vertex": (121.41, 31.21, "G1", "grid", True),
    "hole": (121.405, 31.205, "G1", "nearest_grid", False),
    "outside": (121.45, 31.25, "G3", "nearest_grid", False),
    "building": (121.4085, 31.2085, "G1", "grid", False),
    "near_edge": (121.41005, 31.205, "G2", "grid", True),  # ~5 m east of the shared edge
}


@pytest.fixture
def world(conn: Connection) -> dict[str, int]:
    return build_world(conn)


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
    import pandas as pd

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


def test_reassign_open_after_redraw(conn: Connection, world: dict[str, int]) -> None:
    from gridmap import incidents

    t = dt.datetime(2025, 6, 1, 2, tzinfo=UTC)
    open_row = incidents.create(conn, {"category": "E0102", "lon": 121.402, "lat": 31.202,
                                       "reported_at": t}, actor="t")
    closed_row = incidents.create(conn, {"category": "E0104", "lon": 121.402, "lat": 31.2021,
                                         "reported_at": t}, actor="t")
    assert open_row["grid_id"] == closed_row["grid_id"] == world["G1"]
    for s in ("filed", "dispatched", "handling", "handled", "closed"):
        incidents.transition(conn, closed_row["id"], s, actor="t", at=t)
    locate.confirm_location(conn, open_row["id"], actor="sup")  # confirmed under plan 1
    redraw(conn, world, dt.datetime(2025, 7, 1, tzinfo=UTC))
    n = locate.reassign_open(conn, world["C1"])
    assert n == 1
    moved = incidents.get(conn, open_row["id"])
    assert moved["grid_id"] == world["G2"]
    assert moved["location_confirmed_at"] is None  # the grid changed: to be confirmed again
    assert incidents.get(conn, closed_row["id"])["grid_id"] == world["G1"]


def test_supervisor_confirms_or_moves_a_near_boundary_incident(conn: Connection,
                                                                world: dict[str, int]) -> None:
    from gridmap import incidents
    from gridmap.errors import Conflict, ValidationError

    t = dt.datetime(2025, 6, 1, 2, tzinfo=UTC)
    near = incidents.create(conn, {"category": "E0102", "lon": 121.41005, "lat": 31.205,
                                   "reported_at": t}, actor="t")  # ~5 m east of G1|G2
    inner = incidents.create(conn, {"category": "E0104", "lon": 121.415, "lat": 31.205,
                                    "reported_at": t}, actor="t")
    assert near["grid_id"] == world["G2"] and near["near_boundary"]

    def to_confirm() -> set[int]:
        return {r["id"] for r in incidents.list_incidents(conn, {"to_confirm": True})["items"]}

    assert near["id"] in to_confirm() and inner["id"] not in to_confirm()
    cands = locate.boundary_candidates(conn, near["id"])
    assert [c["grid_id"] for c in cands[:2]] == [world["G2"], world["G1"]]
    assert cands[0]["inside"] and cands[0]["current"] and 4 < cands[1]["distance_m"] < 6
    # the supervisor decides the case belongs to G1 (the other side of the street)
    out = locate.confirm_location(conn, near["id"], actor="sup", grid_id=world["G1"],
                                  note="路西侧")
    assert out["moved"] and out["located_by"] == "nearest_grid"
    row = incidents.get(conn, near["id"])
    assert row["grid_id"] == world["G1"] and row["location_confirmed_by"] == "sup"
    assert row["community_id"] == world["C1"] and row["street_id"] == world["S"]
    assert near["id"] not in to_confirm()
    audit = conn.execute(sa.text("SELECT action, before->>'grid_id', after->>'note' "
                                 "FROM audit_log WHERE object_type = 'incident' "
                                 "AND object_id = :i"), {"i": str(near["id"])}).one()
    assert audit == ("incident.location_moved", str(world["G2"]), "路西侧")
    with pytest.raises(ValidationError, match="not one of"):
        locate.confirm_location(conn, near["id"], actor="sup", grid_id=999_999)
    # a closed case keeps the grid it was handled in: confirm yes, move no
    for s in ("filed", "dispatched", "handling", "handled", "closed"):
        incidents.transition(conn, inner["id"], s, actor="t", at=t)
    with pytest.raises(Conflict, match="keep the grid"):
        locate.confirm_location(conn, inner["id"], actor="sup", grid_id=world["G1"])
    assert not locate.confirm_location(conn, inner["id"], actor="sup")["moved"]
