"""Service areas: partial edges cut at the remaining distance, buffered street
parts (not hulls), storage with fingerprints, GeoJSON output."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.access import area_union, coverage, distances, graph, network, service_areas
from gridmap.crs import to_metric
from gridmap.errors import InputTooLarge, ValidationError
from tests.fixtures.walk_world import add_facility, ll, river_town


def test_substrings_cut_lines_at_distances() -> None:
    lines = np.array([shapely.LineString([(0, 0), (100, 0), (100, 100)]),
                      shapely.LineString([(0, 0), (10, 0)])], dtype=object)
    parts = service_areas.substrings(lines, np.array([50.0, 0.0]), np.array([150.0, 4.0]))
    assert shapely.equals(parts[0], shapely.LineString([(50, 0), (100, 0), (100, 50)]))
    assert shapely.equals(parts[1], shapely.LineString([(0, 0), (4, 0)]))


def test_partial_edge_is_cut_at_the_remaining_distance(conn: Connection) -> None:
    river_town(conn)
    network.build_network(conn)
    g = graph.load_graph(conn)
    fac = graph.snap_points(g, to_metric(shapely.points([ll(-20, 120)]), g.metric))
    src = distances.Sources.from_snaps(fac)
    d = distances.node_distances(g, src)
    # 5 minutes at 60 m/min = 300 m; 20 m access leg leaves 280 m along the street: 0..400
    poly = service_areas.area_polygon(g, d, src, 300.0, 30.0)
    inside = to_metric(shapely.points([ll(0, 390), ll(25, 10)]), g.metric)
    outside = to_metric(shapely.points([ll(0, 440), ll(200, 100), ll(100, 300)]),
                                g.metric)
    assert shapely.contains(poly, inside).all()
    assert not shapely.intersects(poly, outside).any()
    # it follows the street, not a circle: far smaller than a 300 m disc
    assert poly.area < 0.3 * np.pi * 300**2
    # 15 minutes (900 m) from (0,120): reaches the bridge end at y=900 with 120 m left
    big = service_areas.area_polygon(g, d, src, 900.0, 30.0)
    on_bridge = to_metric(shapely.points([ll(90, 900), ll(150, 900)]), g.metric)
    assert shapely.contains(big, on_bridge[0]) and not shapely.contains(big, on_bridge[1])


def test_refresh_stores_areas_and_recomputes_only_when_facilities_change(
    conn: Connection,
) -> None:
    river_town(conn)
    rep = coverage.refresh(conn)
    assert rep["service_areas_recomputed"]
    rows = conn.execute(sa.text(
        "SELECT facility_id IS NULL AS per_type, minutes FROM service_area ORDER BY 1, 2")).all()
    # per type at refresh; per facility only on request (see the geojson test)
    assert [(r[0], r[1]) for r in rows] == [(True, 5), (True, 10), (True, 15)]
    assert coverage.refresh(conn)["service_areas_recomputed"] is False
    add_facility(conn, "pharmacy", 215, 500)
    assert coverage.refresh(conn)["service_areas_recomputed"] is True
    assert conn.execute(sa.text(
        "SELECT count(*) FROM service_area WHERE type_code = 'pharmacy'")).scalar_one() == 3


def test_geojson_returns_the_type_union_and_per_facility_features(conn: Connection) -> None:
    river_town(conn)
    coverage.refresh(conn)
    fc = service_areas.geojson(conn, type_code="kindergarten", minutes=5)
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 1
    geom = shapely.geometry.shape(fc["features"][0]["geometry"])
    assert geom.geom_type == "MultiPolygon"
    assert geom.contains(shapely.Point(*ll(0, 300)))
    assert not geom.contains(shapely.Point(*ll(200, 120)))
    per = service_areas.geojson(conn, type_code="kindergarten", minutes=15, per_facility=True)
    assert len(per["features"]) == 1 and per["features"][0]["properties"]["facility_id"]
    stored = conn.execute(sa.text(
        "SELECT count(*) FROM service_area WHERE facility_id IS NOT NULL")).scalar_one()
    assert stored == 3  # computed on request for 5/10/15 minutes, then kept
    assert service_areas.ensure_facility_areas(conn, [per["features"][0]["properties"]
                                                      ["facility_id"]]) == 0
    lon, lat = ll(600, 600)
    empty = service_areas.geojson(conn, type_code="kindergarten", minutes=5,
                                  bbox=(lon, lat, lon + 0.001, lat + 0.001))
    assert empty["features"] == []
    with pytest.raises(ValidationError) as err:
        service_areas.geojson(conn, type_code="nope", minutes=5, bbox=(1, 1, 0, 0))
    assert len(err.value.problems) == 2
    assert [p.code for p in err.value.problems] == ["access.unknown_facility_type",
                                                   "access.bad_bbox"]
    assert err.value.headline == "unknown facility type 'nope'"


def test_cached_cell_unions_equal_the_direct_union(conn: Connection) -> None:
    """The quadtree cache (area_union) gives the same polygons as one direct union of all
    buffered pieces; documented tolerance: symmetric difference < 1e-6 of the area."""
    river_town(conn)
    network.build_network(conn)
    g = graph.load_graph(conn)
    pts = to_metric(shapely.points([ll(-20, 120), ll(210, 500)]), g.metric)
    src = distances.Sources.from_snaps(graph.snap_points(g, pts))
    d = distances.node_distances(g, src, 900)
    reaches = [900.0, 300.0, 600.0, 900.0]  # any order, one repeated (served from the cache)
    parts = [service_areas.reached_parts(g, d, src, r) for r in reaches]
    direct = service_areas._polygons(g, parts, 30.0)
    cache = area_union.AreaUnion(g, 30.0)
    cached = [cache.polygon(*p) for p in parts]
    for a, b in zip(direct, cached, strict=True):
        assert shapely.symmetric_difference(a, b).area < 1e-6 * a.area
    assert cached[1].area < cached[2].area < cached[0].area
    assert cached[3] is cached[0]


def test_overlapping_intervals_of_one_edge_are_merged() -> None:
    e = np.array([3, 1, 3, 3, 1])
    s = np.array([0.0, 5.0, 10.0, 50.0, 0.0])
    t = np.array([20.0, 9.0, 30.0, 60.0, 5.0])
    me, ms, mt = area_union.merged_intervals(e, s, t)
    assert me.tolist() == [1, 3, 3]
    assert ms.tolist() == [0.0, 0.0, 50.0]
    assert mt.tolist() == [9.0, 30.0, 60.0]


def test_too_many_facilities_in_view_is_refused(conn: Connection) -> None:
    ids = river_town(conn)
    coverage.refresh(conn)
    with pytest.raises(InputTooLarge) as err:
        service_areas.ensure_facility_areas(conn, [ids["kindergarten"]], max_facilities=0)
    assert err.value.code == "access.too_many_facility_areas"
    assert str(err.value) == ("1 facilities in view; zoom in to see service areas of at most "
                              "0 facilities")
