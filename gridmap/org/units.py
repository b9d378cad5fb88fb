"""Units (处置单位 / 部门): create, update, deactivate, read, the tree and its parent chain.

A unit is a 块 (``kuai``: district, street, community) or 条 (``tiao``: 城管中队, 房管所 …,
property companies) unit with a kind from the catalogue (:mod:`gridmap.org.kinds`), a level,
an optional parent (the tree used for escalation: community → street → district), contact,
an optional outgoing webhook and the areas it serves (:mod:`gridmap.org.areas`). Writes take
a batch of units (:func:`save_units`, used by the form, the API and the spreadsheet import),
validate all of them before writing anything and write each table in one statement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import Conflict, NotFound, Problem, ValidationError
from gridmap.org.kinds import DEFAULT_KINDS, Kinds
from gridmap.org.unit_input import (
    Area,
    UnitInput,
    check_references,
    duplicates,
    unit_input,
)


@dataclass(frozen=True)
class Unit:
    """A stored unit (``parent_code`` for display; the webhook secret is never returned)."""

    id: int
    code: str
    name: str
    kind: str
    line: str
    level: str
    parent_id: int | None
    parent_code: str | None
    contact_name: str | None
    contact_phone: str | None
    webhook_url: str | None
    active: bool
    areas: tuple[Area, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (areas as ``{"level", "code"}``)."""
        out = {k: v for k, v in self.__dict__.items() if k != "areas"}
        out["areas"] = [{"level": a.level, "code": a.code} for a in self.areas]
        return out


_SELECT = (
    "SELECT u.id, u.code, u.name, u.kind, u.line, u.level, u.parent_id, p.code AS parent_code,"
    " u.contact_name, u.contact_phone, u.webhook_url, u.active,"
    " COALESCE((SELECT array_agg(a.area_level || ':' || a.area_code"
    "  ORDER BY a.area_level, a.area_code) FROM org_unit_area a WHERE a.unit_id = u.id),"
    "  '{}') AS areas"
    " FROM org_unit u LEFT JOIN org_unit p ON p.id = u.parent_id")


def _unit(row: sa.Row) -> Unit:
    m = dict(row._mapping)
    areas = tuple(Area(*a.split(":", 1)) for a in m.pop("areas"))
    return Unit(**m, areas=areas)


def list_units(conn: Connection, *, include_inactive: bool = False) -> list[Unit]:
    """Every unit (active ones unless ``include_inactive``), ordered by level then code."""
    rows = conn.execute(sa.text(
        _SELECT + " WHERE u.active OR :all ORDER BY"
        " array_position(ARRAY['district','street','community','grid'], u.level::text), u.code"),
        {"all": include_inactive})
    return [_unit(r) for r in rows]


def get_unit(conn: Connection, unit_id: int) -> Unit:
    """The unit with id ``unit_id``. Raises NotFound."""
    row = conn.execute(sa.text(_SELECT + " WHERE u.id = :i"), {"i": unit_id}).first()
    if row is None:
        raise NotFound("org.no_unit_id", {"id": unit_id})
    return _unit(row)


def unit_by_code(conn: Connection, code: str) -> Unit:
    """The unit with code ``code``. Raises NotFound."""
    row = conn.execute(sa.text(_SELECT + " WHERE u.code = :c"), {"c": code}).first()
    if row is None:
        raise NotFound("org.no_unit", {"code": code})
    return _unit(row)


def stored_parents(conn: Connection) -> tuple[dict[str, str | None], dict[str, str]]:
    """Every stored unit code → its parent's code, and → its level (for the tree checks)."""
    rows = conn.execute(sa.text(
        "SELECT u.code, p.code, u.level FROM org_unit u"
        " LEFT JOIN org_unit p ON p.id = u.parent_id")).all()
    return {r[0]: r[1] for r in rows}, {r[0]: r[2] for r in rows}


def validate_units(conn: Connection, rows: Sequence[Mapping[str, Any]],
                   kinds: Kinds = DEFAULT_KINDS, *, first_row: int | None = None,
                   ) -> tuple[list[UnitInput], list[Problem]]:
    """Normalise and check a batch of units (every problem at once, nothing written).

    ``first_row`` numbers the rows (spreadsheet row of the first data row); ``None`` leaves
    problems without a row.
    """
    inputs: list[UnitInput] = []
    problems: list[Problem] = []
    for i, data in enumerate(rows):
        row = None if first_row is None else first_row + i
        unit, found = unit_input(data, kinds, row)
        problems += found
        if unit is not None:
            inputs.append(unit)
    problems += duplicates(inputs)
    problems += check_references(conn, inputs, *stored_parents(conn))
    return inputs, problems


def write_units(conn: Connection, inputs: Sequence[UnitInput]) -> tuple[int, int]:
    """Insert or update (by code) validated units, their parents and their areas.

    Returns ``(created, updated)``. Three statements whatever the batch size.
    """
    if not inputs:
        return 0, 0
    cols = {k: [getattr(u, k) for u in inputs] for k in (
        "code", "name", "kind", "line", "level", "contact_name", "contact_phone",
        "webhook_url", "webhook_secret")}
    rows = conn.execute(sa.text(
        "INSERT INTO org_unit (code, name, kind, line, level, contact_name, contact_phone,"
        " webhook_url, webhook_secret, active)"
        " SELECT *, true FROM unnest(CAST(:code AS text[]), CAST(:name AS text[]),"
        "  CAST(:kind AS text[]), CAST(:line AS text[]), CAST(:level AS text[]),"
        "  CAST(:contact_name AS text[]), CAST(:contact_phone AS text[]),"
        "  CAST(:webhook_url AS text[]), CAST(:webhook_secret AS text[]))"
        " ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,"
        "  line = EXCLUDED.line, level = EXCLUDED.level, contact_name = EXCLUDED.contact_name,"
        "  contact_phone = EXCLUDED.contact_phone, webhook_url = EXCLUDED.webhook_url,"
        "  webhook_secret = COALESCE(EXCLUDED.webhook_secret, org_unit.webhook_secret),"
        "  active = true"
        " RETURNING id, (xmax = 0) AS inserted"), cols).all()
    conn.execute(sa.text(
        "UPDATE org_unit u SET parent_id = p.id"
        " FROM unnest(CAST(:c AS text[]), CAST(:p AS text[])) AS x(code, parent)"
        " LEFT JOIN org_unit p ON p.code = x.parent WHERE u.code = x.code"),
        {"c": cols["code"], "p": [u.parent for u in inputs]})
    ids = [r[0] for r in rows]
    conn.execute(sa.text("DELETE FROM org_unit_area WHERE unit_id = ANY(:i)"), {"i": ids})
    pairs = [(i, a) for i, u in zip(ids, inputs, strict=True) for a in u.areas]
    conn.execute(sa.text(
        "INSERT INTO org_unit_area (unit_id, area_level, area_code)"
        " SELECT * FROM unnest(CAST(:u AS int[]), CAST(:l AS text[]), CAST(:c AS text[]))"),
        {"u": [i for i, _ in pairs], "l": [a.level for _, a in pairs],
         "c": [a.code for _, a in pairs]})
    created = sum(1 for r in rows if r[1])
    return created, len(rows) - created


def save_units(conn: Connection, rows: Sequence[Mapping[str, Any]],
               kinds: Kinds = DEFAULT_KINDS) -> tuple[int, int]:
    """Validate then write a batch of units (insert or update by code); ``(created, updated)``.

    Raises
    ------
    ValidationError
        ``org.units_invalid`` with every problem; nothing is written.
    """
    inputs, problems = validate_units(conn, rows, kinds)
    if any(p.severity == "error" for p in problems):
        raise ValidationError("org.units_invalid", problems)
    with conn.begin_nested():
        return write_units(conn, inputs)


def create_unit(conn: Connection, data: Mapping[str, Any], kinds: Kinds = DEFAULT_KINDS
                ) -> Unit:
    """Create one unit (fields: see :mod:`gridmap.org.unit_input`).

    Raises
    ------
    ValidationError
        Every problem with the input.
    Conflict
        ``org.unit_exists`` if the code is taken.
    """
    code = str(data.get("code") or "").strip()
    if code and conn.execute(sa.text("SELECT 1 FROM org_unit WHERE code = :c"),
                             {"c": code}).first():
        raise Conflict("org.unit_exists", {"code": code})
    save_units(conn, [data], kinds)
    return unit_by_code(conn, code)


def update_unit(conn: Connection, unit_id: int, changes: Mapping[str, Any],
                kinds: Kinds = DEFAULT_KINDS) -> Unit:
    """Change some fields of a unit (its code stays); areas are replaced when given.

    Raises NotFound, or ValidationError with every problem (nothing changed).
    """
    old = get_unit(conn, unit_id)
    if "code" in changes and str(changes["code"]).strip() != old.code:
        raise ValidationError("org.units_invalid", [Problem("org.code_fixed", {
            "code": old.code}, field="code")])
    merged: dict[str, Any] = {**old.as_dict(), "parent": old.parent_code,
                              "areas": [f"{a.level}:{a.code}" for a in old.areas]}
    merged.update({k: v for k, v in changes.items() if k != "code"})
    save_units(conn, [merged], kinds)
    if not old.active:
        with conn.begin_nested():
            conn.execute(sa.text("UPDATE org_unit SET active = false WHERE id = :i"),
                         {"i": unit_id})
    return get_unit(conn, unit_id)


def deactivate_unit(conn: Connection, unit_id: int) -> Unit:
    """Deactivate a unit: it keeps its history but takes no more cases or staff.

    Raises
    ------
    NotFound
    Conflict
        ``org.unit_has_children`` while active units hang below it.
    """
    unit = get_unit(conn, unit_id)
    children = [r[0] for r in conn.execute(sa.text(
        "SELECT code FROM org_unit WHERE parent_id = :i AND active ORDER BY code"),
        {"i": unit_id})]
    if children:
        raise Conflict("org.unit_has_children", {"code": unit.code, "children": children})
    with conn.begin_nested():
        conn.execute(sa.text("UPDATE org_unit SET active = false WHERE id = :i"), {"i": unit_id})
    return replace(unit, active=False)


def reactivate_unit(conn: Connection, unit_id: int) -> Unit:
    """Make a deactivated unit active again.

    Raises
    ------
    NotFound
    Conflict
        ``org.parent_inactive`` while its parent is inactive (reactivate the parent first).
    """
    unit = get_unit(conn, unit_id)
    if unit.parent_id is not None and not get_unit(conn, unit.parent_id).active:
        raise Conflict("org.parent_inactive", {"code": unit.code, "parent": unit.parent_code})
    with conn.begin_nested():
        conn.execute(sa.text("UPDATE org_unit SET active = true WHERE id = :i"), {"i": unit_id})
    return replace(unit, active=True)
