"""Post (岗位) indicators on the five cases of :mod:`tests.fixtures.supervision_cases`,
against tables computed by hand (limits: file 60 min, check 60 min, dispatch 30 min)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts import users
from gridmap.errors import ValidationError
from gridmap.incidents.indicators import export
from gridmap.supervision import access, posts
from tests.fixtures.supervision_cases import END, START, run_cases
from tests.fixtures.supervision_world import build_street


def _world(conn: Connection) -> dict[str, int]:
    ids = build_street(conn)
    # insp patrols G2, where all five cases lie (A, B hotline, C public: 3 missed of 4 filed)
    conn.execute(sa.text("INSERT INTO grid_assignment (user_id, grid_code, valid_from) "
                         "VALUES (:u, '319901001001002', '2025-01-01')"), {"u": ids["insp"]})
    run_cases(conn, ids)
    return ids


def _row(rows: list[dict[str, object]], username: str) -> dict[str, object]:
    return next(r for r in rows if r["username"] == username)


def test_inspector(conn: Connection) -> None:
    _world(conn)
    r = _row(posts.post_indicators(conn, access.ALL, "inspector", START, END, as_of=END), "insp")
    # 5 reported, 4 filed (E voided) → 80 %; missed 3 of 4 → 75 %; no verification → 100;
    # checks: A closed +20m ✓, B rework +2h ✗, D closed +10m ✓ → 66.67 %
    # (40·80 + 20·(100 − 75) + 20·100 + 20·66.67) / 100 = 70.3 → C
    assert (r["reported"], r["valid"], r["valid_rate"], r["grid_filed"], r["missed"],
            r["missed_rate"], r["verified"], r["verify_rate"], r["checked"],
            r["check_on_time"], r["check_rate"], r["score"], r["grade"]) == (
        5, 4, 80.0, 4, 3, 75.0, 0, None, 3, 2, 66.67, 70.3, "C")


def test_acceptor(conn: Connection) -> None:
    _world(conn)
    r = _row(posts.post_indicators(conn, access.ALL, "acceptor", START, END, as_of=END), "acc")
    # A, B filed +10m ✓, C +2h ✗, E voided +5m ✓ → 4 accepted, 75 %; 受理数 4 → score 0
    # (25·0 + 40·75 + 35·100) / 100 = 65.0 → C
    assert (r["accepted"], r["verify_on_time"], r["verify_rate"], r["accepted_score"],
            r["check_rate"], r["score"], r["grade"]) == (4, 3, 75.0, 0.0, None, 65.0, "C")


def test_dispatcher(conn: Connection) -> None:
    _world(conn)
    r = _row(posts.post_indicators(conn, access.ALL, "dispatcher", START, END, as_of=END),
             "disp")
    # A +10m ✓ (returned later: not accurate), A again +10m ✓, B +40m ✗, C +10m ✓, D +5m ✓
    # (20·0 + 40·80 + 40·80) / 100 = 64.0 → C
    assert (r["dispatched"], r["dispatch_on_time"], r["dispatch_rate"], r["dispatch_accurate"],
            r["accurate_rate"], r["score"], r["grade"]) == (5, 4, 80.0, 4, 80.0, 64.0, "C")


def test_shift_lead(conn: Connection) -> None:
    _world(conn)
    r = _row(posts.post_indicators(conn, access.ALL, "shift_lead", START, END, as_of=END),
             "lead")
    # filed D +30m ✓ and valid; closed B at +3d30m after its deadline T+2d
    # (25·100 + 40·100 + 35·0) / 100 = 65.0 → C
    assert (r["filed"], r["file_on_time"], r["file_rate"], r["file_valid"],
            r["accurate_file_rate"], r["closed"], r["close_on_time"], r["close_rate"],
            r["score"], r["grade"]) == (1, 1, 100.0, 1, 100.0, 1, 0, 0.0, 65.0, "C")


def test_unit_staff_see_their_units_posts_only(conn: Connection) -> None:
    ids = _world(conn)
    viewer = access.viewer_for(conn, users.get(conn, ids["cg1"]))
    assert posts.post_indicators(conn, viewer, "dispatcher", START, END) == []


def test_export_and_bad_post(conn: Connection, tmp_path: object) -> None:
    _world(conn)
    rows = posts.post_indicators(conn, access.ALL, "dispatcher", START, END, as_of=END)
    path = export(rows, tmp_path / "disp.csv", fields=posts.post_fields("dispatcher"))  # type: ignore[operator]
    head = path.read_text(encoding="utf-8-sig").splitlines()[0]
    assert "按时派遣率(%)" in head and "准确派遣率(%)" in head
    with pytest.raises(ValidationError):
        posts.post_indicators(conn, access.ALL, "janitor", START, END)
