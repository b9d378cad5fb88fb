"""Indicators on a small hand-computed table (reference/cases.md §7) and their export."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from sqlalchemy.engine import Connection

from gridmap.incidents import indicators
from tests.fixtures.incident_world import build_world

UTC = dt.UTC
S, E = dt.datetime(2025, 11, 1, tzinfo=UTC), dt.datetime(2025, 12, 1, tzinfo=UTC)


def d(month: int, day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, tzinfo=UTC)


# (grid, state, dispatched, due, closed)
CASES = [
    ("G1", "closed", d(11, 2), d(11, 5), d(11, 4)),     # 1 on time, 48 h
    ("G1", "closed", d(11, 3), d(11, 6), d(11, 8)),     # 2 late, 120 h
    ("G1", "handling", d(11, 10), d(11, 12), None),     # 3 overdue, open
    ("G1", "closed", d(10, 25), d(10, 28), d(11, 2)),   # 4 filed/due in Oct; closed Nov: 192 h
    ("G1", "dispatched", d(11, 28), d(12, 3), None),    # 5 filed in Nov, due in Dec
    ("G1", "voided", None, d(11, 5), None),             # 6 voided: never counts
    ("G2", "evaluated", d(11, 5), d(11, 7), d(11, 6)),  # 7 on time, 24 h
]
# (case index, to_state, at)
EVENTS = [(0, "handled", d(11, 3)), (1, "handled", d(11, 6)), (1, "rework", d(11, 6, 12)),
          (1, "handled", d(11, 7)), (3, "handled", d(11, 1)), (6, "handled", d(11, 5, 12)),
          (3, "handled", d(10, 30))]


@pytest.fixture
def table(conn: Connection) -> dict[str, int]:
    w = build_world(conn)
    ids = []
    for grid, state, disp, due, closed in CASES:
        ids.append(conn.execute(sa.text(
            "INSERT INTO incident (category_code, state, reported_at, geom, grid_id, "
            "community_id, street_id, dispatched_at, due_at, closed_at) VALUES ('E0102', :st, "
            ":rep, ST_SetSRID(ST_MakePoint(121.41, 31.205), 4326), :g, :c, :s, :disp, :due, :cl) "
            "RETURNING id"),
            {"st": state, "rep": d(10, 1), "g": w[grid], "c": w["C1"], "s": w["S"],
             "disp": disp, "due": due, "cl": closed}).scalar_one())
    for i, to, at in EVENTS:
        conn.execute(sa.text("INSERT INTO incident_event (incident_id, at, to_state) "
                             "VALUES (:i, :at, :to)"), {"i": ids[i], "at": at, "to": to})
    return w


def test_grid_indicators_by_hand(conn: Connection, table: dict[str, int]) -> None:
    rows = {r["unit_id"]: r for r in indicators.compute(conn, "grid", S, E, as_of=E)}
    g1, g2 = rows[table["G1"]], rows[table["G2"]]
    assert (g1["filed"], g1["due"], g1["closed"], g1["closed_on_time"], g1["overdue_open"]) == \
        (4, 3, 2, 1, 1)
    assert g1["close_rate"] == 66.67 and g1["on_time_rate"] == 33.33
    assert (g1["handled"], g1["rework"], g1["rework_rate"]) == (4, 1, 25.0)
    assert g1["median_hours"] == 120.0 and g1["p90_hours"] == 177.6
    assert (g2["filed"], g2["due"], g2["closed"], g2["close_rate"], g2["rework_rate"]) == \
        (1, 1, 1, 100.0, 0.0)
    assert g2["median_hours"] == 24.0
    assert table["G3"] not in rows  # no cases, not listed unless asked
    everything = indicators.compute(conn, "grid", S, E, as_of=E, all_units=True)
    assert table["G3"] in {r["unit_id"] for r in everything}


def test_community_and_street_roll_up(conn: Connection, table: dict[str, int]) -> None:
    for level, unit in (("community", "C1"), ("street", "S")):
        r = {x["unit_id"]: x for x in indicators.compute(conn, level, S, E, as_of=E)}[table[unit]]
        assert (r["filed"], r["due"], r["closed"], r["closed_on_time"], r["overdue_open"]) == \
            (5, 4, 3, 2, 1)
        assert r["close_rate"] == 75.0 and r["on_time_rate"] == 50.0 and r["rework_rate"] == 20.0
        assert r["median_hours"] == 84.0 and r["p90_hours"] == 170.4


def test_as_of_mid_period(conn: Connection, table: dict[str, int]) -> None:
    # on Nov 7: case 2 (due Nov 6) is overdue and not yet closed; case 3 not yet due
    r = {x["unit_id"]: x for x in indicators.compute(conn, "grid", S, E, as_of=d(11, 7))}
    g1 = r[table["G1"]]
    assert (g1["due"], g1["closed"], g1["overdue_open"]) == (2, 1, 1)


def test_export_csv_and_xlsx(conn: Connection, table: dict[str, int], tmp_path: Path) -> None:
    rows = indicators.compute(conn, "grid", S, E, as_of=E)
    p = indicators.export(rows, tmp_path / "ind.csv")
    with open(p, encoding="utf-8-sig") as fh:
        recs = list(csv.DictReader(fh))
    assert recs[0]["结案率(%)"] == "66.67" and len(recs) == 2
    x = indicators.export(rows, tmp_path / "ind.xlsx", lang="en")
    ws = load_workbook(x).active
    assert ws is not None
    assert ws.cell(1, 7).value == "closure rate (%)" and ws.cell(2, 7).value == 66.67


def test_choropleth_features(conn: Connection, table: dict[str, int]) -> None:
    fc = indicators.grid_choropleth(conn, S, E, bbox=(121.39, 31.19, 121.45, 31.25))
    assert len(fc["features"]) == 3
    props = {f["id"]: f["properties"] for f in fc["features"]}
    assert props[table["G3"]]["filed"] == 0
    scoped = indicators.grid_choropleth(conn, S, E, bbox=(121.39, 31.19, 121.45, 31.25),
                                        street_ids=[], community_ids=[table["C2"]])
    assert scoped["features"] == []


def test_area_composite_score_and_grade_by_hand(conn: Connection, table: dict[str, int]) -> None:
    # case 7 (G2) came in through the 12345 hotline: a report the grid workers did not make
    conn.execute(sa.text("UPDATE incident SET source = 'hotline_12345' WHERE grid_id = :g"),
                 {"g": table["G2"]})
    rows = {r["unit_id"]: r for r in indicators.compute(conn, "grid", S, E, as_of=E)}
    g1, g2 = rows[table["G1"]], rows[table["G2"]]
    # G1: 监督举报率 0 → 100; 4 filed per grid in 30 days → 75; 结案率 66.67; 按期 33.33
    assert (g1["public_rate"], g1["filed_per_grid_month"]) == (0.0, 4.0)
    assert g1["score"] == 58.3 and g1["grade"] == "D"
    # G2: 监督举报率 100 → 0; 1 filed → 90; both rates 100
    assert g2["public_rate"] == 100.0 and g2["score"] == 88.0 and g2["grade"] == "B"
    # the reference's printed weight for 按期结案率 (10 %, weights summing to 70 %)
    as_printed = indicators.AreaScoring(weight_on_time_rate=10.0)
    g1p = {r["unit_id"]: r for r in indicators.compute(
        conn, "grid", S, E, as_of=E, scoring=as_printed)}[table["G1"]]
    assert g1p["score"] == round((1000 + 1500 + 30 * 66.67 + 10 * 33.33) / 70, 1)
    # 二类区域: 4 per grid-month is still under 6 → 75; community: 5 filed over its 3 grids
    c1 = {r["unit_id"]: r for r in indicators.compute(conn, "community", S, E, as_of=E)}[
        table["C1"]]
    assert c1["filed_per_grid_month"] == 1.67 and c1["public_rate"] == 20.0
    assert c1["score"] == round((10 * 80 + 20 * 90 + 30 * 75 + 40 * 50) / 100, 1)
    assert c1["grade"] == "C"


def test_area_scoring_tables() -> None:
    s = indicators.AreaScoring()
    assert [s.filed_score(x) for x in (0, 2.99, 3, 4.9, 6, 8.5, 9)] == [100, 90, 75, 75, 60, 40, 0]
    s2 = indicators.AreaScoring(area_class=2)
    assert [s2.filed_score(x) for x in (3, 9, 10)] == [90, 40, 0]
    assert [s.grade(x) for x in (90, 89.9, 75, 60, 40, 39.9)] == ["A", "B", "B", "C", "D", "E"]
