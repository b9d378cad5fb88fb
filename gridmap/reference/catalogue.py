"""Reference catalogues shipped as package data (``gridmap/data``): the facility-type
catalogue of the 15-minute life circle (reference/facility_catalogue.csv), the division codes,
and — through :mod:`gridmap.reference.categories` and :mod:`gridmap.reference.workcal` — the
event categories and the working calendar.

``load_reference`` is what ``gridmap db migrate`` and the test template run: it adds the
rows not stored yet and never overwrites stored ones, so a city's own values (radii, time
limits, holidays — most shipped values are [unverified] defaults) survive every upgrade.
:func:`import_catalogue` (``gridmap import catalogue KIND FILE``) is how a city replaces
them: validated as a whole, then written in one transaction.
"""

from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.config import DATA_GEO
from gridmap.errors import Problem, ValidationError
from gridmap.reference import categories, codes, workcal

FACILITY_CATALOGUE = DATA_GEO / "facility_catalogue.csv"
TIERS = ("15min", "10min", "5min", "block")


def read_facility_catalogue(path: Path = FACILITY_CATALOGUE) -> list[dict[str, object]]:
    """Parse and validate the facility catalogue; every problem is reported at once."""
    rows: list[dict[str, object]] = []
    problems: list[Problem] = []
    with open(path, encoding="utf-8-sig") as fh:
        for i, rec in enumerate(csv.DictReader(fh), start=1):
            code = (rec.get("code") or "").strip()
            tier = (rec.get("tier") or "").strip()
            radius = (rec.get("radius_m") or "").strip()
            if not code:
                problems.append(Problem("reference.empty_code", row=i, field="code"))
            if tier not in TIERS:
                problems.append(Problem("reference.unknown_tier", {"tier": tier}, row=i,
                                        field="tier"))
            if radius and not radius.isdigit():
                problems.append(Problem("reference.radius_not_whole", {"radius": radius},
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
            problems.append(Problem("reference.duplicate_code", {"code": r["code"]}, row=i,
                                    field="code"))
        seen.add(r["code"])
    if problems:
        raise ValidationError("reference.facility_catalogue_invalid", problems,
                              {"file": path.name})
    return rows


def load_facility_types(conn: Connection, path: Path = FACILITY_CATALOGUE, *,
                        update_existing: bool = False) -> int:
    """Load a facility catalogue into ``facility_type``; returns the row count.

    Stored codes are kept as they are unless ``update_existing``.
    """
    rows = read_facility_catalogue(path)
    conflict = """DO UPDATE SET
                  name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en, tier = EXCLUDED.tier,
                  radius_m = EXCLUDED.radius_m, required = EXCLUDED.required,
                  confidence = EXCLUDED.confidence, osm_tags = EXCLUDED.osm_tags,
                  amap_types = EXCLUDED.amap_types, name_hint = EXCLUDED.name_hint""" \
        if update_existing else "DO NOTHING"
    with conn.begin_nested():
        conn.execute(
            sa.text(
                f"""
                INSERT INTO facility_type (code, name_zh, name_en, tier, radius_m, required,
                                           confidence, osm_tags, amap_types, name_hint)
                VALUES (:code, :name_zh, :name_en, :tier, :radius_m, :required,
                        :confidence, :osm_tags, :amap_types, :name_hint)
                ON CONFLICT (code) {conflict}
                """  # noqa: S608 - the conflict clause is one of two fixed strings
            ),
            rows,
        )
    return len(rows)


def load_reference(conn: Connection) -> dict[str, int]:
    """Load every shipped reference catalogue, adding only what is not stored yet."""
    return {
        "admin_division": codes.load_admin_codes(conn),
        "facility_type": load_facility_types(conn),
        "event_category": categories.load_event_categories(conn),
        "work_calendar": workcal.load_work_calendar(conn),
    }


CATALOGUES = ("facility-types", "event-categories", "work-calendar")
_TABLES = {"facility-types": ("facility_type", "code"),
           "event-categories": ("event_category", "code"),
           "work-calendar": ("work_calendar", "day")}


def import_catalogue(conn: Connection, kind: str, path: Path, *, dry_run: bool = False,
                     replace_years: bool = False) -> dict[str, object]:
    """Replace or extend a reference catalogue with a city's own file.

    Parameters
    ----------
    kind:
        ``facility-types``, ``event-categories`` or ``work-calendar`` (same columns as the
        shipped files in ``data/geo/``).
    path:
        The CSV file.
    dry_run:
        Validate and count, write nothing.
    replace_years:
        Work calendar only: the file is the whole calendar of the years it covers (stored days
        of those years that it does not list are removed).

    Returns
    -------
    dict
        ``kind``, ``rows``, ``inserted``, ``updated``, ``removed``, ``dry_run``.

    Raises
    ------
    ValidationError
        Unknown kind, unreadable file, or every problem of its rows (nothing written).
    """
    if kind not in CATALOGUES:
        raise ValidationError("reference.unknown_catalogue",
                              params={"kind": kind, "choices": CATALOGUES})
    path = Path(path)
    if not path.is_file():
        raise ValidationError("reference.file_not_found", params={"path": str(path)})
    table, key = _TABLES[kind]
    # keys come from the fixed table above, never from input
    before = {r[0] for r in conn.execute(sa.text(f"SELECT {key} FROM {table}"))}  # noqa: S608
    with conn.begin_nested() as sp:
        try:
            if kind == "facility-types":
                n = load_facility_types(conn, path, update_existing=True)
            elif kind == "event-categories":
                n = categories.load_event_categories(conn, path, update_existing=True)
            else:
                n = workcal.load_work_calendar(conn, path, update_existing=True,
                                               replace_years=replace_years)
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationError("reference.unreadable_csv",
                                  params={"file": path.name, "error": str(exc)}) from exc
        after = {r[0] for r in conn.execute(sa.text(f"SELECT {key} FROM {table}"))}  # noqa: S608
        if dry_run:
            sp.rollback()
    inserted = len(after - before)
    removed = len(before - after)
    return {"kind": kind, "rows": n, "inserted": inserted, "updated": n - inserted,
            "removed": removed, "dry_run": dry_run}
