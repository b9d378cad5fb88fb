"""Map layers for the pages: GeoJSON by bbox and zoom, vector tiles, name search.

- ``GET /api/layers/<layer>?bbox=lon0,lat0,lon1,lat1&zoom=z[&type=code][&display=gcj02]``
  for ``communities``, ``estates``, ``buildings``, ``grids`` (active versions),
  ``facilities`` (optionally one type), ``street_blocks``, ``streets``. Each layer has a
  minimum zoom, a maximum bbox size and a feature cap (``truncated: true`` when hit)
  (:mod:`gridmap.mapdata`), so a whole district's buildings are never sent as one GeoJSON.
- ``GET /api/tiles/<layer>/<z>/<x>/<y>.pbf``: Mapbox vector tiles (``ST_AsMVT``).
- ``GET /api/facility_types``: the catalogue with facility counts.
- ``GET /api/search?q=``: communities and estates by name.

``display=gcj02`` returns coordinates shifted to GCJ-02 for display on a GCJ-02 basemap
(stored data stay WGS84). Every string is returned as data: pages put it in the DOM with
``textContent``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from flask import Blueprint, Response, jsonify

from gridmap import mapdata
from gridmap.crs import wgs84_to_gcj02
from web import db
from web.access import login_required
from web.api import schemas
from web.api.common import feature_collection, shift_bbox
from web.api.parsing import use

bp = Blueprint("layers", __name__)


@bp.get("/api/layers/<name>")
@login_required
@use(schemas.LayerQuery)
def layer(name: str, args: dict[str, Any]) -> Response:
    """One layer as GeoJSON, limited by bbox, zoom and a feature cap."""
    with db.read() as conn:
        result = mapdata.layer(conn, name, args["bbox"], args["zoom"], args.get("type") or None)
    return feature_collection(result.rows, args["display"], layer=name,
                              truncated=result.truncated,
                              synthetic=any(r.get("synthetic") for r in result.rows))


def _gcj_delta_at(z: int, x: int, y: int) -> tuple[float, float]:
    """GCJ-02 offset (degrees) at the centre of tile z/x/y, for display shifting."""
    n = 2.0**z
    lon = (x + 0.5) / n * 360.0 - 180.0
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + 0.5) / n))))
    glon, glat = wgs84_to_gcj02(np.array([lon]), np.array([lat]))
    return float(glon[0] - lon), float(glat[0] - lat)


@bp.get("/api/tiles/<name>/<int:z>/<int:x>/<int:y>.pbf")
@login_required
@use(schemas.DisplayQuery)
def tile(name: str, z: int, x: int, y: int, args: dict[str, Any]) -> Response:
    """A Mapbox vector tile of one layer; empty body when nothing is there."""
    offset = (0.0, 0.0)
    if args["display"] == "gcj02" and z <= 22 and x < 2**z and y < 2**z:
        offset = _gcj_delta_at(z, x, y)
    with db.read() as conn:
        data = mapdata.tile(conn, name, z, x, y, offset)
    resp = Response(data, mimetype="application/vnd.mapbox-vector-tile")
    resp.headers["Cache-Control"] = "private, max-age=60"
    return resp


@bp.get("/api/facility_types")
@login_required
def facility_types() -> Response:
    """The facility catalogue with the number of facilities of each type."""
    with db.read() as conn:
        return jsonify({"types": mapdata.facility_types(conn)})


@bp.get("/api/search")
@login_required
@use(schemas.SearchQuery)
def search(args: dict[str, Any]) -> Response:
    """Communities and estates whose name contains ``q`` (at most 20), with bbox."""
    with db.read() as conn:
        results = mapdata.search(conn, args["q"])
    for item in results:
        item["bbox"] = shift_bbox(item["bbox"], args["display"])
    return jsonify({"results": results})
