"""Reference catalogues shipped in ``data/geo/``: the facility-type catalogue of the
15-minute life circle (reference/facility_catalogue.csv) and the division codes.

``load_reference`` is what ``gridmap db init`` and the test template run: every
catalogue is upserted, so running it twice changes nothing.
"""

from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import codes
from gridmap.config import DATA_GEO
from gridmap.errors import Problem, ValidationError

FACILITY_CATALOGUE = DATA_GEO / "facility_catalogue.csv"
TIERS = ("15min", "10min", "5min", "block")


def read_facility_catalogue(path: Path = FACILITY_CATALOGUE) -> list[dict[str, object]]:
    """Parse and validate the facility catalogue; every problem is reported at once."""
    rows: list[dict[str, object]] = []
    problems: list[Problem] = []
    with open(path, encoding="utf-8") as fh:
        for i, rec in enumerate(csv.DictReader(fh), start=1):
            code = (rec.get("code") or "").strip()
            tier = (rec.get("tier") or "").strip()
            radius = (rec.get("radius_m") or "").strip()
            if not code:
                problems.append(Problem("empty code", row=i, field="code"))
            if tier not in TIERS:
                problems.append(Problem(f"unknown tier {tier!r}", row=i, field="tier"))
            if radius and not radius.isdigit():
                problems.append(Problem(f"radius {radius!r} is not a whole number of metres",
                                        row=i, field="radius_m"))
            rows.append({
                "code": code,
                "name_zh": rec.get("name_zh", "").strip(),
                "name_en": rec.get("name_en", "").strip(),
                "tier": tier,
                "radius_m": int(radius) if radius.isdigit() else None,
                "required": (rec.get("required") or "").strip().lower() == "yes",
                "confidence": (rec.get("confidence") or "").strip() or None,
                "osm_tags": (rec.get("osm_tags") or "").strip() or None,
                "amap_types": (rec.get("amap_types") or "").strip() or None,
                "name_hint": (rec.get("name_hint") or "").strip() or None,
            })
    seen: set[object] = set()
    for i, r in enumerate(rows, start=1):
        if r["code"] in seen:
            problems.append(Problem(f"duplicate code {r['code']!r}", row=i, field="code"))
        seen.add(r["code"])
    if problems:
        raise ValidationError(f"facility catalogue {path.name} is invalid", problems)
    return rows


def load_facility_types(conn: Connection, path: Path = FACILITY_CATALOGUE) -> int:
    """Upsert the facility catalogue into ``facility_type``; returns the row count."""
    rows = read_facility_catalogue(path)
    with conn.begin_nested():
        conn.execute(
            sa.text(
                """
                INSERT INTO facility_type (code, name_zh, name_en, tier, radius_m, required,
                                           confidence, osm_tags, amap_types, name_hint)
                VALUES (:code, :name_zh, :name_en, :tier, :radius_m, :required,
                        :confidence, :osm_tags, :amap_types, :name_hint)
                ON CONFLICT (code) DO UPDATE SET
                  name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en, tier = EXCLUDED.tier,
                  radius_m = EXCLUDED.radius_m, required = EXCLUDED.required,
                  confidence = EXCLUDED.confidence, osm_tags = EXCLUDED.osm_tags,
                  amap_types = EXCLUDED.amap_types, name_hint = EXCLUDED.name_hint
                """
            ),
            rows,
        )
    return len(rows)


def load_reference(conn: Connection) -> dict[str, int]:
    """Load every shipped reference catalogue (idempotent). Returns counts per catalogue."""
    counts = {
        "admin_division": codes.load_admin_codes(conn),
        "facility_type": load_facility_types(conn),
        "event_category": __import__("gridmap.incidents", fromlist=["_"]).load_event_categories(conn),
    }
    return counts
