"""The unit tree: ancestors, the parent chain used for escalation, descendants, the whole tree.

Recursive CTEs over ``org_unit.parent_id`` (the write path refuses cycles, and the queries
stop at a repeated unit anyway).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.org.units import Unit, get_unit, list_units

_UP = (
    "WITH RECURSIVE up(id, parent_id, active, depth, path) AS ("
    " SELECT p.id, p.parent_id, p.active, 1, ARRAY[u.id, p.id] FROM org_unit u"
    "  JOIN org_unit p ON p.id = u.parent_id WHERE u.id = :i"
    " UNION ALL SELECT p.id, p.parent_id, p.active, up.depth + 1, up.path || p.id"
    "  FROM up JOIN org_unit p ON p.id = up.parent_id WHERE NOT p.id = ANY(up.path))")


def parent_chain(conn: Connection, unit_id: int, *, include_inactive: bool = False
                 ) -> list[int]:
    """Ids of the unit's ancestors, nearest first (parent, grandparent, …, root).

    Escalation goes up this chain. Inactive ancestors are skipped (their own parents still
    count) unless ``include_inactive``. An unknown id or a root unit gives ``[]``.
    """
    rows = conn.execute(sa.text(
        _UP + " SELECT id FROM up WHERE active OR :all ORDER BY depth"),  # noqa: S608
        {"i": unit_id, "all": include_inactive})
    return [int(r[0]) for r in rows]


def ancestors(conn: Connection, unit_id: int) -> list[Unit]:
    """The unit's ancestors as :class:`Unit` objects, nearest first (inactive ones too)."""
    get_unit(conn, unit_id)
    return [get_unit(conn, i) for i in parent_chain(conn, unit_id, include_inactive=True)]


def descendants(conn: Connection, unit_id: int, *, include_inactive: bool = False
                ) -> list[int]:
    """Ids of every unit below ``unit_id`` (children first, then their children …)."""
    rows = conn.execute(sa.text(
        "WITH RECURSIVE down(id, active, depth, path) AS ("
        " SELECT id, active, 1, ARRAY[parent_id, id] FROM org_unit WHERE parent_id = :i"
        " UNION ALL SELECT c.id, c.active, d.depth + 1, d.path || c.id FROM down d"
        "  JOIN org_unit c ON c.parent_id = d.id WHERE NOT c.id = ANY(d.path))"
        " SELECT id FROM down WHERE active OR :all ORDER BY depth, id"),
        {"i": unit_id, "all": include_inactive})
    return [int(r[0]) for r in rows]


@dataclass
class Node:
    """A unit and the units below it."""

    unit: Unit
    children: list[Node] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """``{**unit, "children": [...]}`` for JSON."""
        return {**self.unit.as_dict(), "children": [c.as_dict() for c in self.children]}

    def walk(self, depth: int = 0) -> list[tuple[int, Unit]]:
        """``(depth, unit)`` of this node and everything below it, depth first."""
        out = [(depth, self.unit)]
        for c in self.children:
            out += c.walk(depth + 1)
        return out


def tree(conn: Connection, *, include_inactive: bool = False) -> list[Node]:
    """The units as a forest: roots (no parent, or parent not listed) with their children."""
    units = list_units(conn, include_inactive=include_inactive)
    nodes = {u.id: Node(u) for u in units}
    roots: list[Node] = []
    for u in units:
        parent = nodes.get(u.parent_id) if u.parent_id is not None else None
        (parent.children if parent is not None else roots).append(nodes[u.id])
    return roots
