"""What the field page needs around the reporter: the categories most used in their area
first, and the open cases of a category near a point (the possible-duplicate warning)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts.scope import Scope
from gridmap.incidents.states import CLOSED_STATES


def categories(conn: Connection, scope: Scope, *, days: int = 90, common: int = 8
               ) -> list[dict[str, Any]]:
    """Every reportable category (leaf codes), the ``common`` most used in the user's area
    over the last ``days`` first (``common: true``, with their ``count``), then by code."""
    rows = conn.execute(sa.text(
        "WITH used AS (SELECT category_code, count(*) AS n FROM incident"
        " WHERE reported_at >= now() - make_interval(days => :days)"
        " AND (CAST(:comms AS int[]) IS NULL OR community_id = ANY(CAST(:comms AS int[])))"
        " GROUP BY category_code)"
        " SELECT c.code, c.name_zh, c.name_en, coalesce(u.n, 0) AS count FROM event_category c"
        " LEFT JOIN used u ON u.category_code = c.code"
        " WHERE NOT EXISTS (SELECT 1 FROM event_category k WHERE k.parent_code = c.code)"
        " ORDER BY coalesce(u.n, 0) DESC, c.code"),
        {"days": days, "comms": scope.ids()}).mappings().all()
    out = [dict(r) for r in rows]
    top = [r for r in out[:common] if r["count"] > 0]
    rest = sorted((r for r in out if r not in top), key=lambda r: r["code"])
    return [{**r, "common": True} for r in top] + [{**r, "common": False} for r in rest]


def nearby_open(conn: Connection, lon: float, lat: float, category: str, *,
                radius_m: float, limit: int = 5) -> list[dict[str, Any]]:
    """Open cases of ``category`` within ``radius_m`` of a point, nearest first: the
    possible duplicates a reporter is warned about (case number, state, distance, time; no
    description or personal data, whoever asks)."""
    rows = conn.execute(sa.text(
        "SELECT i.id, i.case_no, i.state, i.reported_at, round(ST_Distance(i.geom::geography,"
        " p.g::geography)::numeric, 0)::float AS distance_m"
        " FROM incident i, (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g) p"
        " WHERE i.category_code = :cat AND NOT (i.state = ANY(:closed))"
        " AND ST_DWithin(i.geom::geography, p.g::geography, :r)"
        " ORDER BY distance_m, i.id LIMIT :n"),
        {"lon": lon, "lat": lat, "cat": category, "closed": list(CLOSED_STATES),
         "r": radius_m, "n": limit}).mappings()
    return [dict(r) for r in rows]


def home_point(conn: Connection, scope: Scope) -> tuple[float, float] | None:
    """(lon, lat) of the middle of the user's communities (the district for an unrestricted
    scope): where the map starts before the phone knows its position."""
    row = conn.execute(sa.text(
        "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom)::geometry) AS c"
        " FROM community WHERE CAST(:ids AS int[]) IS NULL OR id = ANY(CAST(:ids AS int[])))"
        " AS t WHERE c IS NOT NULL"), {"ids": scope.ids()}).first()
    return None if row is None or row[0] is None else (float(row[0]), float(row[1]))
