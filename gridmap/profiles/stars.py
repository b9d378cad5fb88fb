"""Stars and their reasons for a profile, from the committee ratings (gridmap.ratings,
issue #17 §1) where that package offers ``current_stars``; a committee without a rating is
shown as not rated (未评)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection


def _normalise(value: Any) -> dict[str, Any] | None:
    """A rating as ``{stars, status, year, round, reasons}`` (None: not rated)."""
    if value is None:
        return None
    if isinstance(value, int):
        return {"stars": value, "reasons": []}
    if isinstance(value, Mapping):
        out = dict(value)
        if out.get("stars") is None:
            return None
        out["reasons"] = list(out.get("reasons") or [])
        return out
    return None


def stars(conn: Connection, community_codes: list[str]) -> dict[str, dict[str, Any] | None]:
    """``{community code: rating or None}``; None everywhere when ratings are unavailable."""
    try:
        from gridmap import ratings
        current = getattr(ratings, "current_stars")  # noqa: B009 (ratings may lack it)
    except (ImportError, AttributeError):
        return {c: None for c in community_codes}
    got = current(conn, community_codes) or {}
    return {c: _normalise(got.get(c)) for c in community_codes}
