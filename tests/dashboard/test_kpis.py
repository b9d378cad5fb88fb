"""Dashboard KPIs and rankings on the hand-made case set of :mod:`tests.dashboard.cases`."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Connection

from gridmap.accounts.scope import ALL, Scope
from gridmap.dashboard import DashboardParams, areas, kpis
from gridmap.errors import NotFound, PermissionDenied
from gridmap.incidents import indicators
from tests.dashboard.cases import NOW, build_cases

PARAMS = DashboardParams(dashboard_cache_seconds=0)
PICK = ("open", "overdue", "open_urgent", "reported", "due", "closed", "closed_on_time",
        "close_rate", "on_time_rate", "closed_any", "closed_grid", "grid_rate", "rated",
        "satisfied", "satisfaction_rate", "mean_satisfaction")


def _pick(d: dict) -> tuple:
    return tuple(d[k] for k in PICK)


def test_district_kpis_by_hand(conn: Connection) -> None:
    build_cases(conn)
    out = kpis.compute(conn, areas.resolve(conn, ALL, None), PARAMS, NOW)
    # open A, D; overdue A; urgent open A (应急), D (重点); reported in the period A B C D F G;
    # due in the period A B C G (F voided, D due later); closed of those B C G, on time B G;
    # closed in the period B C G, at grid level B G; rated C (5) G (3), satisfied C.
    assert _pick(out["kpis"]) == (2, 1, 2, 6, 4, 3, 2, 75.0, 50.0, 3, 2, 66.67, 2, 1, 50.0, 4.0)
    assert [(c["name"], c["open"]) for c in out["children"]] == [("S", 2)]


def test_street_ranks_communities_and_matches_area_indicators(conn: Connection) -> None:
    ids = build_cases(conn)
    street = areas.resolve(conn, ALL, "319901001")
    out = kpis.compute(conn, street, PARAMS, NOW)
    got = {c["name"]: (c["open"], c["overdue"], c["due"], c["closed"], c["close_rate"],
                       c["on_time_rate"]) for c in out["children"]}
    assert got == {"C1": (1, 1, 3, 2, 66.67, 33.33), "C2": (1, 0, 1, 1, 100.0, 100.0)}
    assert [c["name"] for c in out["children"]] == ["C1", "C2"]  # more overdue first
    # 结案率/按期结案率 are those of the supervisor page's area indicators
    ref = indicators.compute(conn, "community", NOW - dt.timedelta(days=30), NOW, as_of=NOW,
                             unit_ids=[ids["C1"], ids["C2"]])
    assert {r["name"]: (r["close_rate"], r["on_time_rate"]) for r in ref} == {
        k: v[4:] for k, v in got.items()}


def test_drill_down_to_community_ranks_grids(conn: Connection) -> None:
    build_cases(conn)
    c1 = areas.resolve(conn, ALL, "319901001001")
    assert [t["level"] for t in c1.trail] == ["district", "street", "community"]
    out = kpis.compute(conn, c1, PARAMS, NOW)
    assert out["kpis"]["open"] == 1 and out["kpis"]["reported"] == 4
    assert [(g["name"], g["reported"]) for g in out["children"]] == [
        ("G1", 2), ("G2", 1), ("G3", 1)]


def test_scoped_viewer_sees_only_their_community(conn: Connection) -> None:
    ids = build_cases(conn)
    scope = Scope(frozenset({ids["C2"]}), role="supervisor")
    area = areas.resolve(conn, scope, None)
    assert (area.level, area.name) == ("community", "C2")
    out = kpis.compute(conn, area, PARAMS, NOW)
    assert (out["kpis"]["open"], out["kpis"]["reported"], out["kpis"]["close_rate"]) == (
        1, 2, 100.0)
    street = kpis.compute(conn, areas.resolve(conn, scope, "319901001"), PARAMS, NOW)
    assert street["kpis"]["open"] == 1  # C1's case A stays invisible in the street view
    with pytest.raises(PermissionDenied):
        areas.resolve(conn, scope, "319901001001")
    with pytest.raises(NotFound):
        areas.resolve(conn, ALL, "nope")
