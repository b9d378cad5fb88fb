"""The transactional write: upsert by code, on_existing, dry runs, spatial links, all or
nothing on failure, and the bulk load of awkward names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from shapely.geometry import box
from sqlalchemy.engine import Connection

from gridmap.db import make_engine
from gridmap.imports import boundaries, write
from gridmap.imports.boundaries import ImportRefused, IngestParams, import_boundaries
from tests.fixtures.boundary_world import (
    COMM_1,
    COMM_3,
    DISTRICT,
    STREET,
    count,
    district_file,
    frame,
    seed_street,
)


def test_reimport_upserts_by_code(conn: Connection, tmp_path: Path) -> None:
    seed_street(conn, tmp_path)
    comms = frame([{"code": "310107005001", "name": None, "geometry": COMM_1},
                   {"code": "310107005003", "name": "花溪园", "geometry": COMM_3}])
    first = import_boundaries(conn, comms, level="community")
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    again = import_boundaries(conn, comms, level="community")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    comms.loc[1, "name"] = "花溪园居委会"
    third = import_boundaries(conn, comms, level="community")
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 1)
    rows = conn.execute(sa.text(
        "SELECT c.code, c.name, s.code FROM community c JOIN street s ON s.id = c.street_id"
        " ORDER BY c.code")).all()
    # a missing name is filled from the division catalogue
    assert [tuple(r) for r in rows] == [("310107005001", "源园居委会", "310107005"),
                                        ("310107005003", "花溪园居委会", "310107005")]
    run = conn.execute(sa.text("SELECT kind, report FROM import_run WHERE id = :id"),
                       {"id": third.import_id}).one()
    assert run.kind == "boundaries:community" and run.report["updated"] == 1


def test_on_existing_skip_and_error(conn: Connection, tmp_path: Path) -> None:
    import_boundaries(conn, district_file(tmp_path), level="district")
    renamed = frame([{"code": "310107", "name": "改名", "geometry": DISTRICT}])
    skipped = import_boundaries(conn, renamed, level="district",
                                params=IngestParams(on_existing="skip"))
    assert skipped.skipped == 1
    assert conn.execute(sa.text("SELECT name FROM district")).scalar_one() == "普陀区"
    with pytest.raises(ImportRefused, match="already exists in the database"):
        import_boundaries(conn, renamed, level="district",
                          params=IngestParams(on_existing="error"))


def test_dry_run_counts_and_writes_nothing(conn: Connection, tmp_path: Path) -> None:
    runs = count(conn, "import_run")
    report = import_boundaries(conn, district_file(tmp_path), level="district", dry_run=True)
    assert report.dry_run and report.inserted == 1 and report.import_id is None
    assert count(conn, "district") == 0 and count(conn, "import_run") == runs


def test_estates_and_buildings_are_linked_spatially(conn: Connection, tmp_path: Path) -> None:
    seed_street(conn, tmp_path)
    import_boundaries(conn, frame([{"code": "310107005001", "name": "源园", "geometry": COMM_1},
                                   {"code": "310107005003", "name": "花溪", "geometry": COMM_3}]),
                      level="community")
    # mostly in community 003, a little in 001
    estate = box(121.399, 31.225, 121.41, 31.235)
    rep = import_boundaries(conn, frame([{"name": "曹杨一村", "geometry": estate}]),
                            level="estate")
    assert rep.inserted == 1 and rep.unlinked == 0
    again = import_boundaries(conn, frame([{"name": "曹杨一村", "geometry": estate}]),
                              level="estate")
    assert again.inserted == 0 and again.unchanged == 1  # code-less rows match by geometry
    buildings = frame([
        {"code": "B1", "households": 24, "levels": 6,
         "geometry": box(121.401, 31.226, 121.4012, 31.2262)},        # in the estate
        {"code": "B2", "geometry": box(121.385, 31.226, 121.3852, 31.2262)},  # community 001
        {"code": "B3", "geometry": box(121.30, 31.21, 121.3002, 31.2102)},    # in no community
    ])
    rep = import_boundaries(conn, buildings, level="building")
    assert rep.inserted == 3 and rep.unlinked == 1  # B3 lies in no community
    rows = {r.code: r for r in conn.execute(sa.text(
        "SELECT b.code, e.name AS estate, c.code AS community, b.households,"
        " b.population_source, b.residential, b.footprint_m2, b.source_crs"
        " FROM building b LEFT JOIN estate e ON e.id = b.estate_id"
        " LEFT JOIN community c ON c.id = b.community_id"))}
    assert rows["B1"].estate == "曹杨一村" and rows["B1"].community == "310107005003"
    assert rows["B1"].households == 24 and rows["B1"].population_source == "imported"
    assert rows["B1"].residential and 300 < rows["B1"].footprint_m2 < 500
    assert rows["B2"].estate is None and rows["B2"].community == "310107005001"
    assert rows["B2"].population_source == "none"
    assert rows["B3"].community is None and rows["B3"].source_crs == "EPSG:4326"
    assert conn.execute(sa.text(
        "SELECT c.code FROM estate e JOIN community c ON c.id = e.community_id")
    ).scalar_one() == "310107005003"


def test_buildings_and_estates_imported_first_are_linked_when_communities_arrive(
        conn: Connection, tmp_path: Path) -> None:
    seed_street(conn, tmp_path)
    # an OSM-style order: buildings and estates first, no community boundaries yet
    b = import_boundaries(conn, frame([
        {"code": "B1", "geometry": box(121.401, 31.226, 121.4012, 31.2262)},
        {"code": "B2", "geometry": box(121.385, 31.226, 121.3852, 31.2262)},
        {"code": "B3", "geometry": box(121.30, 31.21, 121.3002, 31.2102)}]), level="building")
    assert b.unlinked == 3
    est = import_boundaries(conn, frame([{"name": "曹杨一村",
                                          "geometry": box(121.399, 31.225, 121.41, 31.235)}]),
                            level="estate")
    assert est.linked == {"building": 1}  # B1 lies in the estate
    rep = import_boundaries(conn, frame([
        {"code": "310107005001", "name": "源园", "geometry": COMM_1},
        {"code": "310107005003", "name": "花溪", "geometry": COMM_3}]), level="community")
    assert rep.linked == {"building": 2, "estate": 1, "street_block": 0}
    assert any("linked where missing: 2 building(s)" in line for line in rep.summary_lines())
    got = dict(conn.execute(sa.text(
        "SELECT b.code, c.code FROM building b LEFT JOIN community c ON c.id = b.community_id")
    ).all())
    assert got == {"B1": "310107005003", "B2": "310107005001", "B3": None}
    assert conn.execute(sa.text("SELECT b.code FROM building b JOIN estate e "
                                "ON e.id = b.estate_id")).scalar_one() == "B1"


def test_failure_in_the_middle_leaves_database_unchanged(
    fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(fresh_db_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        import_boundaries(conn, district_file(tmp_path), level="district")

    def snapshot() -> tuple[object, ...]:
        with engine.connect() as c:
            return tuple(c.execute(sa.text(
                "SELECT (SELECT count(*) FROM district), (SELECT count(*) FROM street),"
                " (SELECT count(*) FROM import_run),"
                " (SELECT string_agg(md5(code || name || ST_AsEWKB(geom)::text), ',')"
                "  FROM district)")).one())

    before = snapshot()

    def boom(conn: Connection, report: boundaries.ImportReport) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(write, "finish_run", boom)
    streets = frame([{"code": "310107005", "name": "曹杨新村街道", "geometry": STREET}])
    renamed = frame([{"code": "310107", "name": "改名", "geometry": DISTRICT}])
    for rows, level in ((streets, "street"), (renamed, "district")):
        with pytest.raises(RuntimeError, match="disk full"), engine.begin() as conn:
            import_boundaries(conn, rows, level=level)
        assert snapshot() == before
    # the same failure inside a caller's longer transaction: the savepoint is undone,
    # the caller's own earlier work survives
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO import_run (kind) VALUES ('caller')"))
        with pytest.raises(RuntimeError):
            import_boundaries(conn, streets, level="street")
    after = snapshot()
    assert after[:2] == before[:2] and after[2] == before[2] + 1 and after[3] == before[3]
    engine.dispose()


def test_import_report_is_json_serialisable(conn: Connection, tmp_path: Path) -> None:
    report = import_boundaries(conn, district_file(tmp_path), level="district")
    data = json.loads(json.dumps(report.as_dict()))
    assert data["inserted"] == 1 and data["region"] is not None


def test_names_with_csv_special_characters_survive_the_bulk_load(conn: Connection) -> None:
    names = ['曹杨"一村", 东区', "两行\n名称", "back\\slash\ttab"]
    rows = frame([{"name": n, "geometry": box(121.40 + i * 0.001, 31.22, 121.4005 + i * 0.001,
                                               31.2205)} for i, n in enumerate(names)])
    assert import_boundaries(conn, rows, level="estate").inserted == 3
    stored = conn.execute(sa.text("SELECT name FROM estate ORDER BY id")).scalars().all()
    assert stored == names
