"""The context basemap drawn from our own data (issue #16), for ``Settings.basemap == "none"``.

- ``GET /api/tiles/base/<z>/<x>/<y>.pbf``: the basemap's Mapbox vector tile (roads by
  class with names, buildings, estates, community boundaries; :mod:`gridmap.basemap.tiles`),
  from the tile cache (:mod:`gridmap.basemap.cache`), gzip-compressed when the client
  accepts it, with an ``ETag`` of the data generation (``If-None-Match`` → 304) and
  ``Cache-Control: private, max-age=300``. A tile address outside the pyramid → 400.
- ``GET /api/tiles/base/labels?bbox=&zoom=``: road and estate names as label points (JSON),
  drawn as text by ``static/js/basemap.js`` (the tile renderer draws no text).

Both need a login, like every map layer.
"""

from __future__ import annotations

import gzip
from typing import Any

from flask import Blueprint, Response, jsonify, request

from gridmap.basemap import cache, labels
from web import db
from web.access import login_required
from web.api.fields import BBox, Int, Range
from web.api.parsing import Base, use

bp = Blueprint("tiles", __name__)

MAX_AGE_S = 300
"""Browsers may reuse a tile this long without asking; then they revalidate by ETag."""
MVT = "application/vnd.mapbox-vector-tile"


class LabelQuery(Base):
    """Labels inside a bbox at a zoom."""

    bbox = BBox(required=True)
    zoom = Int(required=True, validate=Range(0, 22))


def _etag(generation: int) -> str:
    return f'"base-{generation}"'


def _tile_response(data: bytes, generation: int) -> Response:
    resp = Response(status=200, mimetype=MVT)
    if data and "gzip" in request.headers.get("Accept-Encoding", ""):
        resp.set_data(gzip.compress(data, compresslevel=5, mtime=0))
        resp.headers["Content-Encoding"] = "gzip"
    else:
        resp.set_data(data)
    resp.headers["Vary"] = "Accept-Encoding"
    return resp


@bp.get("/api/tiles/base/<int:z>/<int:x>/<int:y>.pbf")
@login_required
def base_tile(z: int, x: int, y: int) -> Response:
    """The basemap vector tile z/x/y (layers roads, buildings, estates, communities).

    Empty body where there is no data or below zoom 10; 400 for a tile outside the
    pyramid. ``ETag`` = data generation: ``If-None-Match`` answers 304 until an import
    changes the data.
    """
    with db.write() as conn:
        gen = cache.generation(conn)
        if request.if_none_match.contains_weak(_etag(gen).strip('"')):
            cache.check_tile_address(z, x, y)
            resp = Response(status=304)
        else:
            found = cache.cached_tile(conn, z, x, y)
            gen = found.generation
            resp = _tile_response(found.data, gen)
    resp.headers["ETag"] = _etag(gen)
    resp.headers["Cache-Control"] = f"private, max-age={MAX_AGE_S}"
    return resp


@bp.get("/api/tiles/base/labels")
@login_required
@use(LabelQuery)
def base_labels(args: dict[str, Any]) -> Response:
    """Road and estate names inside ``bbox`` at ``zoom`` as label points (none below 14).

    Each label: ``kind`` (road, estate), ``name``, ``class`` (road class), ``lon``, ``lat``,
    ``angle`` (text rotation in degrees, roads along their direction).
    """
    with db.read() as conn:
        found = labels.labels(conn, args["bbox"], args["zoom"])
    resp = jsonify({"labels": [lb.as_dict() for lb in found]})
    resp.headers["Cache-Control"] = "private, max-age=60"
    return resp
