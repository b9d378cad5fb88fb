"""我的待办: the cases waiting for the viewer, per kind of work, with counts.

A bucket is a set of states and the post action that works on them (:mod:`gridmap.org.posts`):

========== ============================== =============== =========================
bucket     states                          action          where
========== ============================== =============== =========================
file       reported (信息收集)             file            area of the unit
dispatch   filed, returned (立案, 回退)    dispatch        area of the unit
accept     dispatched (派遣)               accept          handling unit
handle     handling, rework, extended      handle          handling unit
check      handled (反馈)                  check / close   area of the unit
evaluate   closed (核查结案)               evaluate        area of the unit
========== ============================== =============== =========================

Staff get the buckets their posts allow, in their units (unit staff and community staff
alike: a 居委会's 处置人员 sees its own dispatched cases, its 网格员 the cases to check in its
grids). Supervisors and administrators get every bucket inside their area.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts.scope import HANDLING_ACTIONS, Scope
from gridmap.cases.scoping import units_sql, visible_sql
from gridmap.cases.search import decorate
from gridmap.errors import Problem, ValidationError

BUCKETS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "file": (("reported",), ("file",)),
    "dispatch": (("filed", "returned"), ("dispatch", "redispatch")),
    "accept": (("dispatched",), ("accept",)),
    "handle": (("handling", "rework", "extended"), ("handle",)),
    "check": (("handled",), ("check", "close")),
    "evaluate": (("closed",), ("evaluate",)),
}
"""bucket → (states, post actions)."""
_ITEMS = """
SELECT i.id, i.case_no, i.category_code AS category, c.name_zh AS category_name, i.state,
       i.urgency, i.source, i.level, i.unit_id, u.name AS unit_name, i.address,
       left(i.description, 200) AS description, i.reporter_name, i.reporter_phone,
       i.reported_at, i.due_at, i.accept_due_at, i.street_id, i.community_id, i.grid_id,
       i.lock_version
FROM incident i JOIN event_category c ON c.code = i.category_code
LEFT JOIN org_unit u ON u.id = i.unit_id
"""


def _bucket_sql(scope: Scope, bucket: str) -> tuple[str, dict[str, Any]] | None:
    """The condition of one bucket for ``scope``; ``None`` when the viewer has no post for it."""
    states, acts = BUCKETS[bucket]
    p: dict[str, Any] = {f"{bucket}_s": list(states)}
    cond = f"i.state = ANY(:{bucket}_s)"
    if scope.staff is None:
        if scope.role not in ("supervisor", "admin"):
            return None
        vis, vp = visible_sql(scope)
        return f"({cond} AND {vis})", {**p, **vp}
    units = set().union(*(scope.staff.units_for(a) for a in acts))
    if not units:
        return None
    where, up = units_sql(scope, units, f"w{bucket}",
                          areas=not any(a in HANDLING_ACTIONS for a in acts))
    return f"({cond} AND {where})", {**p, **up}


def counts(conn: Connection, scope: Scope) -> dict[str, int]:
    """Cases waiting in each bucket the viewer has (buckets without a post are absent)."""
    parts = {b: s for b in BUCKETS if (s := _bucket_sql(scope, b)) is not None}
    if not parts:
        return {}
    params: dict[str, Any] = {}
    cols = []
    for b, (cond, p) in parts.items():
        cols.append(f"count(*) FILTER (WHERE {cond}) AS {b}")
        params.update(p)
    states = sorted({s for b in parts for s in BUCKETS[b][0]})
    row = conn.execute(sa.text(
        f"SELECT {', '.join(cols)} FROM incident i WHERE i.state = ANY(:all_states)"),  # noqa: S608 - fixed fragments, bound values
        {**params, "all_states": states}).mappings().one()
    return {b: int(row[b]) for b in parts}


def items(conn: Connection, scope: Scope, bucket: str, *, page: int = 1,
          page_size: int = 50) -> dict[str, Any]:
    """A page of one bucket, most urgent first (due soonest, then oldest report); unmasked
    rows (mask with :func:`gridmap.accounts.scope.masked`).

    Raises
    ------
    ValidationError
        Unknown bucket.
    """
    if bucket not in BUCKETS:
        raise ValidationError("cases.bad_query", [Problem(
            "cases.unknown_values", {"values": [bucket], "choices": list(BUCKETS)},
            field="bucket")])
    part = _bucket_sql(scope, bucket)
    if part is None:
        return {"bucket": bucket, "items": [], "total": 0, "page": page,
                "page_size": page_size}
    cond, p = part
    total = conn.execute(sa.text(f"SELECT count(*) FROM incident i WHERE {cond}"), p  # noqa: S608 - fixed fragments, bound values
                         ).scalar_one()
    sql = (_ITEMS + f" WHERE {cond} "  # noqa: S608 - fixed fragments, bound values
           "ORDER BY COALESCE(i.accept_due_at, i.due_at) NULLS LAST, i.reported_at, i.id "
           "LIMIT :lim OFFSET :off")
    rows = conn.execute(sa.text(sql),
        {**p, "lim": page_size, "off": (max(page, 1) - 1) * page_size}).mappings().all()
    return {"bucket": bucket, "items": [decorate(r) for r in rows], "total": int(total),
            "page": page, "page_size": page_size}
