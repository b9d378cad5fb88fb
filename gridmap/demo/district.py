"""The sample district's synthetic administration (docs/sample-district.md).

The street blocks of the OSM extract are split into streets and communities by the grids'
partition algorithm (:func:`gridmap.grids.partition.split_balanced`: contiguous parts of
similar household weight), given real NBS codes and names of 黄浦区 marked 合成示例, and
their geometry is the union of their blocks (children inside parents by construction).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import crs
from gridmap.errors import Conflict, NotFound
from gridmap.grids import partition
from gridmap.imports import linking
from gridmap.reference import codes

SYNTHETIC_MARK = "（合成示例）"
ADMIN_SEED = 3
"""Seed of the street/community split: the sample's administration does not depend on the
load's seed (which only affects grids and incidents). The share of grids in the household
range depends on where community boundaries fall (0.63–0.86 over admin seeds 0–9); seed 3
with :data:`BALANCE` gives 0.86 with the default load seed."""
BALANCE = 0.05
"""Communities (and streets) hold the mean household count ± 5 %."""


class AdminParams(Protocol):
    """What the administration builder reads from :class:`gridmap.demo.sample.SampleParams`."""

    @property
    def district_code(self) -> str: ...
    @property
    def street_codes(self) -> tuple[str, ...]: ...
    @property
    def communities_per_street(self) -> int: ...


@dataclass
class Blocks:
    """Unassigned street blocks of one source, in a metric CRS, with their adjacency."""

    ids: npt.NDArray[np.int64]
    points: npt.NDArray[np.float64]
    households: npt.NDArray[np.int64]
    ei: npt.NDArray[np.int64]
    ej: npt.NDArray[np.int64]

    def main_component(self) -> list[int]:
        """The blocks of the largest connected group (ties: the one with the lowest block)."""
        comp = partition.components(len(self.ids), self.ei, self.ej)
        sizes = np.bincount(comp)
        best = max(range(len(sizes)), key=lambda c: (sizes[c], -int(np.flatnonzero(comp == c)[0])))
        return np.flatnonzero(comp == best).tolist()

    def split(self, nodes: list[int], k: int) -> list[list[int]]:
        """``nodes`` (connected) in ``k`` contiguous parts of similar household weight."""
        sub = np.array(nodes, dtype=np.int64)
        index = np.full(len(self.ids), -1, dtype=np.int64)
        index[sub] = np.arange(len(sub))
        keep = (index[self.ei] >= 0) & (index[self.ej] >= 0)
        labels = partition.split_balanced(self.households[sub] + 1, self.points[sub],
                                          index[self.ei[keep]], index[self.ej[keep]], k,
                                          tolerance=BALANCE, seed=ADMIN_SEED)
        return [sorted(sub[labels == lab].tolist()) for lab in sorted(set(labels.tolist()))]

    def in_reading_order(self, parts: list[list[int]], band_height: float) -> list[list[int]]:
        """``parts`` numbered west→east, north→south by the centre of their blocks."""
        centres = [tuple(self.points[part].mean(axis=0)) for part in parts]
        return [parts[i] for i in codes.reading_order(centres, band_height=band_height)]


def load_blocks(conn: Connection, source: str) -> Blocks:
    """The unassigned street blocks of ``source`` with their households; adjacent when they
    share ≥ 1 m of boundary (a road centre line)."""
    rows = conn.execute(sa.text(
        """
        SELECT sb.id, ST_AsBinary(sb.geom),
               coalesce((SELECT sum(b.households) FROM building b
                         WHERE b.geom && sb.geom
                           AND ST_Intersects(sb.geom, ST_PointOnSurface(b.geom))), 0)
        FROM street_block sb
        WHERE sb.source = :source AND sb.community_id IS NULL
        ORDER BY sb.id
        """), {"source": source}).all()
    if not rows:
        raise NotFound("demo.no_blocks", {"source": source})
    geoms = np.asarray(shapely.from_wkb([bytes(r[1]) for r in rows]), dtype=object)
    geoms_m = crs.to_metric(geoms, crs.metric_for(geoms))
    ei, ej, _ = partition.adjacency(geoms_m, 1.0)
    return Blocks(np.array([r[0] for r in rows], dtype=np.int64),
                  shapely.get_coordinates(shapely.point_on_surface(geoms_m)),
                  np.array([int(r[2]) for r in rows], dtype=np.int64), ei, ej)


def admin_names(conn: Connection, p: AdminParams) -> tuple[str, dict[str, str],
                                                           dict[str, list[tuple[str, str]]]]:
    """District name, street names and each street's committees (code, name) from the
    admin-code catalogue; :class:`NotFound` if the codes are missing."""
    district = conn.execute(sa.text(
        "SELECT name FROM admin_division WHERE code = :c AND level = 'district'"),
        {"c": p.district_code}).scalar()
    streets: dict[str, str] = dict(conn.execute(sa.text(
        "SELECT code, name FROM admin_division WHERE level = 'street' AND code = ANY(:c) "
        "AND parent_code = :d"), {"c": list(p.street_codes), "d": p.district_code}).all())
    if district is None or len(streets) != len(p.street_codes):
        raise NotFound("demo.admin_codes_missing",
                       {"district": p.district_code, "streets": list(p.street_codes)})
    committees: dict[str, list[tuple[str, str]]] = {}
    for s in p.street_codes:
        committees[s] = [(str(r[0]), str(r[1])) for r in conn.execute(sa.text(
            "SELECT code, name FROM admin_division WHERE level = 'community' "
            "AND parent_code = :s ORDER BY code"), {"s": s}).all()]
    return str(district), streets, committees


def check_codes_free(conn: Connection, p: AdminParams, community_codes: list[str]) -> None:
    """:class:`Conflict` if real data already uses the borrowed division codes."""
    taken = conn.execute(sa.text(
        "SELECT code FROM district WHERE code = :d UNION ALL "
        "SELECT code FROM street WHERE code = ANY(:s) UNION ALL "
        "SELECT code FROM community WHERE code = ANY(:c)"),
        {"d": p.district_code, "s": list(p.street_codes), "c": community_codes}).scalars().all()
    if taken:
        raise Conflict("demo.codes_taken", {"codes": list(taken)})


def plan_administration(blocks: Blocks, component: list[int], p: AdminParams,
                        committees: dict[str, list[tuple[str, str]]],
                        ) -> list[tuple[str, list[list[int]]]]:
    """Streets (in reading order, one per street code) and their communities (in reading
    order), as lists of block indexes."""
    streets = blocks.in_reading_order(blocks.split(component, len(p.street_codes)), 400.0)
    plan: list[tuple[str, list[list[int]]]] = []
    for s_code, s_nodes in zip(p.street_codes, streets, strict=False):
        k = min(p.communities_per_street, len(committees[s_code]))
        plan.append((s_code, blocks.in_reading_order(blocks.split(s_nodes, k), 400.0)))
    return plan


def _insert_division(conn: Connection, table: str, parent: str | None, row: dict[str, Any]
                     ) -> int:
    cols = {"district": "", "street": ", district_id", "community": ", street_id"}[table]
    value = ", :parent" if parent else ""
    return int(conn.execute(sa.text(
        f"INSERT INTO {table} (code{cols}, name, synthetic, source, import_id, geom) "  # noqa: S608 - table and columns are constants
        f"VALUES (:code{value}, :name, true, 'sample', :imp, "
        "ST_GeomFromText('MULTIPOLYGON EMPTY', 4326)) RETURNING id"), row).scalar_one())


def write_administration(conn: Connection, blocks: Blocks, plan: list[tuple[str, list[list[int]]]],
                         names: tuple[str, dict[str, str], dict[str, list[tuple[str, str]]]],
                         district_code: str, import_id: int | None) -> list[dict[str, Any]]:
    """Insert the district, streets and communities, assign the blocks, and set every
    division's geometry to the union of its children. Returns the communities written."""
    district_name, street_names, committees = names
    district_id = _insert_division(conn, "district", None, {
        "code": district_code, "name": district_name + SYNTHETIC_MARK, "imp": import_id})
    communities: list[dict[str, Any]] = []
    for s_code, parts in plan:
        street_id = _insert_division(conn, "street", "district_id", {
            "code": s_code, "parent": district_id, "name": street_names[s_code] + SYNTHETIC_MARK,
            "imp": import_id})
        for i, part in enumerate(parts):
            c_code, c_name = committees[s_code][i]
            cid = _insert_division(conn, "community", "street_id", {
                "code": c_code, "parent": street_id, "name": c_name + SYNTHETIC_MARK,
                "imp": import_id})
            block_ids = [int(blocks.ids[n]) for n in part]
            conn.execute(sa.text("UPDATE street_block SET community_id = :c WHERE id = ANY(:ids)"),
                         {"c": cid, "ids": block_ids})
            communities.append({"id": cid, "code": c_code, "name": c_name + SYNTHETIC_MARK,
                                "blocks": len(block_ids),
                                "households": int(blocks.households[part].sum())})
    _union_geometries(conn, district_id, import_id)
    linking.link_to_communities(conn)
    return communities


def _union_geometries(conn: Connection, district_id: int, import_id: int | None) -> None:
    """Community = union of its blocks, street = of its communities, district = of its streets."""
    conn.execute(sa.text(
        """
        UPDATE community c SET geom = u.g
        FROM (SELECT community_id, ST_Multi(ST_Union(geom)) AS g FROM street_block
              WHERE community_id IS NOT NULL GROUP BY community_id) u
        WHERE c.id = u.community_id AND c.import_id = :imp
        """), {"imp": import_id})
    conn.execute(sa.text(
        """
        UPDATE street s SET geom = u.g
        FROM (SELECT street_id, ST_Multi(ST_Union(geom)) AS g FROM community
              WHERE import_id = :imp GROUP BY street_id) u
        WHERE s.id = u.street_id
        """), {"imp": import_id})
    conn.execute(sa.text(
        """
        UPDATE district d SET geom = (SELECT ST_Multi(ST_Union(geom)) FROM street
                                      WHERE district_id = d.id)
        WHERE d.id = :d
        """), {"d": district_id})
