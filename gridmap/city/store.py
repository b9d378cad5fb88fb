"""Writing the synthetic city: divisions, blocks, estates, buildings, roads, facilities.

Bulk rows go through binary ``COPY`` (:mod:`gridmap.db.bulkcopy`) into temporary tables and
one set-based ``INSERT … SELECT`` per target table (division geometries are ``ST_Union`` of
their blocks, grouped in SQL). Nothing is written row by row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.city import layout
from gridmap.city.params import SYNTHETIC_MARK, CityParams
from gridmap.db.bulkcopy import Field, copy_frame
from gridmap.errors import Conflict, ValidationError
from gridmap.reference import codes


@dataclass
class Divisions:
    """The real codes and names taken for the city, children in parent order."""

    district_code: list[str]
    district_name: list[str]
    street_code: list[str]
    street_name: list[str]
    street_district: npt.NDArray[np.int64]
    community_code: list[str]
    community_name: list[str]
    community_street: npt.NDArray[np.int64]


def choose_divisions(p: CityParams) -> Divisions:
    """Districts, streets and committees from the shipped NBS tables, capped by ``p``.

    Streets without committees (some towns list none) are left out.
    """
    rows = codes.read_admin_csvs()
    by_level: dict[str, list[dict[str, str]]] = {"district": [], "street": [], "community": []}
    for r in sorted(rows, key=lambda r: r["code"]):
        by_level[r["level"]].append(r)
    children: dict[str, list[dict[str, str]]] = {}
    for r in by_level["street"] + by_level["community"]:
        children.setdefault(r["parent_code"], []).append(r)
    dists = [d for d in by_level["district"] if not p.districts or d["code"] in p.districts]
    if not dists:
        raise ValidationError("city.no_districts", params={"codes": ", ".join(p.districts)})
    out = Divisions([], [], [], [], np.empty(0, np.int64), [], [], np.empty(0, np.int64))
    sd: list[int] = []
    cs: list[int] = []
    for d in dists:
        streets = [s for s in children.get(d["code"], []) if children.get(s["code"])]
        out.district_code.append(d["code"])
        out.district_name.append(d["name"] + SYNTHETIC_MARK)
        for s in streets[:p.streets_per_district]:
            out.street_code.append(s["code"])
            out.street_name.append(s["name"] + SYNTHETIC_MARK)
            sd.append(len(out.district_code) - 1)
            for c in children[s["code"]][:p.communities_per_street]:
                out.community_code.append(c["code"])
                out.community_name.append(c["name"] + SYNTHETIC_MARK)
                cs.append(len(out.street_code) - 1)
    out.street_district = np.array(sd, dtype=np.int64)
    out.community_street = np.array(cs, dtype=np.int64)
    return out


def check_free(conn: Connection, div: Divisions) -> None:
    """Raise :class:`Conflict` when a community code of the city is already stored."""
    taken = conn.execute(sa.text("SELECT count(*) FROM community WHERE code = ANY(:c)"),
                         {"c": div.community_code}).scalar_one()
    if taken:
        raise Conflict("city.codes_taken", {"count": int(taken)})


def ewkb(geoms: npt.NDArray[np.object_], srid: int = 4326) -> Field:
    """Geometries as an encoded binary-COPY column (EWKB with SRID)."""
    raw = shapely.to_wkb(shapely.set_srid(geoms, srid), include_srid=True)
    lens = np.fromiter((len(b) for b in raw), dtype=np.int64, count=len(raw))
    return lens, np.frombuffer(b"".join(raw.tolist()) or b"\x00", dtype=np.uint8)[:int(lens.sum())]


_DIVISIONS_SQL = (
    # districts, streets, communities: their blocks' union, parents looked up by code
    """
    INSERT INTO district (code, name, synthetic, source, geom)
    SELECT d.code, d.name, true, :src, ST_Multi(ST_Union(b.geom))
    FROM _city_block b JOIN unnest(CAST(:dc AS text[]), CAST(:dn AS text[]))
         WITH ORDINALITY AS d(code, name, i) ON d.i = b.district_i + 1
    GROUP BY d.code, d.name
    """,
    """
    INSERT INTO street (code, district_id, name, synthetic, source, geom)
    SELECT s.code, di.id, s.name, true, :src, ST_Multi(ST_Union(b.geom))
    FROM _city_block b JOIN unnest(CAST(:sc AS text[]), CAST(:sn AS text[]))
         WITH ORDINALITY AS s(code, name, i) ON s.i = b.street_i + 1
    JOIN district di ON di.code = b.district_code
    GROUP BY s.code, s.name, di.id
    """,
    """
    INSERT INTO community (code, street_id, name, synthetic, source, geom)
    SELECT c.code, st.id, c.name, true, :src, ST_Multi(ST_Union(b.geom))
    FROM _city_block b JOIN unnest(CAST(:cc AS text[]), CAST(:cn AS text[]))
         WITH ORDINALITY AS c(code, name, i) ON c.i = b.community_i + 1
    JOIN street st ON st.code = b.street_code
    GROUP BY c.code, c.name, st.id
    """,
    """
    INSERT INTO street_block (community_id, area_m2, source, geom)
    SELECT cm.id, :blk_area, :src, ST_Multi(b.block_geom)
    FROM _city_block b JOIN community cm ON cm.code = b.community_code ORDER BY b.block
    """,
    """
    INSERT INTO estate (code, community_id, derived_from, name, synthetic, source, geom)
    SELECT b.community_code || '-E' || lpad(b.seq::text, 3, '0'), cm.id, 'synthetic',
           '第' || b.seq || '小区' || :mark, true, :src, ST_Multi(b.estate_geom)
    FROM _city_block b JOIN community cm ON cm.code = b.community_code ORDER BY b.block
    """,
)


def write_blocks(conn: Connection, plan: layout.Plan, div: Divisions, p: CityParams,
                 source: str) -> None:
    """Districts, streets, communities, street blocks and estates (one per block)."""
    bx, by = plan.block_x, plan.block_y
    ci = plan.block_community
    si = div.community_street[ci]
    di = div.street_district[si]
    seq = np.arange(len(ci)) - np.searchsorted(ci, ci) + 1
    frame = pd.DataFrame({
        "block": np.arange(len(ci)), "community_i": ci, "street_i": si, "district_i": di,
        "community_code": np.asarray(div.community_code, dtype=object)[ci],
        "street_code": np.asarray(div.street_code, dtype=object)[si],
        "district_code": np.asarray(div.district_code, dtype=object)[di], "seq": seq})
    conn.execute(sa.text(
        "CREATE TEMP TABLE _city_block (block int, community_i int, street_i int, "
        "district_i int, community_code text, street_code text, district_code text, seq int, "
        "geom geometry, block_geom geometry, estate_geom geometry) ON COMMIT DROP"))
    cols = list(frame.columns) + ["geom", "block_geom", "estate_geom"]
    kinds = {"block": "int4", "community_i": "int4", "street_i": "int4", "district_i": "int4",
             "seq": "int4"}
    enc = {"geom": ewkb(layout.boxes_ll(layout.cell_boxes(bx, by, p), p)),
           "block_geom": ewkb(layout.boxes_ll(layout.cell_boxes(bx, by, p, p.road_m / 2), p)),
           "estate_geom": ewkb(layout.boxes_ll(
               layout.cell_boxes(bx, by, p, p.road_m / 2 + 4.0), p))}
    copy_frame(conn, "_city_block", cols, frame, kinds, enc)
    args = {"src": source, "dc": div.district_code, "dn": div.district_name,
            "sc": div.street_code, "sn": div.street_name, "cc": div.community_code,
            "cn": div.community_name, "mark": SYNTHETIC_MARK,
            "blk_area": float((p.block_m - p.road_m) ** 2)}
    for stmt in _DIVISIONS_SQL:
        conn.execute(sa.text(stmt), args)


def write_buildings(conn: Connection, plan: layout.Plan, p: CityParams,
                    rng: np.random.Generator, source: str) -> int:
    """Buildings with households (2–4 flats a floor) and residents (2.5 a household)."""
    n = len(plan.building_block)
    per_floor = rng.integers(2, 5, n)
    hh = plan.building_levels * per_floor
    residents = np.rint(hh * rng.uniform(2.2, 2.8, n)).astype(np.int64)
    seq = np.arange(n) - np.searchsorted(plan.building_block, plan.building_block) + 1
    frame = pd.DataFrame({"block": plan.building_block, "seq": seq,
                          "levels": plan.building_levels, "households": hh,
                          "residents": residents})
    conn.execute(sa.text(
        "CREATE TEMP TABLE _city_building (block int, seq int, levels int, households int, "
        "residents int, geom geometry) ON COMMIT DROP"))
    copy_frame(conn, "_city_building", [*frame.columns, "geom"], frame,
               dict.fromkeys(frame.columns, "int4"),
               {"geom": ewkb(layout.boxes_ll(plan.building_box, p))})
    conn.execute(sa.text(
        """
        INSERT INTO building (code, name, estate_id, community_id, building_type, residential,
                              levels, height_m, footprint_m2, households, residents,
                              population_source, synthetic, source, geom)
        SELECT e.code || '-' || lpad(bd.seq::text, 3, '0'), bd.seq || '号楼', e.id,
               e.community_id, 'residential', true, bd.levels, bd.levels * 2.9,
               ST_Area(bd.geom::geography), bd.households, bd.residents, 'estimated', true,
               :src, ST_Multi(bd.geom)
        FROM _city_building bd JOIN _city_block b ON b.block = bd.block
        JOIN estate e ON e.code = b.community_code || '-E' || lpad(b.seq::text, 3, '0')
        ORDER BY bd.block, bd.seq
        """), {"src": source})
    return n


def write_roads(conn: Connection, plan: layout.Plan, p: CityParams, source: str) -> int:
    """Road centre lines and lanes as ``osm_line`` rows (the network is built from them)."""
    geoms = layout.lines_ll(plan.road_lines, p)
    frame = pd.DataFrame({"highway": plan.road_kind, "source": source})
    copy_frame(conn, "osm_line", ["highway", "source", "geom"], frame, {},
               {"geom": ewkb(geoms)})
    return len(geoms)
