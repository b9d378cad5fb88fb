"""The case list: search, filters, sorting and paging inside the viewer's scope.

Search (each optional, combined with AND):

- ``case_no``: the 案卷号, exact or as a prefix (btree ``text_pattern_ops``);
- ``text``: a piece of the address or the description (GIN index on the character uni- and
  bigrams, ``gm_grams``, then an exact ``ILIKE`` recheck);
- ``address``: a piece of the address only;
- ``phone``: the reporter's phone, exact or as a prefix; only for viewers who may see
  personal data, and only among the cases whose reporter they may see
  (:func:`gridmap.cases.scoping.personal_sql`); anyone else gets ``cases.phone_search_denied``.

Filters: those of :func:`gridmap.incidents.query.filter_sql` (time window, categories, states,
order types, sources, streets, communities, grids, open, overdue) plus ``grid_codes`` (grids
of every version by code), ``unit_ids``,
``levels`` and ``lights`` (督办 light ``red`` / ``yellow`` / ``none``). Totals are counted up
to :data:`COUNT_CAP` (``total_capped`` says when there are more), so a broad selection of a
million cases stays fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts.scope import Scope
from gridmap.cases.scoping import personal_sql, visible_sql
from gridmap.errors import PermissionDenied, Problem, ValidationError
from gridmap.incidents.intake import SOURCE_LABELS
from gridmap.incidents.query import filter_sql
from gridmap.incidents.states import STATE_LABELS
from gridmap.reference.categories import URGENCY_LABELS

SORTS: dict[str, str] = {
    "reported_at": "i.reported_at", "case_no": "i.case_no", "due_at": "i.due_at",
    "state": "i.state", "category": "i.category_code", "urgency": "i.urgency",
    "level": "i.level", "id": "i.id",
}
"""Sortable columns (key → SQL; never from input)."""
LEVELS: tuple[str, ...] = ("grid", "community", "street", "district")
LIGHTS: tuple[str, ...] = ("red", "yellow", "none")
COUNT_CAP = 1000
MAX_TEXT = 100
POINTS_CAP = 5000

_COLUMNS = """
    i.id, i.case_no, i.category_code AS category, c.name_zh AS category_name,
    c.name_en AS category_name_en, i.state, i.urgency, i.source, i.level, i.unit_id,
    u.name AS unit_name, i.address, left(i.description, 200) AS description,
    i.reporter_name, i.reporter_phone, i.reported_at, i.due_at, i.closed_at,
    i.street_id, i.community_id, i.grid_id, g.grid_code, cm.name AS community_name,
    s.light, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat, i.satisfaction_score, i.solved,
    i.lock_version
"""
_FROM = """
    FROM incident i
    JOIN event_category c ON c.code = i.category_code
    LEFT JOIN org_unit u ON u.id = i.unit_id
    LEFT JOIN grid g ON g.id = i.grid_id
    LEFT JOIN community cm ON cm.id = i.community_id
    LEFT JOIN supervision s ON s.incident_id = i.id AND s.cleared_at IS NULL
"""


def grams(text: str) -> list[str]:
    """The grams a piece of text must contain (the SQL ``gm_grams`` of migration 0016, for
    a query): its bigrams, or the character itself for one character."""
    t = "".join(ch.lower() if ch.isascii() else ch for ch in text)
    if len(t) == 1:
        return [t] if t.strip(" ") else []
    return sorted({t[i:i + 2] for i in range(len(t) - 1) if t[i:i + 2].strip(" ")})


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _check(query: Mapping[str, Any], sort: str) -> None:
    problems: list[Problem] = []
    if sort not in SORTS:
        problems.append(Problem("cases.unknown_sort", {"value": sort, "choices": list(SORTS)},
                                field="sort"))
    for key, allowed in (("levels", LEVELS), ("lights", LIGHTS)):
        bad = [v for v in query.get(key) or () if v not in allowed]
        if bad:
            problems.append(Problem("cases.unknown_values", {"values": bad,
                                                             "choices": list(allowed)},
                                    field=key))
    for key in ("case_no", "text", "address", "phone"):
        value = query.get(key)
        if value is not None and len(str(value)) > MAX_TEXT:
            problems.append(Problem("cases.search_too_long", {"max": MAX_TEXT}, field=key))
    if problems:
        raise ValidationError("cases.bad_query", problems)


def _text_sql(query: Mapping[str, Any], clauses: list[str], p: dict[str, Any]) -> None:
    for key, cols in (("text", ("address", "description")), ("address", ("address",))):
        value = (query.get(key) or "").strip()
        if not value:
            continue
        g = grams(value)
        idx = " OR ".join(f"gm_grams(i.{c}) @> CAST(:{key}_g AS text[])" for c in cols)
        like = " OR ".join(f"i.{c} ILIKE :{key}_l" for c in cols)
        # the ILIKE first: where the planner scans rows instead of the gram index (a count
        # with a LIMIT), the cheap test rejects most rows before the grams are computed
        clauses.append(f"({like}) AND ({idx})" if g else f"({like})")
        p[f"{key}_g"] = g
        p[f"{key}_l"] = _like(value)


def where_sql(scope: Scope, query: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """WHERE clause (bound parameters only) of a case query inside ``scope``.

    Raises
    ------
    PermissionDenied
        ``cases.phone_search_denied``: a phone search by a viewer who may see no phone.
    """
    where, p = filter_sql(query)
    clauses = [where]
    vis, vp = visible_sql(scope)
    clauses.append(vis)
    p.update(vp)
    case_no = (query.get("case_no") or "").strip()
    if case_no:
        clauses.append("i.case_no LIKE :case_no")
        p["case_no"] = _like(case_no)[1:]
    phone = (query.get("phone") or "").strip()
    if phone:
        personal = personal_sql(scope)
        if personal is None:
            raise PermissionDenied("cases.phone_search_denied")
        clauses.extend(["i.reporter_phone LIKE :phone", personal[0]])
        p.update(personal[1])
        p["phone"] = _like(phone)[1:]
    _text_sql(query, clauses, p)
    for key, col in (("unit_ids", "i.unit_id"), ("levels", "i.level")):
        if query.get(key):
            clauses.append(f"{col} = ANY(:q_{key})")
            p[f"q_{key}"] = list(query[key])
    if query.get("grid_codes"):
        clauses.append("i.grid_id IN (SELECT id FROM grid WHERE grid_code = ANY(:q_gcodes))")
        p["q_gcodes"] = list(query["grid_codes"])
    lights = list(query.get("lights") or ())
    if lights:
        light_sql = "s.light = ANY(:q_lights)"
        if "none" in lights:
            light_sql = f"({light_sql} OR s.light IS NULL)"
        clauses.append(light_sql)
        p["q_lights"] = lights
    return " AND ".join(clauses), p


def decorate(row: Mapping[Any, Any], lang: str = "zh") -> dict[str, Any]:
    """A case row with the labels of its state, order type and source."""
    out = dict(row)
    out["state_label"] = STATE_LABELS.get(out.get("state") or "")
    out["urgency_label"] = URGENCY_LABELS.get(out.get("urgency") or "")
    out["source_label"] = SOURCE_LABELS.get(out.get("source") or "")
    if lang != "zh" and out.get("category_name_en"):
        out["category_name"] = out["category_name_en"]
    return out


def search(conn: Connection, scope: Scope, query: Mapping[str, Any], *, page: int = 1,
           page_size: int = 50, sort: str = "reported_at", desc: bool = True
           ) -> dict[str, Any]:
    """A page of the cases matching ``query`` inside ``scope`` (unmasked rows: mask them
    with :func:`gridmap.accounts.scope.masked` before showing them).

    Returns
    -------
    dict
        ``items``, ``total`` (counted up to :data:`COUNT_CAP`), ``total_capped``, ``page``,
        ``page_size``, ``sort``, ``desc``.

    Raises
    ------
    ValidationError
        Unknown sort column, level or light, or a search text too long (all at once).
    PermissionDenied
        A phone search by a viewer who may see no reporter's phone.
    """
    _check(query, sort)
    where, p = where_sql(scope, query)
    light_join = "LEFT JOIN supervision s ON s.incident_id = i.id AND s.cleared_at IS NULL" \
        if query.get("lights") else ""
    total = conn.execute(sa.text(
        f"SELECT count(*) FROM (SELECT 1 FROM incident i {light_join} WHERE {where} "  # noqa: S608 - fixed fragments, bound values
        "LIMIT :cap) x"), {**p, "cap": COUNT_CAP + 1}).scalar_one()
    direction = "DESC NULLS LAST" if desc else "ASC NULLS LAST"
    order = f"{SORTS[sort]} {direction}, i.id {'DESC' if desc else 'ASC'}"
    # the page's ids first (the planner's best plan for the filters alone), then their
    # columns: joined together, the planner chose plans two orders of magnitude slower
    sql = (f"WITH page AS MATERIALIZED (SELECT i.id, row_number() OVER () AS n FROM ("  # noqa: S608 - fixed fragments, bound values
           f"SELECT i.id FROM incident i {light_join} WHERE {where} ORDER BY {order} "
           f"LIMIT :lim OFFSET :off) i) SELECT {_COLUMNS} FROM page "
           f"JOIN incident i ON i.id = page.id {_FROM.split('FROM incident i', 1)[1]} "
           "ORDER BY page.n")
    rows = conn.execute(sa.text(sql), {**p, "lim": page_size,
                                       "off": (max(page, 1) - 1) * page_size}).mappings().all()
    return {"items": [decorate(r) for r in rows], "total": min(int(total), COUNT_CAP),
            "total_capped": int(total) > COUNT_CAP, "page": page, "page_size": page_size,
            "sort": sort, "desc": desc}


def points(conn: Connection, scope: Scope, query: Mapping[str, Any],
           cap: int = POINTS_CAP) -> dict[str, Any]:
    """The positions of the selected cases for the map (at most ``cap``, newest first):
    ``points`` as ``[id, lon, lat, state]`` and ``capped``."""
    _check(query, "reported_at")
    where, p = where_sql(scope, query)
    light_join = "LEFT JOIN supervision s ON s.incident_id = i.id AND s.cleared_at IS NULL" \
        if query.get("lights") else ""
    rows = conn.execute(sa.text(
        f"SELECT i.id, ST_X(i.geom), ST_Y(i.geom), i.state FROM incident i {light_join} "  # noqa: S608 - fixed fragments, bound values
        f"WHERE {where} ORDER BY i.reported_at DESC, i.id DESC LIMIT :cap"),
        {**p, "cap": cap + 1}).all()
    return {"points": [[int(r[0]), round(float(r[1]), 6), round(float(r[2]), 6), r[3]]
                       for r in rows[:cap]], "capped": len(rows) > cap}


def export_rows(conn: Connection, scope: Scope, query: Mapping[str, Any], *,
                sort: str = "reported_at", desc: bool = True, limit: int = 50_000
                ) -> list[dict[str, Any]]:
    """Every case of the selection (at most ``limit``) for the XLSX export (unmasked)."""
    out = search(conn, scope, query, page=1, page_size=limit, sort=sort, desc=desc)
    items: list[dict[str, Any]] = out["items"]
    return items
