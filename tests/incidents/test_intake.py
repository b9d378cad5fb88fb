"""Incidents: intake, state machine, due times, masking, duplicates, bulk import, synthesis."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import incidents
from gridmap.db import make_engine
from gridmap.errors import IllegalTransition, ValidationError
from gridmap.incidents import intake, locate
from gridmap.reference.workcal import LOCAL_TZ
from tests.conftest import REPO
from tests.incidents.test_locate import build_world

UTC = dt.UTC


@pytest.fixture
def world(conn: Connection) -> dict[str, int]:
    return build_world(conn)


def _new(conn: Connection, **kw: object) -> dict[str, object]:
    data = {"category": "E0102", "lon": 121.415, "lat": 31.205,
            "reported_at": dt.datetime(2025, 11, 20, 9, 0, tzinfo=LOCAL_TZ)}
    data.update(kw)
    return incidents.create(conn, data, actor="tester")


def test_catalogue_loaded_with_limits(conn: Connection) -> None:
    cats = {c["code"]: c for c in incidents.categories(conn)}
    assert cats["E0102"]["time_limit"] == 4 and cats["E0102"]["time_unit"] == "working_hour"
    assert cats["E0102"]["parent_name"] == "市容环境"
    assert cats["E0401"]["default_urgency"] == "urgent"


def test_create_locates_and_records_intake(conn: Connection, world: dict[str, int]) -> None:
    row = _new(conn, reporter_name="张三", reporter_phone="13812345678", source="hotline")
    assert row["grid_id"] == world["G2"] and row["community_id"] == world["C1"]
    assert row["status"] == "reported" and row["source"] == "hotline_12345"
    assert str(row["case_no"]).startswith("E010220251120")
    hist = incidents.history(conn, int(row["id"]))  # type: ignore[arg-type]
    assert [h["to_state"] for h in hist] == ["reported"] and hist[0]["actor"] == "tester"


def test_create_reports_every_problem(conn: Connection, world: dict[str, int]) -> None:
    with pytest.raises(ValidationError) as exc:
        incidents.create(conn, {"category": "X9999", "lat": 31.2, "urgency": "panic"}, actor="t")
    reasons = " | ".join(p.reason for p in exc.value.problems)
    assert "unknown category" in reasons and "coordinates" in reasons and "urgency" in reasons


def test_full_loop_sets_due_time_at_dispatch(conn: Connection, world: dict[str, int]) -> None:
    row = _new(conn)
    iid = int(row["id"])  # type: ignore[arg-type]
    fri = dt.datetime(2025, 11, 21, 17, 0, tzinfo=LOCAL_TZ)
    incidents.transition(conn, iid, "filed", actor="受理员", at=fri)
    r = incidents.transition(conn, iid, "dispatched", actor="派遣员", at=fri)
    # E0102 暴露垃圾: 4 working hours from Fri 17:00: 0.5 h Friday + 3.5 h Monday → 12:00
    assert r["due_at"] == dt.datetime(2025, 11, 24, 12, 0, tzinfo=LOCAL_TZ)
    for s in ("handling", "handled", "rework", "handling", "handled", "closed", "evaluated"):
        r = incidents.transition(conn, iid, s, actor="x", note=f"to {s}", at=fri)
    assert r["status"] == "evaluated" and r["rework_count"] == 1 and r["closed_at"] == fri
    hist = incidents.history(conn, iid)
    assert len(hist) == 10 and hist[-1]["from_state"] == "closed"
    assert hist[-1]["note"] == "to evaluated" and hist[-1]["to_label"] == "评价"


def test_urgent_case_runs_on_natural_clock(conn: Connection, world: dict[str, int]) -> None:
    row = _new(conn, urgency="urgent")
    iid = int(row["id"])  # type: ignore[arg-type]
    fri = dt.datetime(2025, 11, 21, 17, 0, tzinfo=LOCAL_TZ)
    incidents.transition(conn, iid, "filed", actor="a", at=fri)
    r = incidents.transition(conn, iid, "dispatched", actor="a", at=fri)
    assert r["due_at"] == fri + dt.timedelta(hours=4)


def test_parked_time_and_extension_move_the_deadline(conn: Connection,
                                                     world: dict[str, int]) -> None:
    iid = int(_new(conn, category="E0105")["id"])  # type: ignore[arg-type]  # 15 working days
    t = dt.datetime(2025, 11, 3, 9, 0, tzinfo=LOCAL_TZ)
    incidents.transition(conn, iid, "filed", actor="a", at=t)
    due0 = incidents.transition(conn, iid, "dispatched", actor="a", at=t)["due_at"]
    incidents.transition(conn, iid, "handling", actor="a", at=t)
    incidents.transition(conn, iid, "parked", actor="a", at=t + dt.timedelta(days=1))
    r = incidents.transition(conn, iid, "handling", actor="a", at=t + dt.timedelta(days=11))
    assert r["due_at"] == due0 + dt.timedelta(days=10)  # type: ignore[operator]
    with pytest.raises(IllegalTransition):
        incidents.transition(conn, iid, "extended", actor="a")  # no approved extension
    r2 = incidents.transition(conn, iid, "extended", actor="a", extension=2)
    assert r2["due_at"] > r["due_at"] and r2["extensions"] == 1  # type: ignore[operator]
    with pytest.raises(IllegalTransition, match="higher approval"):
        incidents.transition(conn, iid, "extended", actor="a", extension=1)
    r3 = incidents.transition(conn, iid, "extended", actor="a", extension=1, higher_approval=True)
    assert r3["extensions"] == 2


def test_every_illegal_transition_is_refused(conn: Connection, world: dict[str, int]) -> None:
    iid = int(_new(conn)["id"])  # type: ignore[arg-type]
    refused = 0
    for frm in incidents.STATES:
        conn.execute(sa.text("UPDATE incident SET state = :s WHERE id = :id"),
                     {"s": frm, "id": iid})
        for to in incidents.STATES:
            if to in incidents.TRANSITIONS[frm]:
                continue
            with pytest.raises(IllegalTransition):
                incidents.transition(conn, iid, to, actor="a", extension=1)
            refused += 1
        assert incidents.get(conn, iid)["status"] == frm  # nothing changed
    assert refused == 144 - sum(len(v) for v in incidents.TRANSITIONS.values())
    assert len(incidents.history(conn, iid)) == 1


def test_masking_rules() -> None:
    assert incidents.mask_phone("13812345678") == "138****5678"
    assert incidents.mask_name("张三") == "张*"
    assert incidents.mask_name("欧阳娜娜") == "欧***"
    row = {"reporter_name": "张三", "reporter_phone": "13812345678", "street_id": 1,
           "community_id": 10}
    own = incidents.masked_for(row, role="supervisor", street_ids=[], community_ids=[10])
    assert own["reporter_phone"] == "13812345678"
    other = incidents.masked_for(row, role="supervisor", street_ids=[2], community_ids=[11])
    assert other["reporter_phone"] == "138****5678" and other["reporter_name"] == "张*"
    street = incidents.masked_for(row, role="supervisor", street_ids=[1], community_ids=[])
    assert street["reporter_name"] == "张三"
    officer = incidents.masked_for(row, role="officer", street_ids=None, community_ids=None)
    assert officer["reporter_phone"] == "138****5678"
    district = incidents.masked_for(row, role="supervisor", street_ids=None, community_ids=None)
    assert district["reporter_phone"] == "13812345678"


def test_duplicates_flagged_and_linked_not_rejected(conn: Connection,
                                                    world: dict[str, int]) -> None:
    t = dt.datetime(2025, 11, 20, 9, 0, tzinfo=LOCAL_TZ)
    first = _new(conn, reported_at=t)
    near = _new(conn, lon=121.4153, lat=31.205, reported_at=t + dt.timedelta(hours=3))  # ~29 m
    far = _new(conn, lon=121.4160, lat=31.205, reported_at=t + dt.timedelta(hours=3))  # ~95 m
    other_cat = _new(conn, category="E0104", lon=121.4153, reported_at=t + dt.timedelta(hours=3))
    late = _new(conn, lon=121.4153, reported_at=t + dt.timedelta(hours=30))
    assert near["duplicate_of"] == first["id"]
    assert far["duplicate_of"] is None and other_cat["duplicate_of"] is None
    assert late["duplicate_of"] is None
    incidents.transition(conn, int(first["id"]), "voided", actor="a")  # type: ignore[arg-type]
    after_void = _new(conn, lon=121.4151, reported_at=t + dt.timedelta(hours=4))
    assert after_void["duplicate_of"] == near["id"]  # the voided one is no longer open


def _csv(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    p = tmp_path / "incidents.csv"
    pd.DataFrame(rows).to_csv(p, index=False)
    return p


GOOD = [
    {"service_request_id": "A1", "service_code": "E0102", "long": 121.415, "lat": 31.205,
     "requested_datetime": "2025-11-20T09:00:00+08:00", "description": "垃圾"},
    {"service_request_id": "A2", "service_code": "E0501", "long": 121.405, "lat": 31.205,
     "requested_datetime": "2025-11-20 10:00", "source": "video"},
]


def test_bulk_import_idempotent_and_dry_run(conn: Connection, world: dict[str, int],
                                            tmp_path: Path) -> None:
    frame = incidents.read_incident_file(_csv(tmp_path, GOOD))
    dry = incidents.import_incidents(conn, frame, dry_run=True)
    assert dry["inserted"] == 2 and dry["dry_run"]
    assert conn.execute(sa.text("SELECT count(*) FROM incident")).scalar_one() == 0
    rep = incidents.import_incidents(conn, frame, actor="me")
    assert rep["inserted"] == 2 and rep["nearest_grid"] == 1  # A2 is in the hole of G1
    again = incidents.import_incidents(conn, frame)
    assert again["inserted"] == 0 and again["skipped_existing"] == 2
    row = conn.execute(sa.text("SELECT reported_at, grid_id FROM incident "
                               "WHERE external_id = 'A2'")).one()
    assert row[0] == dt.datetime(2025, 11, 20, 2, 0, tzinfo=UTC)  # naive = Beijing time
    assert row[1] == world["G1"]


def test_bulk_import_reports_bad_rows_and_writes_nothing(conn: Connection, world: dict[str, int],
                                                         tmp_path: Path) -> None:
    bad = GOOD + [
        {"service_request_id": "B1", "service_code": "E0102", "long": "", "lat": "",
         "requested_datetime": "2025-11-20 10:00"},
        {"service_request_id": "B2", "service_code": "E0102", "long": 31.205, "lat": 121.415,
         "requested_datetime": "2025-11-20 10:00"},
        {"service_request_id": "B3", "service_code": "E0102", "long": 116.4, "lat": 39.9,
         "requested_datetime": "2025-11-20 10:00"},
        {"service_request_id": "B4", "service_code": "ZZ01", "long": 121.415, "lat": 31.205,
         "requested_datetime": "2025-11-20 10:00"},
        {"service_request_id": "B5", "service_code": "E0102", "long": 121.415, "lat": 31.205,
         "requested_datetime": "yesterday-ish"},
    ]
    frame = incidents.read_incident_file(_csv(tmp_path, bad))
    with pytest.raises(ValidationError) as exc:
        incidents.import_incidents(conn, frame)
    by_row = {(p.row, p.reason.split(";")[0]) for p in exc.value.problems}
    assert (3, "missing or non-numeric coordinates") in by_row
    assert (4, "longitude and latitude look swapped") in by_row
    assert (5, "point is outside the district") in by_row
    assert (6, "unknown category 'ZZ01'") in by_row
    assert (7, "unreadable report time") in by_row
    assert {p.row for p in exc.value.problems} == {3, 4, 5, 6, 7}
    assert conn.execute(sa.text("SELECT count(*) FROM incident")).scalar_one() == 0


def test_geojson_and_gcj02_input(conn: Connection, world: dict[str, int], tmp_path: Path) -> None:
    from gridmap.crs import wgs84_to_gcj02

    gx, gy = wgs84_to_gcj02([121.415], [31.205])
    p = tmp_path / "i.geojson"
    p.write_text(pd.io.json.ujson_dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [gx[0], gy[0]]},
         "properties": {"service_code": "E0102", "requested_datetime": "2025-11-20T09:00Z"}}]}))
    rep = incidents.import_incidents(conn, incidents.read_incident_file(p), coords="gcj02")
    assert rep["inserted"] == 1
    lon = conn.execute(sa.text("SELECT ST_X(geom) FROM incident")).scalar_one()
    assert lon == pytest.approx(121.415, abs=1e-5)


def test_synthesise_gives_realistic_mix(conn: Connection, world: dict[str, int]) -> None:
    # more buildings so the points spread over the grids
    conn.execute(sa.text(
        "INSERT INTO building (code, community_id, geom) SELECT 'SB' || i, :c, "
        "ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(121.401 + (i % 19) * 0.001, "
        "31.201 + (i / 19) * 0.001), 4326), 0.0001)) FROM generate_series(0, 150) i"),
        {"c": world["C1"]})
    start = dt.datetime(2025, 9, 1, tzinfo=UTC)
    end = dt.datetime(2025, 11, 1, tzinfo=UTC)
    n = incidents.synthesise(conn, 2000, seed=1, start=start, end=end)
    assert n == 2000
    assert incidents.synthesise(conn, 2000, seed=1, start=start, end=end) == 0  # idempotent
    stats = conn.execute(sa.text(
        "SELECT count(DISTINCT state), count(DISTINCT category_code), count(DISTINCT source), "
        "count(*) FILTER (WHERE closed_at > due_at), count(*) FILTER (WHERE closed_at <= due_at),"
        " count(*) FILTER (WHERE grid_id IS NULL), bool_and(synthetic) FROM incident")).one()
    assert stats[0] >= 5 and stats[1] >= 10 and stats[2] == 6
    assert stats[3] > 50 and stats[4] > stats[3]  # some late, most on time
    assert stats[5] == 0 and stats[6] is True
    ev = conn.execute(sa.text(
        "SELECT count(*) FROM incident i WHERE state = 'closed' AND NOT EXISTS ("
        "SELECT 1 FROM incident_event e WHERE e.incident_id = i.id AND e.to_state = 'closed')")
    ).scalar_one()
    assert ev == 0


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / ".venv" / "bin" / "gridmap"), *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_import_dry_run_bad_file_and_transition(cli_env: dict[str, str],
                                                    tmp_path: Path) -> None:
    eng = make_engine(cli_env["DATABASE_URL"], poolclass=sa.pool.NullPool)
    with eng.begin() as c:
        build_world(c)
    good = _csv(tmp_path, GOOD)
    dry = _cli(cli_env, "import", "incidents", str(good), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run: would import 2" in dry.stdout
    ok = _cli(cli_env, "import", "incidents", str(good))
    assert ok.returncode == 0 and "imported 2" in ok.stdout and "1 outside every grid" in ok.stdout
    again = _cli(cli_env, "import", "incidents", str(good))
    assert "imported 0" in again.stdout and "2 already present" in again.stdout
    bad = tmp_path / "bad.csv"
    pd.DataFrame(GOOD + [{"service_request_id": "X", "service_code": "NOPE", "long": 121.415,
                          "lat": 31.205, "requested_datetime": "2025-11-20 10:00"}]
                 ).to_csv(bad, index=False)
    res = _cli(cli_env, "import", "incidents", str(bad))
    assert res.returncode == 1 and "row 3" in res.stderr and "unknown category" in res.stderr
    with eng.connect() as c:
        iid = c.execute(sa.text("SELECT id FROM incident WHERE external_id = 'A1'")).scalar_one()
        assert c.execute(sa.text("SELECT count(*) FROM incident")).scalar_one() == 2
    t = _cli(cli_env, "incidents", "transition", str(iid), "closed")
    assert t.returncode == 1 and "cannot go from reported" in t.stderr
    t = _cli(cli_env, "incidents", "transition", str(iid), "filed", "--note", "核实")
    assert t.returncode == 0 and "filed (立案)" in t.stdout
    out = tmp_path / "ind.xlsx"
    ind = _cli(cli_env, "incidents", "indicators", "--level", "community", "--from", "2025-11-01",
               "--to", "2025-12-01", "--out", str(out))
    assert ind.returncode == 0 and out.exists()
    # A2 lies in G1's hole: placed in the nearest grid, to be confirmed by a supervisor
    with eng.connect() as c:
        a2 = c.execute(sa.text("SELECT id FROM incident WHERE external_id = 'A2'")).scalar_one()
    ls = _cli(cli_env, "incidents", "confirm-location", str(a2), "--list")
    assert ls.returncode == 0 and "319901001001001\t" in ls.stdout and "current" in ls.stdout
    gone = _cli(cli_env, "incidents", "confirm-location", "999999", "--list")
    assert gone.returncode == 1 and "not found" in gone.stderr
    bad = _cli(cli_env, "incidents", "confirm-location", str(a2), "--grid", "999")
    assert bad.returncode == 1 and "not one of the grids nearest" in bad.stderr
    mv = _cli(cli_env, "incidents", "confirm-location", str(a2), "--grid", "319901001001003")
    assert mv.returncode == 0 and "moved to grid 319901001001003" in mv.stdout, mv.stderr
    with eng.connect() as c:
        assert c.execute(sa.text("SELECT location_confirmed_by FROM incident WHERE id = :i"),
                         {"i": a2}).scalar_one() == "cli"
    eng.dispose()


def test_bulk_index_rebuild_path_keeps_indexes(conn: Connection, world: dict[str, int],
                                               tmp_path: Path) -> None:
    before = conn.execute(sa.text("SELECT count(*) FROM pg_indexes "
                                  "WHERE tablename IN ('incident', 'incident_event')")).scalar_one()
    frame = incidents.read_incident_file(_csv(tmp_path, GOOD))
    rep = incidents.import_incidents(conn, frame, params=incidents.IntakeParams(
        rebuild_indexes_from_rows=1, rebuild_indexes_max_ratio=1e9))
    assert rep["inserted"] == 2
    after = conn.execute(sa.text("SELECT count(*) FROM pg_indexes "
                                 "WHERE tablename IN ('incident', 'incident_event')")).scalar_one()
    assert after == before
    with pytest.raises(sa.exc.IntegrityError):
        with conn.begin_nested():
            conn.execute(sa.text("UPDATE incident SET external_id = 'A1'"))
    with pytest.raises(sa.exc.IntegrityError, match="category"):  # the FK is back too
        with conn.begin_nested():
            conn.execute(sa.text("UPDATE incident SET category_code = 'NOPE'"))


def test_earliest_neighbour_hand_checked() -> None:
    """Duplicate search on metric coordinates: radius, window, category, open state, ties,
    and neighbours across a hash-cell line (49 m apart but in different 50 m cells)."""
    x = np.array([0.0, 10.0, 61.0, 5.0, 0.0, 199.0, 248.0, 300.0, 300.0, 300.0])
    y = np.zeros(10)
    t = np.array([30.0, 40.0, 41.0, 20.0, 5.0, 50.0, 50.0, 10.0, 10.0, 12.0])
    cat = np.array([0, 0, 0, 0, 0, 0, 0, 1, 1, 1])
    usable = np.array([True, True, True, False, True, True, True, True, True, True])
    ids = np.arange(100, 110)
    got = intake._earliest_neighbour(x, y, t, cat, usable, ids, 10, 50.0, 24.0)
    assert got[0] == -1  # row 3 is closer in time but not open; row 4 is 25 h earlier
    assert got[1] == 0   # 10 m and 10 h after row 0
    assert got[2] == -1  # 51 m from row 1
    assert got[6] == 5   # 49 m apart across the 200 m cell line, same time: lower id first
    assert got[5] == -1  # same time as row 6 but the lower id: it is the original
    assert got[7] == -1
    assert got[8] == 7 and got[9] == 7  # same time → lower id; later one → the earliest


@pytest.mark.parametrize("values", [
    ["2025-11-20T09:00:00+08:00", "2025-11-20 09:00", "2025-11-20T01:00:00Z",
     "2025-11-20 01:00:00 UTC", "不是时间", None],  # mixed: row by row
    ["2025-11-20T09:00:00+08:00", "2025-11-20T09:00:00+08:00", "不是时间", None],  # one zone
])
def test_report_times_zone_rules(values: list[str | None]) -> None:
    got = intake._parse_times(intake._stripped(pd.Series(values, dtype="object")))
    nine_beijing = pd.Timestamp("2025-11-20 01:00", tz="UTC")
    assert (got.iloc[:-2] == nine_beijing).all()  # zoned, naive (= Beijing) and UTC agree
    assert got.iloc[-2:].isna().all()  # unreadable and missing are NaT (reported per row)


def test_naive_report_times_fast_path_are_beijing_time() -> None:
    got = intake._parse_times(pd.Series(["2025-11-20 09:00:00"] * 3, dtype="object"))
    assert (got == pd.Timestamp("2025-11-20 01:00", tz="UTC")).all()


def test_chunked_bulk_import_matches_one_pass_assignment(conn: Connection,
                                                         world: dict[str, int]) -> None:
    """A import larger than one COPY chunk (and big enough for the index-rebuild path): every
    row carries exactly what a single assign_points pass gives for its point, and the
    duplicate flags are those of the pure search."""
    rng = np.random.default_rng(7)
    n = incidents.COPY_CHUNK_ROWS + 7_321
    lon = np.round(rng.uniform(121.399, 121.441, n), 6)  # some points outside every grid
    lat = np.round(rng.uniform(31.199, 31.241, n), 6)
    t = pd.Timestamp("2025-11-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 30 * 86400, n),
                                                                 unit="s")
    frame = pd.DataFrame({"external_id": [f"CH-{i}" for i in range(n)],
                          "category_code": np.where(np.arange(n) % 3 == 0, "E0102", "E0501"),
                          "lon": lon.astype(str), "lat": lat.astype(str),
                          "reported_at": t.strftime("%Y-%m-%dT%H:%M:%SZ")})
    rep = incidents.import_incidents(conn, frame, params=incidents.IntakeParams(
        rebuild_indexes_from_rows=10_000, rebuild_indexes_max_ratio=1e9))
    assert rep["inserted"] == n
    got = pd.DataFrame(conn.execute(sa.text(
        "SELECT external_id, grid_id, community_id, street_id, estate_id, building_id, "
        "located_by, near_boundary, duplicate_of IS NOT NULL AS dup FROM incident "
        "WHERE external_id LIKE 'CH-%'")).all(),
        columns=["external_id", "grid_id", "community_id", "street_id", "estate_id",
                 "building_id", "located_by", "near_boundary", "dup"])
    got = got.set_index("external_id").loc[frame["external_id"]]
    want = locate.assign_points(conn, lon, lat, t.tz_localize(None).to_numpy())
    for col in ("grid_id", "community_id", "street_id", "estate_id", "building_id"):
        assert got[col].fillna(-1).astype(int).tolist() == want[col].fillna(-1).astype(int).tolist(), col
    assert got["located_by"].tolist() == want["located_by"].tolist()
    assert got["near_boundary"].tolist() == want["near_boundary"].tolist()
    assert int(got["dup"].sum()) == rep["duplicates"] > 0
    assert rep["nearest_grid"] == int((want["located_by"] == "nearest_grid").sum()) > 0
