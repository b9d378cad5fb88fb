"""The synthetic city generator on the tiny preset (real PostGIS)."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import city
from gridmap.errors import Conflict, ValidationError

_DIGEST_SQL = (
    "SELECT code, name, ST_AsText(geom) FROM community ORDER BY code",
    "SELECT code, households, residents, levels, ST_AsText(geom) FROM building ORDER BY code",
    "SELECT g.grid_code, ST_AsText(gg.geom) FROM grid g JOIN grid_geometry gg ON gg.grid_id = g.id"
    " ORDER BY 1",
    "SELECT type_code, ST_AsText(geom) FROM facility ORDER BY 1, 2",
    "SELECT external_id, category_code, state, reported_at, ST_AsText(geom), g.grid_code "
    "FROM incident i JOIN grid g ON g.id = i.grid_id ORDER BY external_id",
)


def _digest(conn: Connection) -> str:
    h = hashlib.sha256()
    for q in _DIGEST_SQL:
        for row in conn.execute(sa.text(q)):
            h.update(repr(tuple(row)).encode())
    return h.hexdigest()


def _tiny(conn: Connection, seed: int) -> tuple[city.CityReport, str]:
    sp = conn.begin_nested()
    report = city.generate(conn, "tiny", seed)
    digest = _digest(conn)
    sp.rollback()
    return report, digest


def test_same_seed_same_city_other_seed_another(conn: Connection) -> None:
    first, d1 = _tiny(conn, 7)
    second, d2 = _tiny(conn, 7)
    _, d3 = _tiny(conn, 8)
    assert d1 == d2
    assert d3 != d1
    assert first.buildings == second.buildings == 2 * 3 * 2 * 9


def test_tiny_city_is_a_real_hierarchy_with_located_incidents(conn: Connection) -> None:
    r = city.generate(conn, "tiny", 1)
    assert (r.districts, r.streets, r.communities) == (1, 2, 6)
    # real NBS codes: 12-digit committees under 9-digit streets under 徐汇区 310104
    bad = conn.execute(sa.text(
        "SELECT count(*) FROM community c JOIN street s ON s.id = c.street_id "
        "JOIN district d ON d.id = s.district_id WHERE d.code = '310104' AND "
        "(length(c.code) <> 12 OR left(c.code, 9) <> s.code OR NOT ST_CoveredBy(c.geom, s.geom)"
        " OR NOT ST_CoveredBy(s.geom, d.geom))")).scalar_one()
    assert bad == 0
    assert conn.execute(sa.text("SELECT count(*) FROM community WHERE code LIKE '310104%'")
                        ).scalar_one() == 6
    # every building has households and lies in an active grid of its community
    outside = conn.execute(sa.text(
        "SELECT count(*) FROM building b WHERE b.households <= 0 OR NOT EXISTS ("
        " SELECT 1 FROM grid_geometry gg JOIN grid_version v ON v.id = gg.version_id"
        " WHERE v.status = 'active' AND v.community_id = b.community_id"
        " AND ST_Intersects(gg.geom, ST_PointOnSurface(b.geom)))")).scalar_one()
    assert outside == 0
    assert r.grids >= r.communities and r.network_edges > r.roads
    levels = conn.execute(sa.text(
        "SELECT count(*), count(street_id), count(community_id), count(grid_id) FROM incident"
    )).one()
    assert levels == (3000, 3000, 3000, 3000)


def test_incidents_follow_the_week_and_the_day(conn: Connection) -> None:
    city.generate(conn, "tiny", 2, incidents_per_year=20_000)
    by = dict(conn.execute(sa.text(
        "SELECT extract(isodow FROM reported_at AT TIME ZONE 'Asia/Shanghai') > 5, count(*) "
        "FROM incident GROUP BY 1")).all())
    assert by[False] / 5 > 1.2 * by[True] / 2  # weekdays busier than weekends
    night, morning = conn.execute(sa.text(
        "SELECT count(*) FILTER (WHERE h BETWEEN 2 AND 4), count(*) FILTER (WHERE h BETWEEN 9 "
        "AND 11) FROM (SELECT extract(hour FROM reported_at AT TIME ZONE 'Asia/Shanghai') h "
        "FROM incident) t")).one()
    assert morning > 10 * night
    # clustered: the busiest 5 % of buildings draw far more than 5 % of the cases
    share = conn.execute(sa.text(
        "SELECT sum(n) FILTER (WHERE r <= 0.05) / sum(n) FROM (SELECT count(*) n, "
        "cume_dist() OVER (ORDER BY count(*) DESC) r FROM incident "
        "WHERE building_id IS NOT NULL GROUP BY building_id) t")).scalar_one()
    assert share > 0.15  # three times a uniform spread


def test_bad_preset_and_taken_codes_are_reported(conn: Connection) -> None:
    with pytest.raises(ValidationError) as err:
        city.generate(conn, "atlantis", 0)
    assert err.value.code == "city.unknown_preset"
    with pytest.raises(ValidationError) as err:
        city.generate(conn, city.CityParams(districts=("310104",), building_rows=0, years=0), 0)
    assert {p.params["name"] for p in err.value.problems} == {"building_rows", "years"}
    city.generate(conn, "tiny", 0, incidents_per_year=0)
    with pytest.raises(Conflict):
        city.generate(conn, "tiny", 0)
