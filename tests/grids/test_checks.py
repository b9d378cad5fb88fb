"""Validation of plans (gridmap.grids.checks): every problem at once, with geometry."""

from __future__ import annotations

import pytest
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import grids
from gridmap.errors import ValidationError
from gridmap.grids import geometry, store
from tests.fixtures.grids import T1, errors_of, lonlat_box, make_community


def _hand_made(conn: Connection, shapes: list[shapely.Polygon], rp: str | None = "居委会") -> int:
    """A draft whose grids are given polygons (metres), in a 100 x 100 m community."""
    cid = make_community(conn, code="310107005002", blocks=(1, 1), block_m=100,
                         buildings=(1, 1), households=(10, 10))
    vid = grids.create_draft(conn, cid, actor="t", copy=False)
    for s in shapes:
        gid = store.new_grid(conn, cid, "310107005002")
        conn.execute(store.INSERT_GEOM, {"v": vid, "g": gid, "rp": rp,
                                          "wkb": shapely.to_wkb(geometry.as_multi(s))})
    return vid


def test_validation_reports_every_problem_at_once(conn: Connection) -> None:
    vid = _hand_made(conn, [
        lonlat_box(0, 0, 60, 100),            # west part
        lonlat_box(50, 0, 90, 100),           # overlaps west by 10 m; leaves a gap 90-100
        lonlat_box(95, 40, 130, 60),          # sticks out of the community, thin-ish
    ], rp=None)
    problems = grids.validate(conn, vid)
    reasons = " | ".join(errors_of(problems))
    assert "overlap" in reasons
    assert "outside the community" in reasons
    assert "gap of" in reasons
    assert "responsible party" in reasons
    warnings = [p for p in problems if p.severity == "warning"]
    assert any("households" in p.reason for p in warnings)
    assert all(p.geometry is not None for p in problems)
    gap = next(p for p in problems if p.reason.startswith("gap of"))
    assert "near (121.40" in gap.reason


def test_validation_multipart_and_compactness(conn: Connection) -> None:
    vid = _hand_made(conn, [
        lonlat_box(0, 0, 100, 50),
        lonlat_box(0, 50, 100, 53),  # a 3 m strip: Polsby-Popper ~0.09
        lonlat_box(0, 53, 100, 100),
    ])
    problems = grids.validate(conn, vid)
    assert any("not compact" in p.reason and p.severity == "warning" for p in problems)

    vid2 = _hand_made_more(conn)
    reasons = errors_of(grids.validate(conn, vid2))
    assert any("separate pieces" in r for r in reasons), reasons


def _hand_made_more(conn: Connection) -> int:
    cid = conn.execute(sa.text("SELECT id FROM community WHERE code = '310107005002'")).scalar()
    vid = grids.create_draft(conn, cid, actor="t", copy=False)
    left_right = shapely.union_all([lonlat_box(0, 0, 30, 100), lonlat_box(70, 0, 100, 100)])
    for s in (left_right, lonlat_box(30, 0, 70, 100)):
        gid = store.new_grid(conn, cid, "310107005002")
        conn.execute(store.INSERT_GEOM, {"v": vid, "g": gid, "rp": "x",
                                          "wkb": shapely.to_wkb(geometry.as_multi(s))})
    return vid


def test_activation_refuses_a_draft_with_errors(conn: Connection) -> None:
    vid = _hand_made(conn, [lonlat_box(0, 0, 60, 100)])
    with pytest.raises(ValidationError, match="gap of"):
        grids.activate(conn, vid, effective=T1, actor="o")
    assert grids.get_version(conn, vid)["status"] == "draft"
