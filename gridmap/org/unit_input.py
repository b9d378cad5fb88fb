"""Unit input: one unit as given by a form, the API or a spreadsheet row, normalised and
validated (every problem at once; database checks in one query per kind of check).

A unit's fields: ``code`` (unique, no spaces), ``name``, ``kind`` (code, Chinese name or alias
from the kind catalogue), ``line`` (``kuai``/块 or ``tiao``/条; default from the kind),
``level`` (district/street/community/grid or 区/街道/社区/网格; default from the kind),
``parent`` (a unit code), ``contact_name``, ``contact_phone``, ``webhook_url`` (http/https),
``webhook_secret`` and ``areas``: the places it serves, as ``[{"level", "code"}]``,
``["street:319902001", …]`` or one text ``"319902001；319902001001"`` (a bare code's level is
read from its length: 6 district, 9 street, 12 community, longer grid).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import Problem
from gridmap.org.kinds import LEVEL_ALIASES, LEVELS, LINE_ALIASES, Kinds

_CODE = re.compile(r"^[^\s]{1,64}$")
_PHONE = re.compile(r"^[0-9+\-() ]{3,32}$")
_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")
_SPLIT = re.compile(r"[;；,，、\s]+")
_LEVEL_BY_LENGTH = {6: "district", 9: "street", 12: "community"}


@dataclass(frozen=True)
class Area:
    """A place a unit serves: its level and its code (admin code or grid code)."""

    level: str
    code: str


@dataclass(frozen=True)
class UnitInput:
    """A unit's fields after normalisation (``row`` for spreadsheet rows)."""

    code: str
    name: str
    kind: str
    line: str
    level: str
    parent: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    areas: tuple[Area, ...] = ()
    row: int | None = None


def text(value: Any) -> str | None:
    """A cell or field as stripped text; ``None`` when blank."""
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def parse_areas(value: Any, row: int | None, problems: list[Problem]) -> tuple[Area, ...]:
    """Areas from a list (dicts or ``level:code`` texts) or one separated text."""
    if value is None or value == "":
        return ()
    items: list[Any]
    if isinstance(value, str):
        items = [p for p in _SPLIT.split(value) if p]
    elif isinstance(value, Sequence):
        items = list(value)
    else:
        problems.append(Problem("org.bad_areas", row=row, field="areas"))
        return ()
    out: list[Area] = []
    for item in items:
        if isinstance(item, Mapping):
            level, code = text(item.get("level")), text(item.get("code"))
        else:
            raw = str(item).strip().replace("：", ":")
            level, _, code = raw.rpartition(":")
            level, code = level or None, code.strip() or None
        if code is None:
            problems.append(Problem("org.bad_area", {"value": str(item)}, row=row, field="areas"))
            continue
        lv = LEVEL_ALIASES.get(level) if level else _LEVEL_BY_LENGTH.get(
            len(code), "grid" if len(code) > 12 else None)
        if lv is None:
            problems.append(Problem("org.bad_area", {"value": str(item)}, row=row, field="areas"))
            continue
        out.append(Area(lv, code))
    return tuple(dict.fromkeys(out))


def unit_input(data: Mapping[str, Any], kinds: Kinds, row: int | None = None
               ) -> tuple[UnitInput | None, list[Problem]]:
    """Normalise one unit; ``(None, problems)`` when a required field is missing or bad."""
    problems: list[Problem] = []
    code, name = text(data.get("code")), text(data.get("name"))
    if code is None:
        problems.append(Problem("org.missing", {"field": "code"}, row=row, field="code"))
    elif not _CODE.match(code):
        problems.append(Problem("org.bad_code", {"value": code}, row=row, field="code"))
    if name is None:
        problems.append(Problem("org.missing", {"field": "name"}, row=row, field="name"))
    kind_text = text(data.get("kind"))
    kind = kinds.get(kind_text) if kind_text else None
    if kind_text is None:
        problems.append(Problem("org.missing", {"field": "kind"}, row=row, field="kind"))
    elif kind is None:
        problems.append(Problem("org.unknown_kind", {"value": kind_text, "kinds": kinds.codes()},
                                row=row, field="kind"))
    line = _choice(data.get("line"), LINE_ALIASES, kind.line if kind else None, "org.bad_line",
                   "line", row, problems)
    level = _choice(data.get("level"), LEVEL_ALIASES, kind.level if kind else None,
                    "org.bad_level", "level", row, problems)
    phone, url = text(data.get("contact_phone")), text(data.get("webhook_url"))
    if phone is not None and not _PHONE.match(phone):
        problems.append(Problem("org.bad_phone", {"value": phone}, row=row,
                                field="contact_phone"))
    if url is not None and not _URL.match(url):
        problems.append(Problem("org.bad_webhook_url", {"value": url}, row=row,
                                field="webhook_url"))
    areas = parse_areas(data.get("areas"), row, problems)
    if problems or code is None or name is None or kind is None or not line or not level:
        return None, problems
    return UnitInput(code, name, kind.code, line, level, text(data.get("parent")),
                     text(data.get("contact_name")), phone, url, text(data.get("webhook_secret")),
                     areas, row), problems


def _choice(value: Any, aliases: Mapping[str, str], default: str | None, code: str,
            field: str, row: int | None, problems: list[Problem]) -> str | None:
    raw = text(value)
    if raw is None:
        return default
    if raw in aliases:
        return aliases[raw]
    problems.append(Problem(code, {"value": raw}, row=row, field=field))
    return None


def known_areas(conn: Connection, codes: Iterable[str]) -> set[Area]:
    """Which of ``codes`` exist, with their level (districts, streets, communities, grids)."""
    rows = conn.execute(sa.text(
        "SELECT 'district', code FROM district WHERE code = ANY(:c)"
        " UNION ALL SELECT 'street', code FROM street WHERE code = ANY(:c)"
        " UNION ALL SELECT 'community', code FROM community WHERE code = ANY(:c)"
        " UNION ALL SELECT 'grid', grid_code FROM grid WHERE grid_code = ANY(:c)"),
        {"c": sorted(set(codes))})
    return {Area(r[0], r[1]) for r in rows}


def check_references(conn: Connection, inputs: Sequence[UnitInput],
                     parents: Mapping[str, str | None],
                     levels: Mapping[str, str] | None = None) -> list[Problem]:
    """Database checks of normalised units: areas exist at their level, parents exist
    (in the database or among ``inputs``), and no unit becomes its own ancestor; a warning
    when a parent's level is narrower than the unit's (a street unit under a community).

    ``parents`` maps every unit code already stored to its parent's code, ``levels`` to its
    level.
    """
    problems: list[Problem] = []
    found = known_areas(conn, [a.code for u in inputs for a in u.areas])
    for u in inputs:
        for a in u.areas:
            if a not in found:
                problems.append(Problem("org.unknown_area", {"level": a.level, "code": a.code},
                                        row=u.row, field="areas"))
    chain = dict(parents)
    chain.update({u.code: u.parent for u in inputs})
    for u in inputs:
        if u.parent is not None and u.parent not in chain:
            problems.append(Problem("org.unknown_parent", {"code": u.parent}, row=u.row,
                                    field="parent"))
        elif u.parent is not None and _cycle(u.code, chain):
            problems.append(Problem("org.parent_cycle", {"code": u.code, "parent": u.parent},
                                    row=u.row, field="parent"))
    problems += _narrower_parents(inputs, {**(levels or {}), **{u.code: u.level for u in inputs}})
    return problems


def _narrower_parents(inputs: Sequence[UnitInput], levels: Mapping[str, str]) -> list[Problem]:
    out: list[Problem] = []
    for u in inputs:
        parent_level = levels.get(u.parent) if u.parent else None
        if parent_level is not None and LEVEL_RANK[parent_level] > LEVEL_RANK[u.level]:
            out.append(Problem("org.parent_narrower", {"code": u.code, "parent": u.parent},
                               row=u.row, field="parent", severity="warning"))
    return out


def _cycle(code: str, chain: Mapping[str, str | None]) -> bool:
    seen = {code}
    cur = chain.get(code)
    while cur is not None:
        if cur in seen:
            return True
        seen.add(cur)
        cur = chain.get(cur)
    return False


def duplicates(inputs: Sequence[UnitInput]) -> list[Problem]:
    """Codes given twice in one batch."""
    seen: set[str] = set()
    out: list[Problem] = []
    for u in inputs:
        if u.code in seen:
            out.append(Problem("org.duplicate_code", {"code": u.code}, row=u.row, field="code"))
        seen.add(u.code)
    return out


LEVEL_RANK = {lv: i for i, lv in enumerate(LEVELS)}
"""district 0 … grid 3 (wider areas first)."""
