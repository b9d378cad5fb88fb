"""A hand-made district for the rating tests; every criterion value is worked out by hand.

District 319801, streets 甲 (319801001) and 乙 (319801002); committees A and B in 甲, C in 乙.
Round: 2026 验收评估 (acceptance), period [2026-01-01, 2026-11-01) CST, measured at its end.

Committee A (all cases from the 12345 hotline, dispatched in the period):
  4 cases with acceptance deadlines: 3 accepted in time, 1 late        → 按时接单率 75 %
  the same 4 due in the period: 3 closed by the deadline, 1 late       → 按期结案率 75 %
  急难愁盼回应度 = 0.5 × 75 + 0.5 × 75 = 75
  evaluated 4, scores 5, 5, 4, 4, all solved → mean 4.5 → 90;
  三率 75 (响应), 100 (解决), 100 (满意) → 91.667
  群众满意度 = 0.5 × 90 + 0.5 × 91.667 = 90.833
  entered: 规范度 95, 典型 met; no 违建; its one building covered
  score = (40 × 90.833 + 35 × 75 + 25 × 95) / 100 = 86.333 → 4★
Committee B:
  2 patrol cases (not residents') → no 回应度 (left out of the score)
  1 public case evaluated with score 3 (not hotline) → mean 60, no 三率 → 群众满意度 60
  1 违建 case (E0101) reported in the period, open at the end → open 1 > 0: 无违法搭建 not met
  (cap 2★; new 1 ≤ 2 would pass)
  2 buildings of 100 residents, 1 covered for a required type → 50 % < 80 % → 无服务缺失 not met
  entered: 规范度 80, 典型 not met (cap 3★)
  score = (40 × 60 + 25 × 80) / 65 = 67.692 → 2★ (and capped at 2★)
Committee C: nothing entered, no cases → no score, 1★, incomplete.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

CST = dt.timezone(dt.timedelta(hours=8))
YEAR, ROUND = 2026, "acceptance"
AS_OF = dt.datetime(2026, 11, 20, tzinfo=CST)
T = dt.datetime(2026, 5, 1, 9, tzinfo=CST)
H = dt.timedelta(hours=1)
CODES = {"A": "319801001001", "B": "319801001002", "C": "319801002001"}


def box(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"MULTIPOLYGON((({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0})))"


def ins(conn: Connection, sql: str, **p: Any) -> int:
    return int(conn.execute(sa.text(sql + " RETURNING id"), p).scalar_one())


def _case(conn: Connection, comm: int, street: int, **kw: Any) -> int:
    cols = {"category_code": "E0102", "source": "hotline_12345", "state": "closed",
            "reported_at": T, "geom": "SRID=4326;POINT(121.5 31.2)", "community_id": comm,
            "street_id": street, **kw}
    names = ", ".join(cols)
    vals = ", ".join(f":{k}" for k in cols)
    return ins(conn, f"INSERT INTO incident ({names}) VALUES ({vals})", **cols)  # noqa: S608


def _committee_a(conn: Connection, a: int, s1: int) -> None:
    for n in range(4):
        late_accept = n == 3
        late_close = n == 2
        _case(conn, a, s1, case_no=f"A-{n}", dispatched_at=T, accept_due_at=T + H,
              accepted_at=T + (2 * H if late_accept else H / 2), due_at=T + 24 * H,
              closed_at=T + (48 * H if late_close else 10 * H), evaluated_at=T + 72 * H,
              state="evaluated", solved=True, satisfaction_score=5 if n < 2 else 4)


def _committee_b(conn: Connection, b: int, s1: int) -> None:
    for n in range(2):
        _case(conn, b, s1, case_no=f"B-p{n}", source="patrol", dispatched_at=T,
              accept_due_at=T + H, accepted_at=T, due_at=T + 24 * H, closed_at=T + H)
    _case(conn, b, s1, case_no="B-eval", source="public", state="evaluated",
          evaluated_at=T + 72 * H, satisfaction_score=3, solved=True, closed_at=T + H)
    _case(conn, b, s1, case_no="B-wj", category_code="E0101", source="patrol",
          state="dispatched", closed_at=None)


def _coverage(conn: Connection, ids: dict[str, int]) -> None:
    for name, comm, covered in (("ba", "A", True), ("bb1", "B", True), ("bb2", "B", False)):
        bid = ins(conn, "INSERT INTO building (code, community_id, residential, residents, geom)"
                  " VALUES (:c, :m, true, 100, ST_GeomFromText(:w, 4326))",
                  c=f"R-{name}", m=ids[comm], w=box(121.5, 31.2, 121.5001, 31.2001))
        conn.execute(sa.text(
            "INSERT INTO building_coverage (building_id, type_code, network_m, radius_m, covered)"
            " VALUES (:b, 'kindergarten', 100, 300, :c)"), {"b": bid, "c": covered})
    conn.execute(sa.text("INSERT INTO coverage_run (network_fingerprint, facility_fingerprint,"
                         " speed_m_per_min) VALUES ('x', 'y', 80)"))


def _raters(conn: Connection, ids: dict[str, int]) -> None:
    conn.execute(sa.text(
        "INSERT INTO app_user (username, password_hash, role, scope_streets, scope_communities)"
        " VALUES ('sv1', 'x', 'supervisor', ARRAY['319801001'], ARRAY[]::text[]),"
        " ('planner1', 'x', 'planner', ARRAY[]::text[], ARRAY[]::text[])"))
    unit = ins(conn, "INSERT INTO org_unit (code, name, kind, line, level) VALUES"
               " ('R-D', '区同心家园领导小组', 'district', 'kuai', 'district')")
    conn.execute(sa.text("INSERT INTO org_unit_area (unit_id, area_level, area_code)"
                         " VALUES (:u, 'district', '319801')"), {"u": unit})
    uid = ins(conn, "INSERT INTO app_user (username, password_hash, role) VALUES ('dl', 'x', 'staff')")
    conn.execute(sa.text("INSERT INTO staff_post (user_id, unit_id, post) VALUES (:u, :n, 'leader')"),
                 {"u": uid, "n": unit})


def build(conn: Connection) -> dict[str, int]:
    """Insert the district; returns ids by name."""
    ids: dict[str, int] = {}
    ids["D"] = ins(conn, "INSERT INTO district (code, name, geom) VALUES ('319801', '示范区',"
                   " ST_GeomFromText(:w, 4326))", w=box(121.5, 31.2, 121.53, 31.22))
    for key, code, name, x in (("S1", "319801001", "甲街道", 121.5), ("S2", "319801002", "乙街道",
                                                                     121.52)):
        ids[key] = ins(conn, "INSERT INTO street (code, name, district_id, geom) VALUES"
                       " (:c, :n, :d, ST_GeomFromText(:w, 4326))", c=code, n=name, d=ids["D"],
                       w=box(x, 31.2, x + 0.02 if key == "S1" else x + 0.01, 31.22))
    for key, street, x in (("A", "S1", 121.5), ("B", "S1", 121.51), ("C", "S2", 121.52)):
        ids[key] = ins(conn, "INSERT INTO community (code, name, street_id, geom) VALUES"
                       " (:c, :n, :s, ST_GeomFromText(:w, 4326))", c=CODES[key],
                       n=f"{key}居委会", s=ids[street], w=box(x, 31.2, x + 0.01, 31.22))
    _committee_a(conn, ids["A"], ids["S1"])
    _committee_b(conn, ids["B"], ids["S1"])
    _coverage(conn, ids)
    _raters(conn, ids)
    return ids
