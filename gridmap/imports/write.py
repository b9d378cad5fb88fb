"""The transactional write of validated boundary rows.

The rows are COPYed into a temporary table, matched to stored rows (by code, or by
identical geometry for estates and buildings without a code), linked to their parents,
counted, then inserted and updated set-based; an ``import_run`` row records the report.
The caller (:func:`gridmap.imports.boundaries.import_boundaries`) runs these steps inside
one savepoint.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import crs as gcrs
from gridmap.db.engine import raw_psycopg
from gridmap.imports.columns import INT_FIELDS, texts
from gridmap.imports.geometry import ROW_COL, Progress, to_multipolygons
from gridmap.imports.levels import TABLES, IngestParams
from gridmap.imports.report import ImportReport

_COPY_COLUMNS = ("row_no", "code", "name", "parent_code", "households", "residents", "levels",
                 "population_source", "source_crs", "geom")


def start_run(conn: Connection, level: str, report: ImportReport, params: IngestParams) -> int:
    """Insert the ``import_run`` row of this import; returns its id."""
    return int(conn.execute(
        sa.text("INSERT INTO import_run (kind, source_file, actor) VALUES (:kind, :src, :actor)"
                " RETURNING id"),
        {"kind": f"boundaries:{level}", "src": report.source_file, "actor": params.actor},
    ).scalar_one())


def finish_run(conn: Connection, report: ImportReport) -> None:
    """Store the finished report in its ``import_run`` row."""
    conn.execute(
        sa.text("UPDATE import_run SET finished_at = now(), report = CAST(:report AS jsonb)"
                " WHERE id = :id"),
        {"id": report.import_id, "report": json.dumps(report.as_dict(), ensure_ascii=False)})


def load_rows(
    conn: Connection, clean: gpd.GeoDataFrame, level: str, progress: Progress
) -> None:
    """COPY the validated rows into ``pg_temp.ingest_rows`` (dropped at commit)."""
    conn.execute(sa.text("DROP TABLE IF EXISTS pg_temp.ingest_rows"))
    conn.execute(sa.text(
        """
        CREATE TEMP TABLE ingest_rows (
          row_no integer PRIMARY KEY, code text, name text, parent_code text,
          households integer, residents integer, levels integer, population_source text,
          source_crs text,
          geom geometry(MultiPolygon, 4326) NOT NULL,
          match_id integer, same boolean NOT NULL DEFAULT false,
          parent_id integer, community_id integer
        ) ON COMMIT DROP
        """))
    total = len(clean)
    progress("load", 0, total)
    geoms = shapely.set_srid(to_multipolygons(np.asarray(clean.geometry.values, dtype=object)),
                             gcrs.STORAGE_EPSG)
    wkb = shapely.to_wkb(geoms, hex=True, include_srid=True)
    frame = pd.DataFrame({
        "row_no": clean[ROW_COL].to_numpy(dtype=np.int64),
        "code": texts(clean["code"]),
        "name": texts(clean["name"]),
        "parent_code": texts(clean["parent_code"]),
        "source_crs": texts(clean["source_crs"]),
        "geom": wkb,
    })
    for col in INT_FIELDS:
        frame[col] = (clean[col].astype("Int64") if col in clean.columns
                      else pd.array([pd.NA] * total, dtype="Int64"))
    frame["population_source"] = (texts(clean["population_source"])
                                  if "population_source" in clean.columns else None)
    frame = frame[list(_COPY_COLUMNS)]
    # CSV COPY: text values are never empty (blanks were normalised to NULL), so an
    # unquoted empty field is NULL; pandas writes the text in C, chunk by chunk.
    cursor = raw_psycopg(conn).cursor()
    chunk = 20_000
    with cursor.copy(f"COPY pg_temp.ingest_rows ({', '.join(_COPY_COLUMNS)})"
                     " FROM STDIN (FORMAT csv)") as cp:
        for start in range(0, total, chunk):
            part = frame.iloc[start:start + chunk]
            cp.write(part.to_csv(header=False, index=False, na_rep="", lineterminator="\n"))
            progress("load", min(start + chunk, total), total)
    progress("load", total, total)
    conn.execute(sa.text("ANALYZE pg_temp.ingest_rows"))


# Per level: how a temp row finds its stored row, its parent and its community.
_MATCH = """
UPDATE pg_temp.ingest_rows t SET match_id = m.id FROM (
  SELECT t2.row_no, e.id FROM pg_temp.ingest_rows t2 JOIN {table} e ON e.code = t2.code
  UNION ALL
  SELECT t2.row_no, (SELECT e.id FROM {table} e
                     WHERE e.code IS NULL AND e.geom && t2.geom AND ST_Equals(e.geom, t2.geom)
                     ORDER BY e.id LIMIT 1)
  FROM pg_temp.ingest_rows t2 WHERE t2.code IS NULL
) m WHERE m.row_no = t.row_no
"""
_LINK = {
    "district": None,
    "street": "UPDATE pg_temp.ingest_rows t SET parent_id = d.id FROM district d"
              " WHERE d.code = left(t.code, 6)",
    "community": "UPDATE pg_temp.ingest_rows t SET parent_id = s.id FROM street s"
                 " WHERE s.code = left(t.code, 9)",
    "estate": """
        UPDATE pg_temp.ingest_rows t SET parent_id = (
          SELECT c.id FROM community c WHERE c.geom && t.geom AND ST_Intersects(c.geom, t.geom)
          ORDER BY ST_Area(ST_Intersection(c.geom, t.geom)) DESC, c.id LIMIT 1)
        """,
    "building": """
        UPDATE pg_temp.ingest_rows t SET
          parent_id = (SELECT e.id FROM estate e WHERE ST_Contains(e.geom, p.pt)
                       ORDER BY ST_Area(e.geom), e.id LIMIT 1),
          community_id = (SELECT c.id FROM community c WHERE ST_Contains(c.geom, p.pt)
                          ORDER BY c.id LIMIT 1)
        FROM (SELECT row_no, ST_PointOnSurface(geom) AS pt FROM pg_temp.ingest_rows) p
        WHERE p.row_no = t.row_no
        """,
}
_SAME = {
    "building": """
        UPDATE pg_temp.ingest_rows t SET same = (
          e.name IS NOT DISTINCT FROM t.name AND ST_Equals(e.geom, t.geom)
          AND e.households = coalesce(t.households, 0) AND e.residents = coalesce(t.residents, 0)
          AND e.levels IS NOT DISTINCT FROM t.levels
          AND e.population_source = coalesce(t.population_source, CASE WHEN t.households IS NOT NULL
            OR t.residents IS NOT NULL THEN 'imported' ELSE 'none' END))
        FROM building e WHERE e.id = t.match_id
        """,
}
_SAME_DEFAULT = """
UPDATE pg_temp.ingest_rows t SET same = (e.name IS NOT DISTINCT FROM t.name
  AND ST_Equals(e.geom, t.geom))
FROM {table} e WHERE e.id = t.match_id
"""


def match_and_link(conn: Connection, level: str, progress: Progress) -> None:
    """Find each loaded row's stored row, its parent (and community) and whether it changed."""
    table = TABLES[level]
    progress("link", 0, None)
    conn.execute(sa.text(_MATCH.format(table=table)))
    link = _LINK[level]
    if link:
        conn.execute(sa.text(link))
    conn.execute(sa.text(_SAME.get(level, _SAME_DEFAULT).format(table=table)))


def count_changes(
    conn: Connection, level: str, report: ImportReport, params: IngestParams
) -> None:
    """Count rows to insert, update, leave and skip, and rows without a parent."""
    row = conn.execute(sa.text(
        """
        SELECT count(*) FILTER (WHERE match_id IS NULL),
               count(*) FILTER (WHERE match_id IS NOT NULL AND same),
               count(*) FILTER (WHERE match_id IS NOT NULL AND NOT same),
               count(*) FILTER (WHERE CASE WHEN :level = 'building' THEN community_id
                                           ELSE parent_id END IS NULL)
        FROM pg_temp.ingest_rows
        """), {"level": level}).one()
    report.inserted, report.unchanged = int(row[0]), int(row[1])
    if params.on_existing == "skip":
        report.skipped, report.updated = int(row[2]), 0
    else:
        report.updated = int(row[2])
    report.unlinked = int(row[3]) if level in ("estate", "building") else 0


_POP_SOURCE = ("coalesce(t.population_source, CASE WHEN t.households IS NOT NULL"
               " OR t.residents IS NOT NULL THEN 'imported' ELSE 'none' END)")
_WRITE = {
    "district": ("", "", ""),
    "street": (", district_id", ", t.parent_id", ", district_id = t.parent_id"),
    "community": (", street_id", ", t.parent_id", ", street_id = t.parent_id"),
    "estate": (", community_id, derived_from", ", t.parent_id, 'import'",
               ", community_id = t.parent_id"),
    "building": (
        ", estate_id, community_id, levels, households, residents, population_source,"
        " residential, footprint_m2",
        ", t.parent_id, t.community_id, t.levels, coalesce(t.households, 0),"
        " coalesce(t.residents, 0), " + _POP_SOURCE + ", coalesce(t.households, 0) > 0"
        " OR coalesce(t.residents, 0) > 0, ST_Area(t.geom::geography)",
        ", estate_id = t.parent_id, community_id = t.community_id, levels = t.levels,"
        " households = coalesce(t.households, 0), residents = coalesce(t.residents, 0),"
        " population_source = " + _POP_SOURCE + ", residential = coalesce(t.households, 0) > 0"
        " OR coalesce(t.residents, 0) > 0, footprint_m2 = ST_Area(t.geom::geography)"),
}


def write_rows(
    conn: Connection, level: str, report: ImportReport, params: IngestParams,
    progress: Progress,
) -> None:
    """Insert the new rows and update the changed ones (unless ``on_existing='skip'``)."""
    table = TABLES[level]
    extra_cols, extra_vals, extra_set = _WRITE[level]
    bind = {"synthetic": params.synthetic, "import_id": report.import_id,
            "source": params.source or (Path(report.source_file).name if report.source_file
                                        else None)}
    progress("write", 0, report.inserted + report.updated)
    if params.on_existing == "update" and report.updated:
        conn.execute(sa.text(
            f"UPDATE {table} e SET name = t.name, geom = t.geom, source = :source,"  # noqa: S608
            f" source_crs = t.source_crs, synthetic = :synthetic, import_id = :import_id"
            f"{extra_set} FROM pg_temp.ingest_rows t WHERE e.id = t.match_id AND NOT t.same"),
            bind)
    if report.inserted:
        conn.execute(sa.text(
            f"INSERT INTO {table} (code, name, geom, source, source_crs, synthetic,"  # noqa: S608
            f" import_id{extra_cols}) SELECT t.code, t.name, t.geom, :source, t.source_crs,"
            f" :synthetic, :import_id{extra_vals} FROM pg_temp.ingest_rows t"
            " WHERE t.match_id IS NULL ORDER BY t.row_no"), bind)
    progress("write", report.inserted + report.updated, report.inserted + report.updated)
