"""三张清单 of a community: open and recurrent problems, life-circle facilities and its own
service list (edit rights), closed cases with outcome and satisfaction; XLSX export."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from sqlalchemy.engine import Connection

from gridmap.accounts import scope as scopes
from gridmap.accounts.scope import ALL, Scope
from gridmap.cases import export, lists
from gridmap.dispatch import engine
from gridmap.errors import PermissionDenied, ValidationError
from tests.fixtures.dispatch_world import MONDAY, DispatchWorld, case


def test_three_lists(conn: Connection, dw: DispatchWorld) -> None:
    east = dw.org.communities["E"]
    ids = [case(conn, "E1", "E0102", description=f"垃圾 {n}") for n in range(3)]
    done = ids[0]
    engine.file(conn, done, actor="a", at=MONDAY)
    engine.dispatch(conn, done, actor="a", at=MONDAY)
    for to in ("handling", "handled"):
        engine.act(conn, done, to, actor="a", at=MONDAY, note="已清运" if to == "handled" else None)
    engine.act(conn, done, "closed", actor="a", at=MONDAY)
    engine.act(conn, done, "evaluated", actor="a", at=MONDAY, satisfaction=5, solved=True)
    conn.execute(sa.text(
        "INSERT INTO facility (type_code, name, geom, location) SELECT code, '东社区卫生站', "
        "ST_SetSRID(ST_MakePoint(121.503, 31.305), 4326), "
        "ST_SetSRID(ST_MakePoint(121.503, 31.305), 4326) FROM facility_type LIMIT 1"))
    out = lists.three_lists(conn, ALL, east, now=MONDAY + dt.timedelta(days=1))
    assert {r["id"] for r in out["problems"]["open"]} == set(ids[1:])
    assert out["problems"]["recurrent"][0]["cases"] == 3
    assert [r["id"] for r in out["solved"]] == [done]
    assert out["solved"][0]["satisfaction_score"] == 5 and out["solved"][0]["outcome"] == "已清运"
    assert out["services"]["facilities"][0]["name"] == "东社区卫生站"
    buf = io.BytesIO()
    export.export_lists(out, buf)
    wb = load_workbook(io.BytesIO(buf.getvalue()))
    assert wb.sheetnames[0] == "问题清单" and wb["解决清单"]["G2"].value == "已清运"


def test_service_list_is_edited_by_who_may(conn: Connection, dw: DispatchWorld) -> None:
    east = dw.org.communities["E"]
    sup = Scope(frozenset({east}), role="supervisor")
    with pytest.raises(ValidationError) as e:
        lists.save_service(conn, sup, east, {"name": " ", "note": "x" * 501}, actor="s")
    assert {p.field for p in e.value.problems} == {"name", "note"}
    s = lists.save_service(conn, sup, east, {"name": "=助老食堂", "hours": "11:00-13:00"},
                           actor="s")
    lists.save_service(conn, sup, east, {"name": "助老食堂", "kind": "养老"}, actor="s",
                       service_id=s["id"])
    assert [r["kind"] for r in lists.services(conn, east)] == ["养老"]
    with pytest.raises(PermissionDenied):
        lists.save_service(conn, scopes.staff_scope(conn, dw.org.users["ow_cg"]), east,
                           {"name": "x"}, actor="cg")
    with pytest.raises(PermissionDenied):
        lists.three_lists(conn, Scope(frozenset({dw.org.communities["W"]}), role="supervisor"),
                          east)
    lists.delete_service(conn, sup, east, s["id"])
    assert lists.services(conn, east) == []
