"""What the pages and exports show: the ratings table with ranking and year-over-year change,
the distribution against the target per street and district, and the star map's features."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import messages
from gridmap.ratings.scheme import Scheme, scheme_for
from gridmap.ratings.store import check_round, committees

_TABLE_SQL = """
SELECT c.id AS community_id, c.code, c.name, s.code AS street_code, s.name AS street_name,
       r.id AS rating_id, r.status, r.stars, r.computed_stars, r.score, r.complete, r.reasons,
       r.criteria, r.confirmed_by, r.confirmed_level, r.confirmed_at, r.note,
       p.stars AS prev_stars, p.status AS prev_status
FROM community c JOIN street s ON s.id = c.street_id
LEFT JOIN rating r ON r.community_id = c.id AND r.year = :y AND r.round = :r
LEFT JOIN LATERAL (
    SELECT q.stars, q.status FROM rating q WHERE q.community_id = c.id AND q.year = :y - 1
    ORDER BY (q.status = 'confirmed') DESC, (q.round = :r) DESC, (q.round = 'acceptance') DESC
    LIMIT 1) p ON true
WHERE (CAST(:st AS text) IS NULL OR s.code = :st)
ORDER BY c.code
"""


def render_reasons(reasons: Sequence[Mapping[str, Any]], lang: str) -> list[str]:
    """The stored reasons (``{code, params}``) as texts in ``lang``."""
    return [messages.render(r["code"], r.get("params", {}), lang) for r in reasons]


def table(conn: Connection, year: int, round_code: str, *, street_code: str | None = None,
          lang: str = "zh") -> list[dict[str, Any]]:
    """One row per committee (rated or not): stars, score, status, reasons (texts in
    ``lang``), the previous year's stars and the change, and the rank by score within the
    selection (1 = best; unrated committees last, without rank)."""
    check_round(year, round_code)
    if street_code is not None:
        committees(conn, street_code=street_code)  # unknown street → NotFound
    rows = [dict(r) for r in conn.execute(sa.text(_TABLE_SQL), {
        "y": year, "r": round_code, "st": street_code}).mappings()]
    for r in rows:
        r["reason_texts"] = render_reasons(r["reasons"] or [], lang)
        r["change"] = (None if r["stars"] is None or r["prev_stars"] is None
                       else int(r["stars"]) - int(r["prev_stars"]))
    ranked = sorted((r for r in rows if r["stars"] is not None),
                    key=lambda r: (-int(r["stars"]), -(r["score"] or -1.0), r["code"]))
    for n, r in enumerate(ranked, start=1):
        r["rank"] = n
    for r in rows:
        r.setdefault("rank", None)
    return ranked + [r for r in rows if r["stars"] is None]


def _bands(counts: Mapping[int, int], scheme: Scheme) -> dict[str, Any]:
    total = sum(counts.values())
    share = {k: (counts.get(k, 0) / total if total else 0.0) for k in range(1, 6)}
    t = scheme.target
    bands = {
        "five": (share[5], t.get("five", 0.10), "target"),
        "three_four": (share[3] + share[4], t.get("three_four", 0.70), "target"),
        "two": (share[2], t.get("two_max", 0.15), "max"),
        "one": (share[1], t.get("one_max", 0.05), "max"),
    }
    return {"total": total, "counts": {k: counts.get(k, 0) for k in range(1, 6)},
            "bands": {k: {"share": round(v, 4), "target": tv, "kind": kind,
                          "meets": (v >= tv) if kind == "target" else (v <= tv)}
                      for k, (v, tv, kind) in bands.items()}}


def distribution(conn: Connection, year: int, round_code: str, *,
                 confirmed_only: bool = False) -> dict[str, Any]:
    """Stars per street and for the district against the scheme's target (5★ 10 %,
    3–4★ 70 %, 2★ few, 1★ very few): counts, shares and whether each band meets it."""
    check_round(year, round_code)
    _, scheme = scheme_for(conn, year)
    rows = conn.execute(sa.text(
        "SELECT s.code, s.name, r.stars, count(*) FROM rating r"
        " JOIN community c ON c.id = r.community_id JOIN street s ON s.id = c.street_id"
        " WHERE r.year = :y AND r.round = :r AND (r.status = 'confirmed' OR NOT :conf)"
        " GROUP BY 1, 2, 3"), {"y": year, "r": round_code, "conf": confirmed_only}).all()
    streets: dict[str, dict[str, Any]] = {}
    total: dict[int, int] = {}
    for code, name, stars, n in rows:
        st = streets.setdefault(code, {"code": code, "name": name, "counts": {}})
        st["counts"][int(stars)] = st["counts"].get(int(stars), 0) + int(n)
        total[int(stars)] = total.get(int(stars), 0) + int(n)
    return {"district": _bands(total, scheme),
            "streets": [{"code": s["code"], "name": s["name"], **_bands(s["counts"], scheme)}
                        for s in sorted(streets.values(), key=lambda s: s["code"])],
            "target": dict(scheme.target)}


def map_features(conn: Connection, year: int, round_code: str, *,
                 street_code: str | None = None, lang: str = "zh") -> dict[str, Any]:
    """The star map: committees as GeoJSON features (simplified outlines) with stars, status,
    score, change and the reasons as texts in ``lang``."""
    rows = {r["community_id"]: r for r in table(conn, year, round_code, street_code=street_code,
                                                 lang=lang)}
    geoms = conn.execute(sa.text(
        "SELECT c.id, ST_AsGeoJSON(ST_SimplifyPreserveTopology(c.geom, 0.00002), 6)"
        " FROM community c WHERE c.id = ANY(:ids)"), {"ids": list(rows)}).all()
    feats = []
    for cid, gj in geoms:
        r = rows[cid]
        feats.append({"type": "Feature", "geometry": json.loads(gj), "properties": {
            "code": r["code"], "name": r["name"], "street": r["street_name"],
            "stars": r["stars"], "status": r["status"], "score": r["score"],
            "rank": r["rank"], "change": r["change"], "prev_stars": r["prev_stars"],
            "reasons": r["reason_texts"]}})
    return {"type": "FeatureCollection", "features": feats}


def years(conn: Connection) -> list[int]:
    """Years with ratings or a stored scheme, newest first."""
    return [int(r[0]) for r in conn.execute(sa.text(
        "SELECT year FROM rating UNION SELECT year FROM rating_scheme ORDER BY 1 DESC"))]


def street_names(conn: Connection, codes: Sequence[str]) -> list[tuple[str, str]]:
    """(code, name) of the streets with these codes."""
    return [(r[0], r[1]) for r in conn.execute(sa.text(
        "SELECT code, name FROM street WHERE code = ANY(:c) ORDER BY code"), {"c": list(codes)})]
