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
_NO_INDEX: dict[str, str] = {
    "reported_at": " + interval '0 s'", "case_no": " || ''", "due_at": " + interval '0 s'",
    "state": " || ''", "category": " || ''", "urgency": " || ''", "level": " || ''",
    "id": " + 0"}
"""The same order as an expression no index provides (see :func:`_page_ids`)."""
LEVELS: tuple[str, ...] = ("grid", "community", "street", "district")
LIGHTS: tuple[str, ...] = ("red", "yellow", "none")
COUNT_CAP = 1000
WALK_ROWS = 20_000
"""Rows of the sort order a common selection's page is looked for in (see :func:`search`)."""
TEXT_WALK_ROWS = 2_000
"""Rows a text search's page is first looked for in: a text common enough to skip the count
fills a page there; a rare one wastes no more than this (see :func:`_text_walk`)."""
WALKABLE = frozenset({"reported_at", "due_at", "id"})
"""Sort columns with an index to walk (migrations 0016 and 0023)."""
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
        # a semi-join on the open 督办 rows (partial index of migration 0023), not a join
        # the planner answers by reading every case of the scope
        # inside an expression (IS TRUE) the sub-select stays a hashed SubPlan: the open
        # rows are hashed once and each case costs one probe; a top-level semi-join is
        # turned by the count's LIMIT into one index probe per case of the street
        light_sql = ("(i.id IN (SELECT sv.incident_id FROM supervision sv WHERE"
                     " sv.cleared_at IS NULL AND sv.light = ANY(:q_lights))) IS TRUE")
        if "none" in lights:
            light_sql = (f"({light_sql} OR NOT EXISTS (SELECT 1 FROM supervision sn WHERE"  # noqa: S608 - fixed fragments
                         " sn.incident_id = i.id AND sn.cleared_at IS NULL))")
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
    off = (max(page, 1) - 1) * page_size
    walked = _text_walk(conn, query, where, p, sort, desc, off, page_size)
    if walked is not None:      # a common text: the page from the walk, "1000+" without a count
        total, ids = COUNT_CAP + 1, walked
    else:
        total, ids = _small_page(conn, where, p, sort, desc, page_size, off)
        if total > COUNT_CAP:
            texts = any((query.get(k) or "").strip() for k in ("text", "address"))
            # a text whose page the short walk could not fill is not worth a longer one
            ids = _page_ids(conn, where, p, sort, desc, page_size, off, common=not texts)
    rows = conn.execute(sa.text(
        f"SELECT {_COLUMNS} FROM unnest(CAST(:ids AS bigint[])) WITH ORDINALITY AS page(id, n) "  # noqa: S608 - fixed fragments
        f"JOIN incident i ON i.id = page.id {_FROM.split('FROM incident i', 1)[1]} "
        "ORDER BY page.n"), {"ids": ids}).mappings().all()
    return {"items": [decorate(r) for r in rows], "total": min(total, COUNT_CAP),
            "total_capped": total > COUNT_CAP, "page": page, "page_size": page_size,
            "sort": sort, "desc": desc}


def _text_walk(conn: Connection, query: Mapping[str, Any], where: str, p: dict[str, Any],
               sort: str, desc: bool, off: int, limit: int) -> list[int] | None:
    """The page of a common text search, found by walking the sort order, when the walk
    also shows the selection is far larger than :data:`COUNT_CAP` (its share of the cases
    walked, times the table's size estimate, is ten times the cap): the count would read
    the gram index's long lists for a number shown as "1000+" anyway. ``None`` otherwise."""
    if sort not in WALKABLE or not any((query.get(k) or "").strip() for k in ("text", "address")):
        return None
    way = "DESC" if desc else "ASC"
    rows = conn.execute(sa.text(
        f"SELECT id, n FROM (SELECT id, hit, row_number() OVER () AS n FROM (SELECT i.id,"  # noqa: S608 - fixed fragments, bound values
        f" ({where}) AS hit FROM incident i ORDER BY {SORTS[sort]} {way}, i.id {way}"
        " LIMIT :walk) o) w WHERE hit LIMIT :k"),
        {**p, "walk": TEXT_WALK_ROWS + off * 20, "k": off + limit}).all()
    if len(rows) < off + limit:
        return None
    size = float(conn.execute(sa.text(_TABLE_SIZE)).scalar_one() or 0)
    if len(rows) / int(rows[-1][1]) * size < 10 * COUNT_CAP:
        return None
    return [int(r[0]) for r in rows[off:]]


def _small_page(conn: Connection, where: str, p: dict[str, Any], sort: str, desc: bool,
                limit: int, offset: int) -> tuple[int, list[int]]:
    """The count (up to :data:`COUNT_CAP` + 1) and, when the selection is not larger than
    the cap, its page, in one statement: the matches (at most cap + 1) are read once and
    both counted and sorted, instead of a count and a second search for the page."""
    way = "DESC" if desc else "ASC"
    rows = conn.execute(sa.text(
        f"WITH sel AS MATERIALIZED (SELECT i.id, {SORTS[sort]} AS k FROM incident i "  # noqa: S608 - fixed fragments, bound values
        f"WHERE {where} LIMIT :cap) SELECT id, (SELECT count(*) FROM sel) AS total FROM sel "
        f"ORDER BY k {way}, id {way} LIMIT :lim OFFSET :off"),
        {**p, "cap": COUNT_CAP + 1, "lim": limit, "off": offset}).all()
    if rows:
        return int(rows[0][1]), [int(r[0]) for r in rows]
    if offset == 0:
        return 0, []
    total = int(conn.execute(sa.text(  # a page past the end: the count alone
        f"SELECT count(*) FROM (SELECT 1 FROM incident i WHERE {where} "  # noqa: S608 - fixed fragments, bound values
        "LIMIT :cap) x"), {**p, "cap": COUNT_CAP + 1}).scalar_one())
    return total, []


_TABLE_SIZE = """
SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_inherits WHERE inhparent = 'incident'::regclass)
  THEN (SELECT sum(greatest(c.reltuples, 0)) FROM pg_inherits h JOIN pg_class c
        ON c.oid = h.inhrelid WHERE h.inhparent = 'incident'::regclass)
  ELSE (SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = 'incident'::regclass) END
"""
"""The planner's estimate of the number of cases (partitions summed), no scan."""


def _page_ids(conn: Connection, where: str, p: dict[str, Any], sort: str, desc: bool,
              limit: int, offset: int, *, common: bool) -> list[int]:
    """The ids of one page, in order.

    A selection of more than :data:`COUNT_CAP` cases (a common road, a broad filter) is
    read by walking the sort column's index newest (or first) first and testing each row
    until the page is full: the planner, which cannot estimate how many rows a text search
    matches, would otherwise fetch and sort every match. The walk stops after
    :data:`WALK_ROWS` rows (plus the offset); when it comes up short, the planner's plan
    answers (a selective search is fast there).
    """
    order = f"{SORTS[sort]} {'DESC' if desc else 'ASC'}, i.id {'DESC' if desc else 'ASC'}"
    params = {**p, "lim": limit, "off": offset}
    if common and sort in WALKABLE:
        walk = WALK_ROWS + offset * 20
        rows = conn.execute(sa.text(
            f"SELECT id, hit FROM (SELECT i.id, ({where}) AS hit FROM incident i "  # noqa: S608 - fixed fragments, bound values
            f"ORDER BY {order} LIMIT :walk) w WHERE hit LIMIT :lim OFFSET :off"),
            {**params, "walk": walk}).all()
        if len(rows) == limit:
            return [int(r[0]) for r in rows]
    # sorted by an expression: the planner filters first (its indexes for the conditions)
    # and sorts what matched, instead of walking the sort index through the whole table
    # hoping to meet matches soon
    loose = f"({SORTS[sort]}{_NO_INDEX[sort]}) {'DESC' if desc else 'ASC'}, i.id {'DESC' if desc else 'ASC'}"
    return [int(r[0]) for r in conn.execute(sa.text(
        f"SELECT i.id FROM incident i WHERE {where} ORDER BY {loose} "  # noqa: S608 - fixed fragments, bound values
        "LIMIT :lim OFFSET :off"), params)]


def points(conn: Connection, scope: Scope, query: Mapping[str, Any],
           cap: int = POINTS_CAP) -> dict[str, Any]:
    """The positions of the selected cases for the map (at most ``cap``, newest first):
    ``points`` as ``[id, lon, lat, state]`` and ``capped``."""
    _check(query, "reported_at")
    where, p = where_sql(scope, query)
    rows = conn.execute(sa.text(
        f"SELECT i.id, ST_X(i.geom), ST_Y(i.geom), i.state FROM incident i "  # noqa: S608 - fixed fragments, bound values
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
