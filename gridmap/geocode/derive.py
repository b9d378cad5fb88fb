"""Register entries derived from the data already in gridmap, and from OSM ``addr:*`` tags.

- named buildings → ``place`` (point on the footprint, building id);
- named estates (小区) → ``place``; named facilities → ``place``;
- named roads (``osm_line`` with a highway tag, pieces of one name merged, clipped to the
  district) → ``road`` with its line and the middle point of the part inside the district;
- communities and streets → ``area`` (point on surface).

Each group is written under its own source (``derived:building`` …) with
``retire_missing``, so re-deriving after a new OSM import retires what disappeared.
:func:`read_osm_addresses` reads ``addr:housenumber``/``addr:street`` (and Chinese
``addr:full``) from an OSM file (the OSM import does not keep them) into register rows.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.geocode.normalise import normalise
from gridmap.geocode.register import ENTRY_COLUMNS, entry_key, write_entries

_ROAD_HIGHWAYS = ("motorway", "trunk", "primary", "secondary", "tertiary", "unclassified",
                  "residential", "living_street", "service", "pedestrian", "road",
                  "primary_link", "secondary_link", "tertiary_link", "trunk_link")

_QUERIES: dict[str, str] = {
    "building": """SELECT name AS place, id AS building_id, ST_X(p) AS lon, ST_Y(p) AS lat
        FROM (SELECT name, id, ST_PointOnSurface(geom) AS p FROM building
              WHERE name IS NOT NULL AND btrim(name) <> '') b ORDER BY id""",
    "estate": """SELECT name AS place, NULL::int AS building_id, ST_X(p) AS lon, ST_Y(p) AS lat
        FROM (SELECT name, id, ST_PointOnSurface(geom) AS p FROM estate
              WHERE name IS NOT NULL AND btrim(name) <> '') e ORDER BY id""",
    "facility": """SELECT name AS place, NULL::int AS building_id, ST_X(p) AS lon,
               ST_Y(p) AS lat
        FROM (SELECT name, id, ST_PointOnSurface(COALESCE(location, geom)) AS p FROM facility
              WHERE name IS NOT NULL AND btrim(name) <> '') f ORDER BY id""",
    "area": """SELECT name AS place, NULL::int AS building_id, ST_X(p) AS lon, ST_Y(p) AS lat
        FROM (SELECT name, ST_PointOnSurface(geom) AS p, 1 AS o, id FROM community
              UNION ALL SELECT name, ST_PointOnSurface(geom), 2, id FROM street) a
        WHERE name IS NOT NULL ORDER BY o, id""",
}
_ROADS = """
WITH d AS (SELECT ST_Union(geom) AS u FROM district),
g AS (SELECT name, ST_Multi(ST_LineMerge(ST_Collect(geom))) AS whole
      FROM osm_line WHERE name IS NOT NULL AND btrim(name) <> '' AND highway = ANY(:hw)
      GROUP BY name),
c AS (SELECT g.name, CASE WHEN d.u IS NULL THEN g.whole
                         ELSE ST_Multi(ST_CollectionExtract(ST_Intersection(g.whole, d.u), 2))
                    END AS ml
      FROM g CROSS JOIN d)
SELECT name AS road, ST_X(mid) AS lon, ST_Y(mid) AS lat, ST_AsBinary(ml) AS line_wkb
FROM (SELECT name, ml, ST_ClosestPoint(ml, ST_Centroid(ml)) AS mid FROM c
      WHERE NOT ST_IsEmpty(ml)) r
ORDER BY name
"""
"""Named roads, pieces of one name merged, clipped to the district (its middle is then the
middle of the road's part inside the district)."""


def _frame(rows: list[dict[str, Any]], kind: str) -> pd.DataFrame:
    f = pd.DataFrame(rows)
    for c in ENTRY_COLUMNS:
        if c not in f:
            f[c] = None
    f["kind"] = kind
    if kind == "road":
        f["text"] = f["road"]
    else:
        f["text"] = f["place"]
    extra = [f"#b{int(b)}" if b == b and b is not None else "" for b in f["building_id"]]
    f["entry_key"] = [entry_key(kind, r, None, None, None, p, None, e)
                      for r, p, e in zip(f["road"], f["place"], extra, strict=True)]
    return f.drop_duplicates("entry_key", keep="first")[list(ENTRY_COLUMNS)]


def derive_entries(conn: Connection, *, actor: str | None = None) -> dict[str, dict[str, int]]:
    """Write the derived entries (one versioned write per group); the counts per group."""
    report: dict[str, dict[str, int]] = {}
    for group, sql in _QUERIES.items():
        rows = [dict(r) for r in conn.execute(sa.text(sql)).mappings()]
        kind = "area" if group == "area" else "place"
        frame = _frame(rows, kind) if rows else pd.DataFrame(columns=list(ENTRY_COLUMNS))
        report[group] = write_entries(conn, frame, source=f"derived:{group}", actor=actor,
                                      retire_missing=True)
    rows = [dict(r) for r in conn.execute(sa.text(_ROADS), {"hw": list(_ROAD_HIGHWAYS)})
            .mappings()]
    for r in rows:
        r["line"] = shapely.from_wkb(bytes(r.pop("line_wkb")))
    frame = _frame(rows, "road") if rows else pd.DataFrame(columns=list(ENTRY_COLUMNS))
    report["road"] = write_entries(conn, frame, source="derived:road", actor=actor,
                                   retire_missing=True)
    return report


_TAG_RE = re.compile(r'"(addr:[a-z_:]+)"=>"((?:[^"\\]|\\.)*)"')


def _tags(other: Any) -> dict[str, str]:
    return dict(_TAG_RE.findall(other)) if isinstance(other, str) else {}


def read_osm_addresses(path: Path) -> pd.DataFrame:
    """Register rows (``address``, ``lon``, ``lat``) from ``addr:*`` tags of an OSM file.

    Chinese-style tags build ``addr:street`` + ``addr:housenumber`` (号); English ones
    ``NUMBER STREET``. Points of polygons are points on their surface.
    """
    out: list[pd.DataFrame] = []
    for layer in ("points", "multipolygons"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df = pyogrio.read_dataframe(path, layer=layer, columns=["other_tags"],
                                        on_invalid="ignore")
        tags = [_tags(t) for t in df["other_tags"].tolist()]
        keep = np.array([bool(t.get("addr:housenumber") and t.get("addr:street")) or
                         bool(t.get("addr:full")) for t in tags], dtype=bool)
        if not keep.any():
            continue
        geoms = df.geometry.to_numpy()[keep]
        ok = ~shapely.is_missing(geoms)
        pts = shapely.point_on_surface(geoms[ok])
        sel = [t for t, k in zip(tags, keep, strict=True) if k]
        sel = [t for t, o in zip(sel, ok, strict=True) if o]
        out.append(pd.DataFrame({"address": [_address(t) for t in sel],
                                 "lon": shapely.get_x(pts), "lat": shapely.get_y(pts)}))
    frame = pd.concat(out, ignore_index=True) if out else pd.DataFrame(
        columns=["address", "lon", "lat"])
    key = [normalise(a) for a in frame["address"]]  # a building and its entrance: one row
    return frame.loc[~pd.Series(key).duplicated().to_numpy()].reset_index(drop=True)


def _address(t: dict[str, str]) -> str:
    if t.get("addr:full") and not t.get("addr:housenumber"):
        return t["addr:full"]
    street, number = t["addr:street"], t["addr:housenumber"]
    if re.search(r"[\u4e00-\u9fff]", street):
        return f"{street}{number}{'' if number.endswith('号') else '号'}"
    return f"{number} {street}"
