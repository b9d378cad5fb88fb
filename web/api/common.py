"""Helpers shared by the API blueprints: JSON responses, GeoJSON shaping and display
shifting, incident features masked for the viewer, a short-lived aggregate cache.

Blueprints import from here (and from :mod:`web.access`, :mod:`web.api.parsing`), never
from each other.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from cachetools import TTLCache
from flask import Response, current_app, jsonify, request

from gridmap.accounts import scope as scopes
from gridmap.config import Settings
from gridmap.crs import wgs84_to_gcj02


def settings() -> Settings:
    """The app's settings."""
    s: Settings = current_app.extensions["gridmap.settings"]
    return s


def jsonable(value: Any) -> Any:
    """Datetimes as ISO 8601 text; everything else as it is."""
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def json_response(body: Any, status: int = 200) -> Response:
    """``body`` as a JSON response with ``status``."""
    resp = jsonify(body)
    resp.status_code = status
    return resp


# --------------------------------------------------------------------------- display


def shift_geojson(geoms: list[str]) -> list[str]:
    """GeoJSON geometry strings shifted WGS84 → GCJ-02 (one vectorised pass)."""
    if not geoms:
        return geoms
    arr = shapely.from_geojson(np.asarray(geoms, dtype=object))

    def _shift(xy: np.ndarray) -> np.ndarray:
        lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
        return np.column_stack([np.round(lon, 6), np.round(lat, 6)])

    return list(shapely.to_geojson(shapely.transform(arr, _shift)))


def shift_geometries(obj: Any) -> Any:
    """Every GeoJSON geometry inside ``obj`` shifted WGS84 → GCJ-02 (display only)."""
    if isinstance(obj, list):
        return [shift_geometries(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if isinstance(obj.get("type"), str) and "coordinates" in obj:
        return json.loads(shift_geojson([json.dumps(obj)])[0])
    return {k: shift_geometries(v) for k, v in obj.items()}


def shift_bbox(bbox: list[float] | None, display: str) -> list[float] | None:
    """``[lon_min, lat_min, lon_max, lat_max]`` for display (shifted for ``gcj02``)."""
    if bbox is None or display != "gcj02":
        return bbox
    lon, lat = wgs84_to_gcj02(np.array(bbox[0::2]), np.array(bbox[1::2]))
    return [float(lon[0]), float(lat[0]), float(lon[1]), float(lat[1])]


def feature_collection(rows: list[dict[str, Any]], display: str, **extra: object) -> Response:
    """Rows with a ``g`` GeoJSON string column → a FeatureCollection response (geometries
    are spliced in as text, never parsed)."""
    geoms = [r.pop("g") for r in rows]
    if display == "gcj02":
        geoms = shift_geojson(geoms)
    for r in rows:
        for k, v in r.items():
            if hasattr(v, "isoformat"):
                r[k] = v.isoformat()
    features = ",".join(
        '{"type":"Feature","id":' + json.dumps(r.get("id")) + ',"geometry":' + g
        + ',"properties":' + json.dumps(r, ensure_ascii=False) + "}"
        for r, g in zip(rows, geoms, strict=True)
    )
    meta = json.dumps({"display": display, **extra}, ensure_ascii=False)[1:-1]
    body = '{"type":"FeatureCollection",' + meta + ',"features":[' + features + "]}"
    return Response(body, mimetype="application/geo+json")


# --------------------------------------------------------------------------- incidents


def incident_feature(row: Mapping[str, Any], scope: scopes.Scope) -> dict[str, Any]:
    """One incident as a GeoJSON Feature, personal data masked for ``scope``."""
    props = {k: jsonable(v) for k, v in row.items() if k not in ("lon", "lat", "geom")}
    return {
        "type": "Feature",
        "id": row.get("id"),
        "geometry": {"type": "Point", "coordinates": [row.get("lon"), row.get("lat")]},
        "properties": scopes.masked(props, scope),
    }


def incident_page(result: Mapping[str, Any], scope: scopes.Scope, page: int,
                  page_size: int) -> Response:
    """A page of incidents (``list_incidents``' result) as a FeatureCollection response."""
    return json_response({
        "type": "FeatureCollection",
        "features": [incident_feature(r, scope) for r in result["items"]],
        "page": page,
        "page_size": page_size,
        "total": result["total"],
    })


# --------------------------------------------------------------------------- cache

AGGREGATE_CACHE_SECONDS = 15.0
"""Default life of a cached aggregate (heat, grid indicators, hotspots) per worker process.

Aggregates over 10^5 incidents take a few hundred ms; a dashboard asks for the same view
again and again (playback, panning back, several tabs). 15 s of staleness is acceptable for
a supervision overview; set ``AGGREGATE_CACHE_SECONDS`` (Flask config) to 0 to disable.
Off by default under ``TESTING``.
"""
CACHE_MAX = 256
_CACHE_LOCK = threading.Lock()


def _cache(ttl: float) -> TTLCache[Any, Any]:
    """The app's aggregate cache for ``ttl`` seconds (a new one when the setting changes)."""
    cache: TTLCache[Any, Any] | None = current_app.extensions.get("gridmap.aggregates")
    if cache is None or cache.ttl != ttl:
        cache = TTLCache(maxsize=CACHE_MAX, ttl=ttl)
        current_app.extensions["gridmap.aggregates"] = cache
    return cache


def cached_json(kind: str, scope: scopes.Scope, compute: Callable[[], Any]) -> Response:
    """``compute()`` as JSON, reused for identical requests of the same scope for a while."""
    default = 0.0 if current_app.testing else AGGREGATE_CACHE_SECONDS
    ttl = float(current_app.config.get("AGGREGATE_CACHE_SECONDS", default))
    if ttl <= 0:
        return json_response(compute())
    key = (kind, scope, request.query_string, current_app.config.get("HEAT_POINT_THRESHOLD"))
    with _CACHE_LOCK:
        cache = _cache(ttl)
        body = cache.get(key)
    if body is None:
        body = compute()
        with _CACHE_LOCK:
            cache[key] = body
    resp = json_response(body)
    resp.headers["Cache-Control"] = f"private, max-age={int(ttl)}"
    return resp
