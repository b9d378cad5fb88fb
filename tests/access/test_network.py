"""Hand-made walking networks for the network/coverage/service-area tests.

Coordinates are given in metres in the local Gauss-Krüger CRS (EPSG:4549, the
CRS ``crs.metric_crs`` picks for central Shanghai) and stored as lon/lat, so the
expected distances can be worked out by hand.

The "river" town::

    y=1000  W                 E
            |                 |
    y= 900  +=====bridge======+      (bridge=yes, layer 1: the only crossing)
            |        :        |
            |  riverside path : (x=100, ground level, under the bridge: an island)
            |        :        |
    y= 100  A-- foot=no / motorway --B   (both excluded)
            |                 |
    y=   0  W0                E0
          x=0               x=200

Building A at (-30, 100) in community West, building B at (230, 100) in community
East; the only kindergarten at (-20, 120) on the west bank. B is 250 m from it by
air but about 1,830 m on foot.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from pyproj import Transformer
from sqlalchemy.engine import Connection  # noqa: I001

_FWD = Transformer.from_crs(4326, 4549, always_xy=True)
_INV = Transformer.from_crs(4549, 4326, always_xy=True)
X0, Y0 = _FWD.transform(121.47, 31.23)


def ll(x: float, y: float) -> tuple[float, float]:
    """Local metres → (lon, lat)."""
    lon, lat = _INV.transform(X0 + x, Y0 + y)
    return float(lon), float(lat)


def _xy(x: float, y: float) -> str:
    lon, lat = ll(x, y)
    return f"{lon:.9f} {lat:.9f}"


def wkt_line(coords: list[tuple[float, float]]) -> str:
    return "LINESTRING(" + ", ".join(_xy(x, y) for x, y in coords) + ")"


def wkt_box(x: float, y: float, half: float = 5.0) -> str:
    pts = [(x - half, y - half), (x + half, y - half), (x + half, y + half), (x - half, y + half),
           (x - half, y - half)]
    return "MULTIPOLYGON(((" + ", ".join(_xy(px, py) for px, py in pts) + ")))"


def add_line(conn: Connection, coords: list[tuple[float, float]], highway: str,
             tags: dict[str, Any] | None = None) -> int:
    return int(conn.execute(sa.text(
        "INSERT INTO osm_line (id, highway, tags, geom) VALUES "
        "((SELECT COALESCE(max(id), 0) + 1 FROM osm_line), :h, CAST(:t AS jsonb), "
        "ST_GeomFromText(:g, 4326)) RETURNING id"
    ), {"h": highway, "t": json.dumps(tags or {}), "g": wkt_line(coords)}).scalar_one())


def add_area(conn: Connection, table: str, code: str, name: str, box: tuple[float, float, float, float],
             parent: dict[str, int] | None = None) -> int:
    x0, y0, x1, y1 = box
    pts = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    geom = "MULTIPOLYGON(((" + ", ".join(_xy(x, y) for x, y in pts) + ")))"
    cols = ["code", "name", "geom"] + list((parent or {}).keys())
    vals = [":code", ":name", "ST_GeomFromText(:geom, 4326)"] + [f":{k}" for k in (parent or {})]
    return int(conn.execute(sa.text(
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(vals)}) RETURNING id"  # noqa: S608
    ), {"code": code, "name": name, "geom": geom, **(parent or {})}).scalar_one())


def add_building(conn: Connection, x: float, y: float, residents: int,
                 community_id: int | None = None, estate_id: int | None = None) -> int:
    return int(conn.execute(sa.text(
        "INSERT INTO building (geom, residents, households, residential, community_id, estate_id)"
        " VALUES (ST_GeomFromText(:g, 4326), :r, :h, true, :c, :e) RETURNING id"
    ), {"g": wkt_box(x, y), "r": residents, "h": residents // 3, "c": community_id,
        "e": estate_id}).scalar_one())


def add_facility(conn: Connection, type_code: str, x: float, y: float, name: str = "") -> int:
    lon, lat = ll(x, y)
    return int(conn.execute(sa.text(
        "INSERT INTO facility (type_code, name, geom, location) VALUES (:t, :n, "
        "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"
        " RETURNING id"
    ), {"t": type_code, "n": name or type_code, "lon": lon, "lat": lat}).scalar_one())


def river_town(conn: Connection) -> dict[str, int]:
    """Build the river town (see module docstring); returns the ids."""
    add_line(conn, [(0, 0), (0, 100), (0, 900), (0, 1000)], "residential")  # west street
    add_line(conn, [(200, 0), (200, 100), (200, 900), (200, 1000)], "residential")  # east street
    add_line(conn, [(0, 900), (200, 900)], "footway", {"bridge": "yes", "layer": "1"})
    add_line(conn, [(100, 950), (100, 50)], "footway")  # riverside path under the bridge
    add_line(conn, [(0, 100), (200, 100)], "footway", {"foot": "no"})
    add_line(conn, [(0, 60), (200, 60)], "motorway")
    add_line(conn, [(0, 30), (200, 30)], "service", {"access": "private"})
    d = add_area(conn, "district", "310101", "Test district", (-500, -500, 700, 1500))
    s = add_area(conn, "street", "310101001", "Test street", (-500, -500, 700, 1500),
                 {"district_id": d})
    west = add_area(conn, "community", "310101001001", "West", (-500, -500, 100, 1500),
                    {"street_id": s})
    east = add_area(conn, "community", "310101001002", "East", (100, -500, 700, 1500),
                    {"street_id": s})
    a = add_building(conn, -30, 100, 300, west)
    b = add_building(conn, 230, 100, 500, east)
    far = add_building(conn, -400, 500, 40, west)
    kg = add_facility(conn, "kindergarten", -20, 120, "West kindergarten")
    return {"district": d, "street": s, "west": west, "east": east, "a": a, "b": b,
            "far": far, "kindergarten": kg}


# =========================================================================== tests

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import shapely  # noqa: E402

from gridmap.access import network  # noqa: E402
from gridmap.errors import NotFound  # noqa: E402


def test_walkable_mask_excludes_motorways_foot_no_and_private_ways() -> None:
    hw = ["footway", "motorway", "trunk", "primary", "service", "residential", "motorway",
          "construction", "steps"]
    tags: list[dict[str, Any]] = [{}, {}, {"foot": "yes"}, {}, {"access": "private"},
                                  {"foot": "no"}, {"foot": "designated"}, {}, {}]
    keep, reasons = network.walkable_mask(hw, tags)
    assert keep.tolist() == [True, False, True, True, False, False, True, False, True]
    assert reasons[1] == "highway=motorway"
    assert reasons[4] == "access=private"
    assert reasons[5] == "foot=no"


def test_sidewalk_rule_for_major_roads_is_configurable() -> None:
    keep, _ = network.walkable_mask(["primary"], [{"sidewalk": "no"}])
    assert keep.tolist() == [True]
    keep, reasons = network.walkable_mask(["primary"], [{"sidewalk": "no"}],
                                          require_sidewalk_on_major=True)
    assert keep.tolist() == [False] and reasons == ["major road without sidewalk"]


def test_bridge_crossing_a_street_is_not_connected_but_ground_crossing_is() -> None:
    lines = np.array([
        shapely.LineString([(0, 0), (100, 0)]),        # ground street
        shapely.LineString([(50, -50), (50, 50)]),     # ground street crossing it
        shapely.LineString([(80, -50), (80, 50)]),     # bridge over it
    ], dtype=object)
    edges, parent = network.node_lines(lines, np.array([0, 0, 1]))
    topo = network.topology(edges)
    # the ground crossing splits both streets into two (4 edges), the bridge stays whole
    assert sorted(np.bincount(parent).tolist()) == [1, 2, 2]
    assert len(set(topo.component.tolist())) == 2  # the bridge is an island here
    assert np.isclose(topo.length.sum(), 300.0)


def test_ways_sharing_a_vertex_are_connected_at_any_level() -> None:
    lines = np.array([
        shapely.LineString([(0, 0), (50, 0), (100, 0)]),
        shapely.LineString([(50, 0), (50, 80)]),       # bridge starting at a shared vertex
    ], dtype=object)
    edges, _ = network.node_lines(lines, np.array([0, 1]))
    topo = network.topology(edges)
    assert len(edges) == 3
    assert set(topo.component.tolist()) == {0}


def test_way_level_from_bridge_tunnel_and_layer() -> None:
    assert network.way_level({}) == 0
    assert network.way_level({"bridge": "yes"}) == 1
    assert network.way_level({"tunnel": "yes"}) == -1
    assert network.way_level({"bridge": "viaduct", "layer": "2"}) == 2
    assert network.way_level({"layer": "x"}) == 0


def test_build_network_excludes_barriers_and_reports_the_island(conn: Connection) -> None:
    river_town(conn)
    rep = network.build_network(conn)
    assert rep.lines_read == 7 and rep.lines_used == 4
    assert rep.lines_excluded == {"foot=no": 1, "highway=motorway": 1, "access=private": 1}
    # west and east streets split at the bridge ends (2 + 2), bridge 1, riverside path 1;
    # the excluded foot=no way does not split the streets at y=100
    assert rep.edges == 6
    assert rep.components == 2
    assert len(rep.islands) == 1
    assert rep.islands[0]["edges"] == 1 and rep.islands[0]["length_m"] == pytest.approx(900, abs=0.5)
    lengths = conn.execute(sa.text(
        "SELECT highway, round(sum(length_m)) FROM network_edge GROUP BY 1 ORDER BY 1")).all()
    assert dict(lengths) == {"footway": 1100, "residential": 2000}
    n_gist = conn.execute(sa.text(
        "SELECT count(*) FROM pg_indexes WHERE tablename IN ('network_edge', 'network_node', "
        "'service_area', 'building_snap', 'facility_snap') AND indexdef ILIKE '%gist%'"
    )).scalar_one()
    assert n_gist == 5


def test_build_network_without_lines_is_a_clear_error(conn: Connection) -> None:
    with pytest.raises(NotFound, match="osm_line is empty"):
        network.build_network(conn)


def test_snapping_projects_onto_the_edge_and_respects_the_limit(conn: Connection) -> None:
    river_town(conn)
    network.build_network(conn)
    g = network.load_graph(conn)
    pts = network.to_metric(shapely.points([ll(-20, 120), ll(-400, 500), ll(50, 500)]), g.metric)
    s = network.snap_points(g, pts)
    assert s.snapped.tolist() == [True, False, True]
    # projected onto the west street (not to its nearest node at y=100)
    assert s.dist[0] == pytest.approx(20.0, abs=0.01)
    assert g.length[s.edge[0]] == pytest.approx(900.0, abs=0.01)
    assert min(s.offset[0], 900 - s.offset[0]) == pytest.approx(120.0, abs=0.01)
    # the riverside path is an island: (50, 500) snaps to the west street, not the path
    assert g.component[s.edge[2]] == 0 and s.dist[2] == pytest.approx(50.0, abs=0.01)
    wider = network.snap_points(g, pts, max_snap_m=500)
    assert wider.snapped.all()


def test_multi_source_distances_cross_only_at_the_bridge(conn: Connection) -> None:
    river_town(conn)
    network.build_network(conn)
    g = network.load_graph(conn)
    assert network.load_graph(conn) is g  # cached
    fac = network.snap_points(g, network.to_metric(shapely.points([ll(-20, 120)]), g.metric))
    bld = network.snap_points(g, network.to_metric(
        shapely.points([ll(-30, 100), ll(230, 100), ll(-10, 600)]), g.metric))
    src = network.Sources.from_snaps(fac)
    d = network.node_distances(g, src)
    dist = network.point_distances(g, d, bld, src)
    # A: 30 (door) + 20 along the street + 20 (facility access)
    assert dist[0] == pytest.approx(70.0, abs=0.05)
    # B: 30 + 800 up the east street + 200 bridge + 780 down + 20
    assert dist[1] == pytest.approx(1830.0, abs=0.05)
    # same edge as the facility: directly along the edge (10 + 480 + 20)
    assert dist[2] == pytest.approx(510.0, abs=0.05)
