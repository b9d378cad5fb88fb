"""Stars and their reasons for a profile, from the committees' confirmed ratings
(:func:`gridmap.ratings.current_stars`, issue #17 §1); a committee without a confirmed
rating is not rated (未评, None). Reasons are message codes, rendered here in zh and en so
the profile stays plain data."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from gridmap import messages
from gridmap.ratings import current_stars


def stars(conn: Connection, community_codes: list[str]) -> dict[str, dict[str, Any] | None]:
    """``{community code: {"stars", "reasons": [{code, params, zh, en}]} or None}``."""
    got = current_stars(conn, community_codes)
    out: dict[str, dict[str, Any] | None] = {}
    for code in community_codes:
        if code not in got:
            out[code] = None
            continue
        n, reasons = got[code]
        out[code] = {"stars": int(n), "reasons": [
            {"code": p.code, "params": dict(p.params),
             "zh": messages.render(p.code, p.params, "zh"),
             "en": messages.render(p.code, p.params, "en")} for p in reasons]}
    return out
