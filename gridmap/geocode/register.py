"""The standard address register (标准地址库): entries from files, versioned writes, loading.

An entry is an address as written (``text``), its parsed elements (road, 弄, 支弄, 号, 小区/
place, 号楼; district/street/community when written), a WGS84 point and/or a building id, a
source and a validity interval. Writing is versioned like boundaries: per ``source`` and
normalised identity (``entry_key``) one current row; an entry whose point, building or text
changed is retired (``valid_to``) and a new row inserted; with ``retire_missing`` the current
entries of the source absent from the new set are retired. Nothing is deleted.

Reading files is the caller's business (the CLI uses ``gridmap.imports.tables``): this module
takes a frame with ``address`` and ``lon``/``lat`` or ``building_id``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import Problem, ValidationError
from gridmap.geocode.index import RegisterIndex, build_index
from gridmap.geocode.normalise import name_key, place_key
from gridmap.geocode.parse import parse

ENTRY_COLUMNS: tuple[str, ...] = (
    "kind", "text", "entry_key", "district", "street", "community", "road", "lane", "branch",
    "number", "place", "building_no", "building_id", "lon", "lat", "line")
"""Columns of an entries frame (``line``: shapely line or None, roads only)."""

_INT_COLS = ("lane", "branch", "number", "building_no", "building_id")


def entry_key(kind: str, road: Any, lane: Any, branch: Any, number: Any, place: Any,
              building_no: Any, extra: str = "") -> str:
    """The normalised identity of an entry (same address written differently → same key)."""
    def n(v: Any) -> str:
        return "" if v is None or v != v else str(int(v))

    r = name_key(road) if isinstance(road, str) else ""
    p = place_key(place) if isinstance(place, str) else ""
    return "|".join((kind, r, n(lane), n(branch), n(number), p, n(building_no), extra))


def _kind(p: Any) -> str | None:
    if p.road and (p.number is not None or p.lane is not None):
        return "door"
    if p.place:
        return "place"
    if p.road:
        return "road"
    if p.community or p.street:
        return "area"
    return None


def _elements(text: str) -> dict[str, Any]:
    p = parse(text)
    kind = _kind(p)
    place = p.place or (p.community or p.street if kind == "area" else None)
    return {"kind": kind, "district": p.district, "street": p.street,
            "community": p.community, "road": p.road, "lane": p.lane, "branch": p.branch,
            "number": p.number, "place": place, "building_no": p.building}


def entries_from_addresses(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """Parse register rows: ``address`` plus ``lon``/``lat`` and/or ``building_id``.

    Every problem is reported (1-based rows): missing address, address without a road, place
    or area, no point and no building, coordinates out of range, the same address twice.
    """
    problems: list[Problem] = []
    n = len(frame)
    text = frame.get("address", pd.Series([None] * n, index=frame.index)).astype(object)
    lon = pd.to_numeric(frame.get("lon", pd.Series([np.nan] * n, index=frame.index)),
                        errors="coerce").to_numpy(float)
    lat = pd.to_numeric(frame.get("lat", pd.Series([np.nan] * n, index=frame.index)),
                        errors="coerce").to_numpy(float)
    bid = pd.to_numeric(frame.get("building_id", pd.Series([np.nan] * n, index=frame.index)),
                        errors="coerce").to_numpy(float)
    rows: list[dict[str, Any]] = []
    for i, (raw, x, y, b) in enumerate(zip(text.tolist(), lon, lat, bid, strict=True),
                                        start=1):
        t = str(raw).strip() if isinstance(raw, str) else ""
        el = _elements(t) if t else {"kind": None}
        if not t:
            problems.append(Problem("geocode.missing_address", row=i, field="address"))
        elif el["kind"] is None:
            problems.append(Problem("geocode.unparsed_address", {"address": t}, row=i,
                                    field="address"))
        has_point = np.isfinite(x) and np.isfinite(y)
        if has_point and not (-180 <= x <= 180 and -90 <= y <= 90):
            problems.append(Problem("geocode.bad_coordinates", {"lon": x, "lat": y}, row=i,
                                    field="lon"))
        if not has_point and not np.isfinite(b):
            problems.append(Problem("geocode.no_point", row=i, field="lon"))
        rows.append({**el, "text": t, "lon": x, "lat": y,
                     "building_id": int(b) if np.isfinite(b) else None, "line": None})
    out = pd.DataFrame(rows, columns=[c for c in ENTRY_COLUMNS if c != "entry_key"])
    out["entry_key"] = [entry_key(*r) for r in zip(
        out["kind"].fillna(""), out["road"], out["lane"], out["branch"], out["number"],
        out["place"], out["building_no"], strict=True)]
    dup = out["entry_key"].duplicated(keep="first") & out["kind"].notna()
    for j in np.flatnonzero(dup.to_numpy()).tolist():
        problems.append(Problem("geocode.duplicate_address", {"address": out["text"].iat[j]},
                                row=j + 1, field="address"))
    return out, problems


def _check_buildings(conn: Connection, entries: pd.DataFrame) -> list[Problem]:
    ids = sorted({int(b) for b in entries["building_id"].dropna()})
    if not ids:
        return []
    known = {r[0] for r in conn.execute(sa.text(
        "SELECT id FROM building WHERE id = ANY(:ids)"), {"ids": ids})}
    return [Problem("geocode.unknown_building", {"building_id": int(b)}, row=i + 1,
                    field="building_id")
            for i, b in enumerate(entries["building_id"].tolist())
            if b is not None and b == b and int(b) not in known]


def _arrays(entries: pd.DataFrame) -> dict[str, Any]:
    def ints(col: str) -> list[int | None]:
        return [None if v is None or v != v else int(v) for v in entries[col].tolist()]

    def texts(col: str) -> list[str | None]:
        return [v if isinstance(v, str) and v else None for v in entries[col].tolist()]

    lines = [shapely.to_wkb(shapely.multilinestrings([g]) if g.geom_type == "LineString" else g,
                            include_srid=False) if isinstance(g, shapely.Geometry) else None
             for g in entries["line"].tolist()]
    out: dict[str, Any] = {c: texts(c) for c in ("kind", "text", "entry_key", "district",
                                                  "street", "community", "road", "place")}
    out.update({c: ints(c) for c in _INT_COLS})
    out["lon"] = [None if v != v else float(v) for v in entries["lon"].tolist()]
    out["lat"] = [None if v != v else float(v) for v in entries["lat"].tolist()]
    out["line"] = lines
    return out


_NEW = """
WITH n AS (
  SELECT u.*, COALESCE(
           CASE WHEN u.lon IS NOT NULL THEN ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326) END,
           (SELECT ST_PointOnSurface(b.geom) FROM building b WHERE b.id = u.building_id)) AS pt,
         ST_SetSRID(ST_GeomFromWKB(u.line_wkb), 4326) AS ln
  FROM unnest(CAST(:kind AS text[]), CAST(:text AS text[]), CAST(:entry_key AS text[]),
              CAST(:district AS text[]), CAST(:street AS text[]), CAST(:community AS text[]),
              CAST(:road AS text[]), CAST(:lane AS int[]), CAST(:branch AS int[]),
              CAST(:number AS int[]), CAST(:place AS text[]), CAST(:building_no AS int[]),
              CAST(:building_id AS int[]), CAST(:lon AS float8[]), CAST(:lat AS float8[]),
              CAST(:line AS bytea[]))
       AS u(kind, text, entry_key, district, street, community, road, lane, branch, number,
            place, building_no, building_id, lon, lat, line_wkb))
"""
_RETIRE_CHANGED = "".join((_NEW, """
UPDATE address_entry e SET valid_to = :at FROM n
WHERE e.source = :source AND e.valid_to IS NULL AND e.entry_key = n.entry_key
  AND (NOT ST_DWithin(e.geom::geography, n.pt::geography, 0.5)
       OR e.building_id IS DISTINCT FROM n.building_id OR e.text IS DISTINCT FROM n.text)
"""))
_RETIRE_MISSING = "".join((_NEW, """
UPDATE address_entry e SET valid_to = :at
WHERE e.source = :source AND e.valid_to IS NULL
  AND NOT EXISTS (SELECT 1 FROM n WHERE n.entry_key = e.entry_key)
"""))
_INSERT = "".join((_NEW, """
INSERT INTO address_entry (kind, text, entry_key, district, street, community, road, lane,
    branch, number, place, building_no, building_id, geom, line, source, import_id,
    valid_from, created_by)
SELECT n.kind, n.text, n.entry_key, n.district, n.street, n.community, n.road, n.lane,
       n.branch, n.number, n.place, n.building_no, n.building_id, n.pt, n.ln, :source,
       :import_id, :at, :actor
FROM n
WHERE NOT EXISTS (SELECT 1 FROM address_entry e WHERE e.source = :source
                  AND e.valid_to IS NULL AND e.entry_key = n.entry_key)
"""))


def write_entries(conn: Connection, entries: pd.DataFrame, *, source: str,
                  actor: str | None = None, import_id: int | None = None,
                  retire_missing: bool = False, at: dt.datetime | None = None
                  ) -> dict[str, int]:
    """Versioned write of entries (one statement each: retire changed, retire missing, insert).

    Returns
    -------
    dict
        ``inserted``, ``retired``, ``unchanged``.

    Raises
    ------
    ValidationError
        Unknown building ids (every one listed); nothing is written.
    """
    problems = _check_buildings(conn, entries)
    if problems:
        raise ValidationError("geocode.register_invalid", problems, {"n": len(problems)})
    params = {**_arrays(entries), "source": source, "actor": actor, "import_id": import_id,
              "at": at or dt.datetime.now(dt.UTC)}
    with conn.begin_nested():
        retired = conn.execute(sa.text(_RETIRE_CHANGED), params).rowcount
        if retire_missing:
            retired += conn.execute(sa.text(_RETIRE_MISSING), params).rowcount
        inserted = conn.execute(sa.text(_INSERT), params).rowcount
    return {"inserted": inserted, "retired": retired,
            "unchanged": len(entries) - inserted}


def import_addresses(conn: Connection, frame: pd.DataFrame, *, source: str,
                     actor: str | None = None, dry_run: bool = False,
                     retire_missing: bool = False, source_file: str | None = None
                     ) -> dict[str, Any]:
    """``gridmap import addresses``: validate every row, then one versioned write.

    Raises
    ------
    ValidationError
        Listing every bad row (nothing written).
    """
    entries, problems = entries_from_addresses(frame)
    problems += _check_buildings(conn, entries)
    if problems:
        raise ValidationError("geocode.register_invalid", problems,
                              {"n": len({p.row for p in problems})})
    report: dict[str, Any] = {"rows": len(entries), "dry_run": dry_run, "source": source}
    with conn.begin_nested() as sp:
        import_id = conn.execute(sa.text(
            "INSERT INTO import_run (kind, source_file, actor) VALUES ('addresses', :f, :a) "
            "RETURNING id"), {"f": source_file, "a": actor}).scalar_one()
        report.update(write_entries(conn, entries, source=source, actor=actor,
                                    import_id=import_id, retire_missing=retire_missing))
        report["kinds"] = {str(k): int(v) for k, v in entries["kind"].value_counts().items()}
        if dry_run:
            sp.rollback()
        else:
            report["import_id"] = import_id
    return report


_LOAD = """
SELECT id, kind, text, district, street, community, road, lane, branch, number, place,
       building_no, building_id, ST_X(geom) AS lon, ST_Y(geom) AS lat,
       ST_AsBinary(line) AS line_wkb
FROM address_entry
WHERE valid_from <= :at AND (valid_to IS NULL OR valid_to > :at)
ORDER BY id
"""


def load_register(conn: Connection, at: dt.datetime | None = None) -> pd.DataFrame:
    """The register valid at ``at`` (default now) as a frame for :func:`build_index`."""
    at = at or dt.datetime.now(dt.UTC)
    frame = pd.DataFrame(conn.execute(sa.text(_LOAD), {"at": at}).mappings().all(),
                         columns=["id", "kind", "text", "district", "street", "community",
                                  "road", "lane", "branch", "number", "place", "building_no",
                                  "building_id", "lon", "lat", "line_wkb"])
    wkb = frame.pop("line_wkb").tolist()
    frame["line"] = [shapely.from_wkb(bytes(w)) if w is not None else None for w in wkb]
    return frame


_INDEX_CACHE: dict[tuple[Any, ...], RegisterIndex] = {}


def load_index(conn: Connection) -> RegisterIndex:
    """The index of the current register, rebuilt only when the register changed."""
    stamp = tuple(conn.execute(sa.text(
        "SELECT current_database(), count(*), max(id), max(valid_to), max(created_at) "
        "FROM address_entry")).one())
    found = _INDEX_CACHE.get(stamp)
    if found is None:
        found = build_index(load_register(conn))
        _INDEX_CACHE.clear()
        _INDEX_CACHE[stamp] = found
    return found


def add_entry(conn: Connection, address: str, lon: float, lat: float, *, actor: str,
              source: str = "confirmed") -> int:
    """Add one address to the register (a supervisor's choice, with who and when)."""
    entries, problems = entries_from_addresses(
        pd.DataFrame([{"address": address, "lon": lon, "lat": lat}]))
    if problems:
        raise ValidationError("geocode.register_invalid", problems, {"n": 1})
    write_entries(conn, entries, source=source, actor=actor)
    return int(conn.execute(sa.text(
        "SELECT id FROM address_entry WHERE source = :s AND entry_key = :k AND valid_to IS NULL"),
        {"s": source, "k": entries["entry_key"].iat[0]}).scalar_one())
