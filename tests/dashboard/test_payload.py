"""The first-paint payload: urgent cases, cache, map shapes, access."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts.scope import ALL
from gridmap.accounts.users import User
from gridmap.dashboard import DashboardParams, area_shapes, first_paint, heat, may_view
from gridmap.errors import ValidationError
from tests.dashboard.cases import NOW, build_cases


def test_first_paint_has_everything_and_is_small(conn: Connection) -> None:
    ids = build_cases(conn)
    out = first_paint(conn, ALL, None, DashboardParams(), now=NOW)
    assert set(out) >= {"area", "kpis", "children", "units", "trends", "urgent", "as_of"}
    # 应急/重点 cases newest first; the voided urgent case F is left out; A is overdue
    assert [(u["id"], u["urgency"], u["overdue"]) for u in out["urgent"]] == [
        (ids["D"], "key", False), (ids["A"], "urgent", True)]
    assert "reporter_phone" not in out["urgent"][0]
    assert len(json.dumps(out, ensure_ascii=False)) < 20_000


def test_cache_returns_the_same_payload_within_ttl(conn: Connection) -> None:
    build_cases(conn)
    params = DashboardParams(dashboard_cache_seconds=60)
    first = first_paint(conn, ALL, "319901001", params)
    assert first_paint(conn, ALL, "319901001", params) is first
    assert first_paint(conn, ALL, "319901001001", params) is not first


def test_area_shapes_are_the_children_to_click(conn: Connection) -> None:
    build_cases(conn)
    street = area_shapes(conn, ALL, "319901001")
    assert street["level"] == "community"
    assert sorted(f["properties"]["name"] for f in street["features"]) == ["C1", "C2"]
    grids = area_shapes(conn, ALL, "319901001001")
    assert sorted(f["properties"]["name"] for f in grids["features"]) == ["G1", "G2", "G3"]
    assert grids["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_heat_counts_the_area_cases(conn: Connection) -> None:
    build_cases(conn)
    h = heat(conn, ALL, "319901001001", DashboardParams(), bbox=(121.3, 31.1, 121.5, 31.3),
             zoom=14, now=NOW)
    assert h["mode"] == "points" and h["total"] == 4  # C1: A B C F reported in the period
    with pytest.raises(ValidationError):
        heat(conn, ALL, None, DashboardParams(), bbox=(121.3, 31.1, 121.5, 31.3), zoom=99)


def test_who_may_view(conn: Connection) -> None:
    def user(role: str) -> User:
        return User(id=0, username=role, role=role)
    assert may_view(conn, user("admin")) and may_view(conn, user("supervisor"))
    assert not may_view(conn, user("planner")) and not may_view(conn, None)


def test_stars_layer_reads_confirmed_ratings(conn: Connection) -> None:
    ids = build_cases(conn)
    scheme = conn.execute(sa.text(
        "INSERT INTO rating_scheme (year, name, body) VALUES (2025, 't', '{}') RETURNING id"
    )).scalar_one()
    for comm, stars, status in (("C1", 4, "confirmed"), ("C2", 2, "confirmed")):
        conn.execute(sa.text(
            "INSERT INTO rating (year, round, community_id, scheme_id, status, period_start,"
            " period_end, as_of, computed_stars, stars, complete, criteria, reasons)"
            " VALUES (2025, 'acceptance', :c, :s, :st, now(), now(), now(), :n, :n, true,"
            " '[]', '[]')"), {"c": ids[comm], "s": scheme, "st": status, "n": stars})
    street = area_shapes(conn, ALL, "319901001")
    assert {f["properties"]["name"]: f["properties"]["stars"] for f in street["features"]} == {
        "C1": 4.0, "C2": 2.0}
    district = area_shapes(conn, ALL, None)
    assert [f["properties"]["stars"] for f in district["features"]] == [3.0]  # mean of S
