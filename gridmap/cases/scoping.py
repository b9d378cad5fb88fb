"""A viewer's :class:`~gridmap.accounts.scope.Scope` as a SQL condition on ``incident``.

The same rules as :func:`gridmap.accounts.scope.get_incident` and
:func:`gridmap.accounts.scope.masked`, set-based: staff see the cases their units handle and
the cases in the areas their units serve; other scoped users the cases of their communities.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gridmap.accounts.scope import Scope

BROAD_SCOPE = 30
"""More communities than this in a scope: tested per row, not looked up in the index."""


def units_sql(scope: Scope, units: Iterable[int], key: str, alias: str = "i",
              *, areas: bool = True) -> tuple[str, dict[str, Any]]:
    """Cases handled by ``units`` or (``areas``) inside the areas they serve (staff only)."""
    st = scope.staff
    assert st is not None
    unit_set = sorted(set(units))
    p: dict[str, Any] = {f"{key}_u": unit_set}
    parts = [f"{alias}.unit_id = ANY(:{key}_u)"]
    if areas:
        chosen = [a for u, a in st.areas if u in unit_set]
        for col, attr in (("street_id", "street_ids"), ("community_id", "community_ids"),
                          ("grid_id", "grid_ids")):
            ids = sorted({i for a in chosen for i in getattr(a, attr)})
            if ids:
                parts.append(f"{alias}.{col} = ANY(:{key}_{col})")
                p[f"{key}_{col}"] = ids
    return "(" + " OR ".join(parts) + ")", p


def visible_sql(scope: Scope, alias: str = "i") -> tuple[str, dict[str, Any]]:
    """The cases ``scope`` may see."""
    if scope.staff is not None:
        return units_sql(scope, scope.staff.unit_ids, "sv", alias)
    if scope.community_ids is None:
        return "true", {}
    if len(scope.community_ids) > BROAD_SCOPE:
        # a district's worth of communities selects most cases: a test on each row, not an
        # index scan of most of the table ANDed with the search's own index
        return f"({alias}.community_id + 0) = ANY(:sv_c)", {"sv_c": scope.ids()}
    return f"{alias}.community_id = ANY(:sv_c)", {"sv_c": scope.ids()}


def personal_sql(scope: Scope, alias: str = "i") -> tuple[str, dict[str, Any]] | None:
    """The cases whose reporter's name and phone ``scope`` may see unmasked; ``None`` when
    none (anonymous users, officers, planners, administrators)."""
    st = scope.staff
    if st is not None:
        own, p = units_sql(scope, st.unit_ids, "pd1", alias, areas=False)
        sup = st.units_for("supervise")
        if not sup:
            return own, p
        area, p2 = units_sql(scope, sup, "pd2", alias)
        return f"({own} OR {area})", {**p, **p2}
    if scope.role != "supervisor":
        return None
    return visible_sql(scope, alias)
