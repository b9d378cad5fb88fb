"""Units: create, update, deactivate, validation with every problem at once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import Conflict, ValidationError
from gridmap.org import units
from gridmap.org.unit_input import Area
from tests.fixtures.org_world import COMMUNITY, GRID, STREET, OrgWorld


def test_create_unit_from_chinese_kind_fills_line_and_level(conn: Connection,
                                                             world: OrgWorld) -> None:
    u = units.create_unit(conn, {"code": "LH", "name": "和平绿化市容所", "kind": "绿化市容所",
                                 "parent": "JD", "areas": STREET, "contact_phone": "021-1234"})
    assert (u.kind, u.line, u.level) == ("greening", "tiao", "street")
    assert u.parent_id == world.units["JD"]
    assert u.areas == (Area("street", STREET),)


def test_every_problem_at_once_and_nothing_written(conn: Connection, world: OrgWorld) -> None:
    before = conn.execute(sa.text("SELECT count(*) FROM org_unit")).scalar_one()
    with pytest.raises(ValidationError) as err:
        units.save_units(conn, [
            {"code": "X1", "name": "", "kind": "火星局", "areas": "999999999"},
            {"code": "X2", "name": "n", "kind": "police", "line": "斜", "parent": "NOPE",
             "webhook_url": "ftp://x", "contact_phone": "call me"},
            {"code": "X3", "name": "n", "kind": "police", "areas": ["grid:" + GRID["W2"],
                                                                     "community:000"]},
        ])
    codes = sorted(p.code for p in err.value.problems)
    assert codes == sorted(["org.missing", "org.unknown_kind", "org.bad_line",
                            "org.bad_phone", "org.bad_webhook_url", "org.unknown_area"])
    assert conn.execute(sa.text("SELECT count(*) FROM org_unit")).scalar_one() == before


def test_unknown_parent_and_area_are_reported_with_their_codes(conn: Connection,
                                                               world: OrgWorld) -> None:
    with pytest.raises(ValidationError) as err:
        units.save_units(conn, [{"code": "X", "name": "n", "kind": "police", "parent": "NOPE",
                                 "areas": "319902009"}])
    texts = {p.code: p.render("zh") for p in err.value.problems}
    assert "NOPE" in texts["org.unknown_parent"]
    assert "319902009" in texts["org.unknown_area"]


def test_cycle_refused(conn: Connection, world: OrgWorld) -> None:
    with pytest.raises(ValidationError) as err:
        units.update_unit(conn, world.units["JD"], {"parent": "CG"})
    assert [p.code for p in err.value.problems] == ["org.parent_cycle"]


def test_duplicate_code_conflicts(conn: Connection, world: OrgWorld) -> None:
    with pytest.raises(Conflict):
        units.create_unit(conn, {"code": "CG", "name": "x", "kind": "chengguan"})


def test_update_keeps_other_fields_and_replaces_areas(conn: Connection, world: OrgWorld) -> None:
    u = units.update_unit(conn, world.units["WY"], {"contact_name": "新经理",
                                                   "areas": [{"level": "community",
                                                              "code": COMMUNITY["E"]}]})
    assert u.contact_name == "新经理" and u.name == "东苑物业公司" and u.parent_code == "JW-E"
    assert u.areas == (Area("community", COMMUNITY["E"]),)
    with pytest.raises(ValidationError):
        units.update_unit(conn, world.units["WY"], {"code": "OTHER"})


def test_deactivate_refuses_a_unit_with_active_children(conn: Connection,
                                                        world: OrgWorld) -> None:
    with pytest.raises(Conflict) as err:
        units.deactivate_unit(conn, world.units["JD"])
    assert "CG" in err.value.params["children"]
    assert not units.deactivate_unit(conn, world.units["FG"]).active
    assert "FG" not in {u.code for u in units.list_units(conn)}
    assert "FG" in {u.code for u in units.list_units(conn, include_inactive=True)}




def test_reactivate_needs_an_active_parent(conn: Connection, world: OrgWorld) -> None:
    units.deactivate_unit(conn, world.units["WY"])
    units.deactivate_unit(conn, world.units["JW-E"])
    with pytest.raises(Conflict) as err:
        units.reactivate_unit(conn, world.units["WY"])
    assert err.value.code == "org.parent_inactive"
    assert units.reactivate_unit(conn, world.units["JW-E"]).active
    assert units.reactivate_unit(conn, world.units["WY"]).active
