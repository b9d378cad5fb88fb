"""The sample district (gridmap.demo.sample): real Chelsea OSM data + seeded synthetic
administration, grids activated through the versions API, incidents, network and coverage."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import grids
from gridmap.demo import sample
from gridmap.reference import codes
from tests.fixtures.grids import errors_of

FAST = sample.SampleParams(with_network=False, incidents=0)
FASTEST = sample.SampleParams(with_network=False, incidents=0, with_grids=False)


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


def test_sample_district_plans_are_valid_and_in_range(conn: Connection) -> None:
    report = sample.load_sample(conn, params=sample.SampleParams(with_network=False, incidents=0))
    assert report.grid_method.startswith("gridmap.grids"), report.notes
    sizes: list[int] = []
    for c in report.communities:
        vid = grids.active_version(conn, int(c["id"]))
        assert vid is not None
        assert errors_of(grids.validate(conn, vid)) == []
        sizes += [g["households"] for g in grids.version_grids(conn, vid)]
    in_range = sum(300 <= s <= 500 for s in sizes) / len(sizes)
    # Real Chelsea data has tower blocks of 1,000-2,250 households (a grid each, above the
    # range) and blocks whose cells touch only at corners; see docs/grids.md.
    assert 0 not in sizes
    assert in_range >= 0.75, sorted(sizes)
