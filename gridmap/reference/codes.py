"""Administrative division codes and grid codes (reference/grids.md §6).

- 12-digit NBS statistical division code = 6 county + 3 street + 3 committee [standard].
- Grid code = 12-digit community code + zero-padded sequence; the width is configurable
  (3 → 15 digits, Beijing DB11/T 2157-2023 [local]; 2 → 14 digits, CJ/T 213 [unverified]).
- New grids are numbered in reading order, west→east in bands from north to south
  [local]/[unverified reading], using each grid's representative point.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.config import DATA_GEO
from gridmap.errors import Problem, ValidationError

CODE_LENGTH = {"district": 6, "street": 9, "community": 12}
ADMIN_CODES_DIR = DATA_GEO / "admin-codes"


def split_community_code(code: str) -> tuple[str, str, str]:
    """Split a 12-digit community code into (county 6, street 3, committee 3).

    Raises
    ------
    ValidationError
        If ``code`` is not 12 digits.
    """
    if len(code) != 12 or not code.isdigit():
        raise ValidationError("reference.bad_community_code", params={"code": code})
    return code[:6], code[6:9], code[9:]


def grid_code(community_code: str, seq: int, width: int = 3) -> str:
    """Build a grid code from the 12-digit community code and a sequence number.

    >>> grid_code("310107005001", 3)
    '310107005001003'
    >>> grid_code("310107005001", 3, width=2)
    '31010700500103'
    """
    split_community_code(community_code)
    if width < 1:
        raise ValidationError("reference.grid_seq_width")
    if seq < 1 or seq >= 10**width:
        raise ValidationError("reference.grid_seq_too_large", params={
            "seq": seq, "width": width, "community": community_code})
    return f"{community_code}{seq:0{width}d}"


def reading_order(points: Sequence[tuple[float, float]], band_height: float) -> list[int]:
    """Indices of ``points`` (x, y in a metric CRS) in reading order.

    Bands of ``band_height`` metres from north to south; west to east within a band.
    """
    if not points:
        return []
    top = max(p[1] for p in points)
    keyed = [
        (int((top - y) // band_height) if band_height > 0 else 0, x, -y, i)
        for i, (x, y) in enumerate(points)
    ]
    return [k[3] for k in sorted(keyed)]


def read_admin_csvs(directory: Path = ADMIN_CODES_DIR) -> list[dict[str, str]]:
    """Read the NBS code tables (districts, streets, committees) shipped in ``data/geo``.

    Any ``*_districts.csv``, ``*_streets.csv`` and ``*_committees.csv`` files are read, so
    other provinces' tables can be dropped in beside the Shanghai ones.
    """
    rows: list[dict[str, str]] = []
    specs = (("districts", "district", None), ("streets", "street", "areaCode"),
             ("committees", "community", "streetCode"))
    for suffix, level, parent_col in specs:
        for path in sorted(directory.glob(f"*_{suffix}.csv")):
            with open(path, encoding="utf-8-sig") as fh:
                for rec in csv.DictReader(fh):
                    rows.append({
                        "code": rec["code"].strip(),
                        "level": level,
                        "name": rec["name"].strip(),
                        "parent_code": (rec.get(parent_col) or "").strip() if parent_col else "",
                        "source": path.name,
                    })
    return rows


def load_admin_codes(conn: Connection, directory: Path = ADMIN_CODES_DIR) -> int:
    """Load (upsert) the division code catalogue; returns the number of codes.

    Idempotent: re-running updates names and inserts nothing twice.
    """
    rows = read_admin_csvs(directory)
    problems = [
        Problem("reference.admin_code_length",
                {"code": r["code"], "length": CODE_LENGTH[r["level"]]}, row=i + 1, field="code")
        for i, r in enumerate(rows)
        if len(r["code"]) != CODE_LENGTH[r["level"]] or not r["code"].isdigit()
    ]
    if problems:
        raise ValidationError("reference.admin_codes_malformed", problems)
    with conn.begin_nested():
        conn.execute(
            sa.text(
                """
                INSERT INTO admin_division (code, level, name, parent_code, source)
                VALUES (:code, :level, :name, NULLIF(:parent_code, ''), :source)
                ON CONFLICT (code) DO UPDATE
                SET name = EXCLUDED.name, level = EXCLUDED.level,
                    parent_code = EXCLUDED.parent_code, source = EXCLUDED.source
                """
            ),
            rows,
        )
    return len(rows)


def unknown_codes(conn: Connection, level: str, codes: Sequence[str]) -> set[str]:
    """Codes of ``level`` that are not in the admin_division catalogue."""
    if not codes:
        return set()
    known = conn.execute(
        sa.text("SELECT code FROM admin_division WHERE level = :level AND code = ANY(:codes)"),
        {"level": level, "codes": list(codes)},
    ).scalars()
    return set(codes) - set(known)
