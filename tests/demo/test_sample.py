"""The sample district (gridmap.sample): real Chelsea OSM data + seeded synthetic administration."""

from __future__ import annotations

import networkx as nx
import numpy as np
import sqlalchemy as sa
from shapely.geometry import box
from sqlalchemy.engine import Connection

from gridmap.demo import sample
from gridmap.reference import codes

FAST = sample.SampleParams(with_network=False, incidents=0)
FASTEST = sample.SampleParams(with_network=False, incidents=0, use_grids_module=False)


def _counts(conn: Connection) -> dict[str, int]:
    tables = ("district", "street", "community", "grid", "building", "street_block", "facility")
    return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()  # noqa: S608
            for t in tables}


def test_sample_loads_with_valid_codes_and_nested_contiguous_geometry(conn: Connection) -> None:
    report = sample.load_sample(conn, params=FAST)
    assert not report.already_loaded
    assert 8 <= len(report.communities) <= 12
    comm = conn.execute(sa.text(
        """SELECT c.code, s.code, c.synthetic, c.name, ST_NumGeometries(c.geom),
                  ST_Area(ST_Difference(c.geom, s.geom)::geography),
                  ST_Area(ST_Difference(s.geom, d.geom)::geography)
           FROM community c JOIN street s ON s.id = c.street_id
           JOIN district d ON d.id = s.district_id
           WHERE c.import_id = :i"""), {"i": report.import_id}).all()
    community_codes = [r[0] for r in comm]
    assert all(len(c) == 12 and c.isdigit() for c in community_codes)
    assert codes.unknown_codes(conn, "community", community_codes) == set()
    for code, street_code, synthetic, name, parts, outside_street, outside_district in comm:
        assert code.startswith(street_code) and synthetic and "合成" in name
        assert parts == 1  # contiguous
        assert outside_street < 0.01 and outside_district < 0.01  # m²
    grids = conn.execute(sa.text(
        """SELECT g.grid_code, c.code, g.synthetic FROM grid g
           JOIN community c ON c.id = g.community_id WHERE c.import_id = :i"""),
        {"i": report.import_id}).all()
    assert len(grids) >= len(comm)
    assert all(len(g) == 15 and g.startswith(c) and syn for g, c, syn in grids)
    active = conn.execute(sa.text(
        """SELECT count(*) FROM grid_version v JOIN community c ON c.id = v.community_id
           WHERE c.import_id = :i AND v.status = 'active'"""), {"i": report.import_id}).scalar_one()
    assert active == len(comm)
    # the real buildings are assigned to the synthetic communities
    assigned, total = conn.execute(sa.text(
        "SELECT count(community_id), count(*) FROM building WHERE source = 'osm:chelsea.osm.pbf'")
    ).one()
    assert total >= 3900 and assigned >= 0.95 * total
    assert report.buildings_assigned == assigned
    assert "OpenStreetMap" in "\n".join(report.lines())
    info = sample.sample_info(conn)
    assert info is not None and info["communities"] == len(comm)


def test_second_load_adds_nothing(conn: Connection) -> None:
    sample.load_sample(conn, params=FASTEST)
    before = _counts(conn)
    again = sample.load_sample(conn, params=FASTEST)
    assert again.already_loaded
    assert _counts(conn) == before
    assert "nothing loaded again" in again.lines()[0]


def test_partition_connected_gives_connected_balanced_parts() -> None:
    cells = [box(x, y, x + 1, y + 1) for y in range(5) for x in range(6)]
    geoms = np.array(cells, dtype=object)
    graph = sample.adjacency_graph(geoms, min_shared_m=0.5)
    assert graph.number_of_edges() == 5 * 5 + 6 * 4  # corner touches are not adjacency
    pts = np.array([[c.centroid.x, c.centroid.y] for c in cells])
    parts = sample.partition_connected(graph, list(range(30)), np.ones(30), pts, 4)
    assert len(parts) == 4
    assert sorted(n for p in parts for n in p) == list(range(30))
    for p in parts:
        assert nx.is_connected(graph.subgraph(p))
        assert 5 <= len(p) <= 10


def test_partition_connected_never_strands_a_dead_end() -> None:
    # a comb: a spine with teeth; greedy growth must not cut teeth off the rest
    cells = [box(x, 0, x + 1, 1) for x in range(8)] + [box(x, 1, x + 1, 3) for x in range(0, 8, 2)]
    geoms = np.array(cells, dtype=object)
    graph = sample.adjacency_graph(geoms, min_shared_m=0.5)
    pts = np.array([[c.centroid.x, c.centroid.y] for c in cells])
    parts = sample.partition_connected(graph, list(range(len(cells))), np.ones(len(cells)), pts, 3)
    assert all(nx.is_connected(graph.subgraph(p)) for p in parts)
    assert sum(len(p) for p in parts) == len(cells)


def test_full_demo_sample_has_recent_incidents_network_and_coverage(conn: Connection) -> None:
    """What `scripts/demo.sh` loads: the supervisor's default 30-day window and the
    planner's coverage must both show data right after setup."""
    report = sample.load_sample(conn, params=sample.SampleParams(incidents=300))
    assert report.incidents == 300
    recent = conn.execute(sa.text(
        "SELECT count(*) FROM incident WHERE reported_at > now() - interval '30 days'"
    )).scalar_one()
    assert recent > 50
    covered = conn.execute(sa.text("SELECT count(*) FROM building_coverage")).scalar_one()
    assert covered > 0
    assert report.network is not None and report.coverage is not None
