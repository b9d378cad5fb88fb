"""The unit tree: parent chain for escalation, ancestors, descendants, forest."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from gridmap.org import tree, units
from tests.fixtures.org_world import OrgWorld


def test_parent_chain_nearest_first(conn: Connection, world: OrgWorld) -> None:
    u = world.units
    assert tree.parent_chain(conn, u["WY"]) == [u["JW-E"], u["JD"], u["QU"]]
    assert tree.parent_chain(conn, u["QU"]) == []
    assert [a.code for a in tree.ancestors(conn, u["CG"])] == ["JD", "QU"]


def test_parent_chain_skips_inactive_ancestors(conn: Connection, world: OrgWorld) -> None:
    u = world.units
    units.deactivate_unit(conn, u["WY"])
    units.deactivate_unit(conn, u["JW-E"])
    assert tree.parent_chain(conn, u["WY"]) == [u["JD"], u["QU"]]
    assert tree.parent_chain(conn, u["WY"], include_inactive=True) == [u["JW-E"], u["JD"],
                                                                       u["QU"]]


def test_descendants_and_forest(conn: Connection, world: OrgWorld) -> None:
    u = world.units
    below = tree.descendants(conn, u["JD"])
    assert set(below) == {u[c] for c in ("JW-E", "JW-W", "CG", "FG", "WY")}
    assert below.index(u["WY"]) > below.index(u["JW-E"])
    roots = [n for n in tree.tree(conn) if n.unit.code == "QU"]
    walked = [(d, x.code) for d, x in roots[0].walk()]
    assert walked[0] == (0, "QU") and (1, "JD") in walked and (3, "WY") in walked
