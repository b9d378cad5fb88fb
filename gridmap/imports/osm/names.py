"""Readable names for estates that OSM leaves unnamed (instead of ``住宅区 way/429847855``).

In the order tried (``estate.name_source``):

1. ``entrance``: a named 小区 entrance or gate on the estate (``entrance=*``/``barrier=gate``,
   within :data:`GATE_BUFFER_M`), its gate word removed: ``富润家园北门`` → ``富润家园``;
2. ``building``: the commonest name of its buildings with the building number removed:
   ``双泉嘉苑3号楼`` → ``双泉嘉苑``;
3. ``address``: the commonest ``addr:street`` + ``addr:housenumber`` of its buildings:
   ``清华东路`` + ``27`` → ``清华东路27号院``;
4. ``road``: the nearest two named roads (:data:`ROAD_CLASSES`, within
   :data:`ROAD_SEARCH_M`) and the side of each the estate lies on:
   ``学清路以东、清华东路以北街坊``.

Names found twice in one import get a number (``… 2``). Estates nothing applies to keep
their placeholder.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import shapely
import sqlalchemy as sa
from pyproj import CRS
from sqlalchemy.engine import Connection

from gridmap import crs as gcrs
from gridmap.imports.blocks import BLOCK_HIGHWAYS
from gridmap.imports.osm.read import Layer
from gridmap.imports.osm.rows import first_name

Geoms = npt.NDArray[np.object_]
GATE_BUFFER_M = 30.0
ROAD_SEARCH_M = 150.0
ROAD_CLASSES = BLOCK_HIGHWAYS | {"service"}
"""Roads that name a 街坊 (footways and footbridges do not)."""
_COMPOUND = re.compile(r"小区|苑|园|院|村|里|坊|公寓|公馆|大厦|宿舍|生活区|居|庭|邸|府|城|湾|郡")
_BUILDING_NUMBER = re.compile(
    r"[\s\-—·#]*(?:第?[0-9０-９一二三四五六七八九十百甲乙丙丁A-Za-z]+\s*"
    r"(?:号楼|号|栋|幢|座|楼|单元|号院)\s*)+$")
_GATE = re.compile(r"[\s\-—·]*(?:[东南西北正大侧主次后前]+|[0-9一二三四五六七八九十]+号)?"
                   r"(?:门|出入口|入口|大门)$")


def strip_building_number(name: str) -> str:
    """``双泉嘉苑3号楼`` → ``双泉嘉苑``; ``1号楼`` → ``""``."""
    return _BUILDING_NUMBER.sub("", name.strip()).strip()


def strip_gate(name: str) -> str:
    """``富润家园北门`` → ``富润家园``; ``南门`` → ``""``."""
    return _GATE.sub("", name.strip()).strip()


def _best(names: Sequence[str]) -> str | None:
    """The commonest name, compound-like names (小区, 苑, 院 …) first, then the shortest."""
    names = [n for n in names if n]
    if not names:
        return None
    counts = Counter(names)
    return min(counts, key=lambda n: (_COMPOUND.search(n) is None, -counts[n], len(n), n))


def _inside(estates: Geoms, points: Geoms) -> list[list[int]]:
    """For each estate, the indexes of ``points`` that lie in it."""
    out: list[list[int]] = [[] for _ in range(len(estates))]
    if len(points) == 0 or len(estates) == 0:
        return out
    tree = shapely.STRtree(estates)
    pt_idx, est_idx = tree.query(points, predicate="within")
    for p, e in zip(pt_idx.tolist(), est_idx.tolist(), strict=True):
        out[e].append(p)
    return out


def _gate_names(estates_m: Geoms, points: Layer, metric: CRS) -> list[str | None]:
    tags = points.tags
    gate = (tags["entrance"].notna() | (tags["barrier"] == "gate")).to_numpy(dtype=bool,
                                                                            copy=True)
    names = np.asarray(first_name(tags), dtype=object)
    gate &= np.array([n is not None for n in names], dtype=bool)
    found = _inside(shapely.buffer(estates_m, GATE_BUFFER_M),
                    gcrs.to_metric(points.geoms[gate], metric))
    stripped = [strip_gate(str(n)) for n in names[gate]]
    return [_best([stripped[i] for i in idx if _COMPOUND.search(stripped[i])])
            for idx in found]


def _building_names(estates_m: Geoms, polys: Layer, metric: CRS
                    ) -> tuple[list[str | None], list[str | None]]:
    tags = polys.tags
    bmask = (tags["building"].notna() & (tags["building"] != "no")).to_numpy(dtype=bool)
    pts = shapely.point_on_surface(gcrs.to_metric(polys.geoms[bmask], metric))
    found = _inside(estates_m, pts)
    names = [strip_building_number(n) if n else "" for n in first_name(tags[bmask])]
    street = tags["addr:street"][bmask].to_numpy(dtype=object)
    number = tags["addr:housenumber"][bmask].to_numpy(dtype=object)
    addresses = [f"{s}{n}号院" if str(n).isdigit() else f"{s}{n}"
                 if isinstance(s, str) and isinstance(n, str) else ""
                 for s, n in zip(street, number, strict=True)]
    return ([_best([names[i] for i in idx if _COMPOUND.search(names[i])]) for idx in found],
            [_best([addresses[i] for i in idx]) for idx in found])


def _side(dx: float, dy: float) -> str:
    if abs(dy) >= abs(dx):
        return "北" if dy > 0 else "南"
    return "东" if dx > 0 else "西"


def _road_names(estates_m: Geoms, lines: Layer, metric: CRS) -> list[str | None]:
    tags = lines.tags
    names = np.asarray(first_name(tags), dtype=object)
    keep = tags["highway"].isin(list(ROAD_CLASSES)).to_numpy(dtype=bool, copy=True) & np.array(
        [n is not None for n in names], dtype=bool)
    roads = gcrs.to_metric(lines.geoms[keep], metric)
    names = names[keep]
    out: list[str | None] = [None] * len(estates_m)
    if len(roads) == 0:
        return out
    tree = shapely.STRtree(roads)
    centres = shapely.point_on_surface(estates_m)
    est_idx, road_idx = tree.query(shapely.buffer(estates_m, ROAD_SEARCH_M),
                                   predicate="intersects")
    dist = shapely.distance(estates_m[est_idx], roads[road_idx])
    for e in range(len(estates_m)):
        sel = np.flatnonzero(est_idx == e)
        parts: list[str] = []
        for j in sel[np.argsort(dist[sel], kind="stable")]:
            name = str(names[road_idx[j]])
            if any(p.startswith(name + "以") for p in parts):
                continue
            near = shapely.line_locate_point(roads[road_idx[j]], centres[e])
            pt = shapely.line_interpolate_point(roads[road_idx[j]], near)
            parts.append(f"{name}以{_side(centres[e].x - pt.x, centres[e].y - pt.y)}")
            if len(parts) == 2:
                break
        out[e] = "、".join(parts) + "街坊" if parts else None
    return out


def estate_names(estates: Geoms, polys: Layer, points: Layer, lines: Layer, metric: CRS
                 ) -> tuple[list[str | None], list[str | None]]:
    """A readable name and its origin for each estate geometry (EPSG:4326); None if none.

    Parameters
    ----------
    estates:
        The unnamed estates.
    polys, points, lines:
        The layers of the OSM file (buildings, entrances, roads).
    metric:
        The metric CRS of the import.

    Returns
    -------
    names, sources
        ``sources`` holds ``entrance`` | ``building`` | ``address`` | ``road`` (or None).
    """
    if len(estates) == 0:
        return [], []
    estates_m = gcrs.to_metric(np.asarray(estates, dtype=object), metric)
    gates = _gate_names(estates_m, points, metric)
    buildings, addresses = _building_names(estates_m, polys, metric)
    roads = _road_names(estates_m, lines, metric)
    names: list[str | None] = []
    sources: list[str | None] = []
    for options in zip(gates, buildings, addresses, roads, strict=True):
        pick = next(((n, s) for n, s in zip(options, ("entrance", "building", "address",
                                                      "road"), strict=True) if n), (None, None))
        names.append(pick[0])
        sources.append(pick[1])
    return _numbered(names), sources


def _numbered(names: list[str | None]) -> list[str | None]:
    """Second and later uses of a name get `` 2``, `` 3`` …"""
    seen: Counter[str] = Counter()
    out: list[str | None] = []
    for n in names:
        if n is None:
            out.append(None)
            continue
        seen[n] += 1
        out.append(n if seen[n] == 1 else f"{n} {seen[n]}")
    return out


_UNNAMED_SQL = sa.text(
    "SELECT id, ST_AsBinary(geom) FROM estate WHERE import_id = :id AND name_source IS NULL "
    "ORDER BY id")
_RENAME_SQL = sa.text(
    """
    UPDATE estate e SET name = n.name, name_source = n.src
    FROM unnest(CAST(:ids AS int[]), CAST(:names AS text[]), CAST(:srcs AS text[]))
         AS n(id, name, src)
    WHERE e.id = n.id
    """)


def name_estates(conn: Connection, import_id: int | None, layers: dict[str, Layer],
                 metric: CRS) -> dict[str, int]:
    """Give the estates of an import that have only a placeholder name (``name_source`` NULL:
    OSM estates without a name, estates derived from street blocks) a readable name
    (:func:`estate_names`). One read, one update; returns how many were named per origin."""
    rows = conn.execute(_UNNAMED_SQL, {"id": import_id}).all()
    counts: dict[str, int] = {k: 0 for k in ("entrance", "building", "address", "road")}
    if not rows:
        return counts
    geoms = shapely.from_wkb([bytes(r[1]) for r in rows])
    names, sources = estate_names(np.asarray(geoms, dtype=object), layers["multipolygons"],
                                  layers["points"], layers["lines"], metric)
    keep = [i for i, n in enumerate(names) if n]
    for i in keep:
        counts[str(sources[i])] += 1
    if keep:
        conn.execute(_RENAME_SQL, {"ids": [int(rows[i][0]) for i in keep],
                                   "names": [names[i] for i in keep],
                                   "srcs": [sources[i] for i in keep]})
    return counts
