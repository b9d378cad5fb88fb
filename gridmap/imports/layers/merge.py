"""Merging survey rows into ``building``, ``estate`` and ``osm_line``.

The rows of a file go into a temporary table (one ``INSERT … FROM unnest``); then each
step is one statement:

- ``key``: rows whose key matches a stored row (``code``/``ext_key`` or ``osm_id``) update it
  in place — ids kept, so grids, incidents and addresses keep pointing at it; the others
  are inserted.
- ``replace``: stored rows within the file's extent (convex hull of its geometries) are
  replaced. A stored building or estate overlapping a new one by ``successor_iou`` or more
  takes over its geometry and attributes (id kept); the other stored rows there are deleted,
  unless a grid holds them (then the import is refused, database unchanged).

Official figures of a building file (households, residents) are stored as
``population_source='imported'`` with the file as ``population_ref``; buildings without
figures keep or get an estimate.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import Problem, ValidationError
from gridmap.imports.layers.report import LayerImportParams, LayerReport

TABLE = {"buildings": "building", "estates": "estate", "streets": "osm_line"}
_COLS = {
    "buildings": ("key text, name text, btype text, residential boolean, levels int, "
                  "height float8, footprint float8, households int, residents int, "
                  "official boolean"),
    "estates": "key text, name text",
    "streets": "key text, name text, highway text, tags jsonb",
}
_TYPES = {"text": "text", "boolean": "boolean", "int": "int", "float8": "float8",
          "jsonb": "jsonb"}


def load_rows(conn: Connection, kind: str, values: dict[str, list[Any]]) -> None:
    """Put the rows into ``gm_layer_in`` (``row_no``, the kind's columns, ``geom``)."""
    cols = [c.strip().split(" ") for c in _COLS[kind].split(",")]
    conn.execute(sa.text("DROP TABLE IF EXISTS gm_layer_in"))
    conn.execute(sa.text(
        f"CREATE TEMP TABLE gm_layer_in (row_no int, {_COLS[kind]}, geom geometry) "  # noqa: S608
        "ON COMMIT DROP"))
    arrays = ", ".join(f"CAST(:{n} AS {_TYPES[t]}[])" for n, t in cols)
    names = ", ".join(n for n, _ in cols)
    conn.execute(sa.text(
        f"INSERT INTO gm_layer_in (row_no, {names}, geom) "  # noqa: S608 - fixed columns
        f"SELECT r.row_no, {names}, ST_GeomFromEWKB(r.wkb) FROM unnest(CAST(:row_no AS int[]), "
        f"{arrays}, CAST(:wkb AS bytea[])) AS r(row_no, {names}, wkb)"), values)
    conn.execute(sa.text("CREATE INDEX ON gm_layer_in USING gist (geom)"))
    conn.execute(sa.text("ANALYZE gm_layer_in"))


def _key_expr(kind: str, match: str) -> str:
    if match == "osm_id":
        return "t.osm_id"
    return "t.ext_key" if kind == "streets" else "t.code"


_SET = {
    "buildings": (
        "name = coalesce(n.name, t.name), building_type = coalesce(n.btype, t.building_type), "
        "residential = coalesce(n.residential, t.residential), "
        "levels = coalesce(n.levels, t.levels), height_m = coalesce(n.height, t.height_m), "
        "footprint_m2 = n.footprint, geom = ST_Multi(n.geom), source_crs = :source_crs, "
        "households = CASE WHEN n.official OR t.population_source <> 'imported' "
        "THEN n.households ELSE t.households END, "
        "residents = CASE WHEN n.official OR t.population_source <> 'imported' "
        "THEN n.residents ELSE t.residents END, "
        "population_source = CASE WHEN n.official THEN 'imported' "
        "WHEN t.population_source = 'imported' THEN 'imported' "
        "WHEN coalesce(n.residential, t.residential) THEN 'estimated' ELSE 'none' END, "
        "population_ref = CASE WHEN n.official THEN :source ELSE t.population_ref END, "
        "population_date = CASE WHEN n.official THEN CAST(:pop_date AS date) "
        "ELSE t.population_date END, "
        "population_level = CASE WHEN n.official THEN 'building' ELSE t.population_level END, "
        "estate_id = NULL, community_id = NULL, import_id = :import_id"),
    "estates": ("name = coalesce(n.name, t.name), name_source = CASE WHEN n.name IS NULL "
                "THEN t.name_source ELSE 'import' END, geom = ST_Multi(n.geom), "
                "source_crs = :source_crs, community_id = NULL, import_id = :import_id"),
    "streets": ("name = coalesce(n.name, t.name), highway = n.highway, "
                "tags = t.tags || n.tags, geom = n.geom, import_id = :import_id"),
}
_DIFFERS = {
    "buildings": ("t.name IS DISTINCT FROM coalesce(n.name, t.name) "
                  "OR t.levels IS DISTINCT FROM coalesce(n.levels, t.levels) "
                  "OR t.building_type IS DISTINCT FROM coalesce(n.btype, t.building_type) "
                  "OR (n.official AND (t.households IS DISTINCT FROM n.households "
                  "OR t.residents IS DISTINCT FROM n.residents "
                  "OR t.population_source <> 'imported' "
                  "OR t.population_ref IS DISTINCT FROM :source)) "
                  "OR NOT ST_Equals(t.geom, ST_Multi(n.geom))"),
    "estates": ("t.name IS DISTINCT FROM coalesce(n.name, t.name) "
                "OR NOT ST_Equals(t.geom, ST_Multi(n.geom))"),
    "streets": ("t.name IS DISTINCT FROM coalesce(n.name, t.name) "
                "OR t.highway IS DISTINCT FROM n.highway OR NOT ST_Equals(t.geom, n.geom)"),
}
_INSERT = {
    "buildings": (
        "INSERT INTO building (code, osm_id, name, building_type, residential, levels, "
        "height_m, footprint_m2, households, residents, population_source, population_ref, "
        "population_date, population_level, source, source_crs, import_id, geom) "
        "SELECT {code}, {osm}, n.name, n.btype, coalesce(n.residential, false), n.levels, "
        "n.height, n.footprint, n.households, n.residents, CASE WHEN n.official THEN "
        "'imported' WHEN n.residential THEN 'estimated' ELSE 'none' END, CASE WHEN n.official "
        "THEN :source END, CASE WHEN n.official THEN CAST(:pop_date AS date) END, "
        "CASE WHEN n.official THEN 'building' END, :source, :source_crs, :import_id, "
        "ST_Multi(n.geom) FROM gm_layer_in n WHERE {new} ORDER BY n.row_no RETURNING id"),
    "estates": (
        "INSERT INTO estate (code, osm_id, name, name_source, derived_from, source, "
        "source_crs, import_id, geom) SELECT {code}, {osm}, coalesce(n.name, "
        "'小区 ' || coalesce(n.key, n.row_no::text)), CASE WHEN n.name IS NOT NULL "
        "THEN 'import' END, 'import', :source, :source_crs, :import_id, ST_Multi(n.geom) "
        "FROM gm_layer_in n WHERE {new} ORDER BY n.row_no RETURNING id"),
    "streets": (
        "INSERT INTO osm_line (ext_key, osm_id, highway, name, tags, source, import_id, geom) "
        "SELECT {code}, {osm}, n.highway, n.name, n.tags, :source, :import_id, n.geom "
        "FROM gm_layer_in n WHERE {new} ORDER BY n.row_no RETURNING id"),
}


def _osm_key(match: str) -> tuple[str, str]:
    """The (code, osm_id) values an inserted row takes from its key."""
    return ("NULL", "n.key") if match == "osm_id" else ("n.key", "NULL")


def merge_by_key(conn: Connection, kind: str, params: LayerImportParams,
                 binds: dict[str, Any], report: LayerReport) -> list[int]:
    """``key`` mode: update matching stored rows in place, insert the others; returns the
    ids written."""
    table, key = TABLE[kind], _key_expr(kind, params.match)
    matched = int(conn.execute(sa.text(
        f"SELECT count(*) FROM {table} t JOIN gm_layer_in n ON {key} = n.key"),  # noqa: S608
        binds).scalar_one())
    updated = [int(i) for i in conn.execute(sa.text(
        f"UPDATE {table} t SET {_SET[kind]} FROM gm_layer_in n "  # noqa: S608
        f"WHERE {key} = n.key AND ({_DIFFERS[kind]}) RETURNING t.id"), binds).scalars()]
    code, osm = _osm_key(params.match)
    new = f"NOT EXISTS (SELECT 1 FROM {table} t WHERE {key} = n.key)"  # noqa: S608
    inserted = [int(i) for i in conn.execute(sa.text(
        _INSERT[kind].format(code=code, osm=osm, new=new)), binds).scalars()]
    report.updated, report.unchanged = len(updated), matched - len(updated)
    report.inserted = len(inserted)
    return updated + inserted


_EXTENT = "(SELECT ST_Buffer(ST_ConvexHull(ST_Collect(geom)), 0.00001) FROM gm_layer_in)"
_IN_EXTENT = {
    "buildings": f"ST_Within(ST_PointOnSurface(t.geom), {_EXTENT})",
    "estates": f"ST_Within(ST_PointOnSurface(t.geom), {_EXTENT})",
    "streets": f"ST_Within(ST_LineInterpolatePoint(t.geom, 0.5), {_EXTENT})",
}
_UNIT = {"buildings": "building", "estates": "estate"}


def merge_replace(conn: Connection, kind: str, params: LayerImportParams,
                  binds: dict[str, Any], report: LayerReport) -> list[int]:
    """``replace`` mode: stored rows within the file's extent are replaced; returns the ids
    written. Refuses (nothing written) when a grid holds a row that would be deleted or a
    code of the file is held by a stored row that stays."""
    table = TABLE[kind]
    conn.execute(sa.text("DROP TABLE IF EXISTS gm_layer_old"))
    conn.execute(sa.text(f"CREATE TEMP TABLE gm_layer_old ON COMMIT DROP AS "  # noqa: S608
                         f"SELECT t.id FROM {table} t WHERE {_IN_EXTENT[kind]}"))
    pairs = _successors(conn, table, binds, params.successor_iou) if kind in _UNIT else []
    keep = [p[0] for p in pairs]
    b2 = {**binds, "ids": keep, "rows": [p[1] for p in pairs]}
    if kind in _UNIT:
        _refuse(conn, kind, keep, b2, params, report)
    report.removed = int(conn.execute(sa.text(
        f"DELETE FROM {table} t USING gm_layer_old o WHERE t.id = o.id "  # noqa: S608
        "AND t.id <> ALL(:keep)"), {"keep": keep}).rowcount or 0)
    assign = _SET[kind] + (", code = coalesce(n.key, t.code)"
                           if kind in _UNIT and params.match == "code" else "")
    updated = [int(i) for i in conn.execute(sa.text(
        f"UPDATE {table} t SET {assign} FROM gm_layer_in n, "  # noqa: S608
        "unnest(CAST(:ids AS int[]), CAST(:rows AS int[])) AS s(id, row_no) "
        "WHERE t.id = s.id AND n.row_no = s.row_no RETURNING t.id"), b2).scalars()]
    code, osm = _osm_key(params.match)
    new = "n.row_no <> ALL(CAST(:rows AS int[]))"
    inserted = [int(i) for i in conn.execute(sa.text(
        _INSERT[kind].format(code=code, osm=osm, new=new)), b2).scalars()]
    report.updated, report.inserted = len(updated), len(inserted)
    return updated + inserted


def _successors(conn: Connection, table: str, binds: dict[str, Any], iou: float
                ) -> list[tuple[int, int]]:
    """(stored id, file row) pairs: the stored row in the extent overlapping a new one most,
    by at least ``iou`` (intersection over union), each used once."""
    return [(int(a), int(b)) for a, b in conn.execute(sa.text(
        f"""
        WITH ov AS (
            SELECT t.id, n.row_no, ST_Area(ST_Intersection(t.geom, n.geom))
                   / NULLIF(ST_Area(ST_Union(t.geom, n.geom)), 0) AS iou
            FROM {table} t JOIN gm_layer_old o ON o.id = t.id
            JOIN gm_layer_in n ON t.geom && n.geom AND ST_Intersects(t.geom, n.geom)),
        best AS (SELECT DISTINCT ON (id) id, row_no, iou FROM ov WHERE iou >= :iou
                 ORDER BY id, iou DESC, row_no)
        SELECT DISTINCT ON (row_no) id, row_no FROM best ORDER BY row_no, iou DESC, id
        """), {**binds, "iou": iou}).all()]  # noqa: S608


def _refuse(conn: Connection, kind: str, keep: list[int], binds: dict[str, Any],
            params: LayerImportParams, report: LayerReport) -> None:
    """Every reason the replacement cannot be done (grids holding deleted rows; codes held
    by stored rows that stay), as one ValidationError."""
    table = TABLE[kind]
    problems: list[Problem] = []
    held = conn.execute(sa.text(
        "SELECT o.id FROM gm_layer_old o WHERE o.id <> ALL(:keep) AND EXISTS (SELECT 1 "
        "FROM grid_member m WHERE m.unit_type = :unit AND m.unit_id = o.id) ORDER BY o.id"),
        {"keep": keep, "unit": _UNIT[kind]}).scalars().all()
    if held:
        problems.append(Problem("layers.replace_held_by_grid", {
            "count": len(held), "ids": list(held[:20]), "table": table}))
    if params.match == "code":
        clash = conn.execute(sa.text(
            f"""
            SELECT n.row_no, n.key, t.id FROM gm_layer_in n JOIN {table} t ON t.code = n.key
            LEFT JOIN unnest(CAST(:ids AS int[]), CAST(:rows AS int[])) AS s(id, row_no)
                   ON s.row_no = n.row_no
            WHERE (t.id NOT IN (SELECT id FROM gm_layer_old) OR t.id = ANY(:ids))
              AND t.id IS DISTINCT FROM s.id ORDER BY n.row_no
            """), binds).all()  # noqa: S608
        problems.extend(Problem("layers.key_held_elsewhere", {"key": k, "id": int(i)},
                                row=int(r), field="key") for r, k, i in clash)
    if problems:
        raise ValidationError("layers.cannot_import", problems, {"name": report.source})
