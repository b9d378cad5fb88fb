"""``GET /api/openapi.json``: OpenAPI 3.1 description of the ``/api`` and ``/open311`` endpoints.

Hand-written: the source of truth for clients. ``tests/test_web_openapi.py`` checks
that every registered ``/api`` and ``/open311`` route is described here, so the
document cannot silently fall behind the code. Endpoints owned by other modules
(layers, grids, coverage) are described from their routes' docstrings when the
hand-written part does not cover them.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

bp = Blueprint("openapi", __name__, url_prefix="/api")

_ERR = {"$ref": "#/components/responses/Error"}


def _q(name: str, desc: str, schema: dict[str, Any] | None = None, required: bool = False) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": desc,
        "schema": schema or {"type": "string"},
    }


def _p(name: str, desc: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": desc,
            "schema": {"type": "integer"}}


FILTERS = [
    _q("bbox", "minlon,minlat,maxlon,maxlat (WGS84); at most 2 degrees a side"),
    _q("window", "time window", {"type": "string", "enum": ["24h", "7d", "30d", "custom", "all"]}),
    _q("start", "window start (ISO 8601), implies window=custom", {"type": "string", "format": "date-time"}),
    _q("end", "window end (ISO 8601)", {"type": "string", "format": "date-time"}),
    _q("category", "event category codes, comma-separated (see /open311/v2/services.json)"),
    _q("status", "internal case states, comma-separated"),
    _q("urgency", "urgency levels, comma-separated"),
    _q("source", "intake sources, comma-separated"),
    _q("grid_id", "only this grid", {"type": "integer"}),
]
PAGING = [
    _q("page", "1-based page number", {"type": "integer", "minimum": 1}),
    _q("page_size", "features per page (max 500)", {"type": "integer", "minimum": 1, "maximum": 500}),
]


def _ok(desc: str, schema: dict[str, Any] | None = None) -> dict:
    return {"description": desc,
            "content": {"application/json": {"schema": schema or {"type": "object"}}}}


def _errors(*codes: int) -> dict:
    return {str(c): _ERR for c in codes}


def spec() -> dict[str, Any]:
    """The OpenAPI document (a plain dict)."""
    fc = {"$ref": "#/components/schemas/IncidentCollection"}
    paths: dict[str, Any] = {
        "/api/locate": {"get": {
            "summary": "Locate a point: street, community, estate, building and grid",
            "tags": ["incidents"],
            "parameters": [
                _q("lon", "longitude (WGS84)", {"type": "number"}, True),
                _q("lat", "latitude (WGS84)", {"type": "number"}, True),
                _q("at", "time (grid version active then); default now", {"type": "string", "format": "date-time"}),
            ],
            "responses": {"200": _ok("assignment", {"$ref": "#/components/schemas/Location"}),
                          **_errors(400)},
        }},
        "/api/incidents": {
            "get": {
                "summary": "Incidents in a bbox, filtered, paginated (GeoJSON)",
                "tags": ["incidents"], "security": [{"session": []}],
                "parameters": FILTERS + PAGING,
                "responses": {"200": _ok("a page of incidents", fc), **_errors(400, 401, 403)},
            },
            "post": {
                "summary": "Create an incident (located into street/community/estate/building/grid)",
                "tags": ["incidents"], "security": [{"session": [], "csrf": []}],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/IncidentInput"}}}},
                "responses": {"201": _ok("the created incident (GeoJSON Feature)"),
                              **_errors(400, 401, 403, 413)},
            },
        },
        "/api/incidents/{incident_id}": {"get": {
            "summary": "One incident with its transition history",
            "tags": ["incidents"], "security": [{"session": []}],
            "parameters": [_p("incident_id", "incident id")],
            "responses": {"200": _ok("GeoJSON Feature"), **_errors(401, 403, 404)},
        }},
        "/api/incidents/{incident_id}/transitions": {"post": {
            "summary": "Move a case to another state (only legal transitions)",
            "tags": ["incidents"], "security": [{"session": [], "csrf": []}],
            "parameters": [_p("incident_id", "incident id")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["to"],
                "properties": {"to": {"type": "string"}, "note": {"type": "string", "maxLength": 2000}},
            }}}},
            "responses": {"200": _ok("the incident after the transition"),
                          **_errors(400, 401, 403, 404, 409)},
        }},
        "/api/incidents/overdue": {"get": {
            "summary": "Open cases past their deadline, most overdue first",
            "tags": ["incidents"], "security": [{"session": []}],
            "parameters": FILTERS + PAGING,
            "responses": {"200": _ok("a page of overdue incidents", fc), **_errors(400, 401, 403)},
        }},
        "/api/incidents/to-confirm": {"get": {
            "summary": "Cases near a grid boundary or outside every grid, location unconfirmed",
            "description": "Open incidents flagged near_boundary or placed in the nearest grid "
                           "(属地兜底) that no supervisor has confirmed yet, in the viewer's area.",
            "tags": ["incidents"], "security": [{"session": []}],
            "parameters": FILTERS + PAGING,
            "responses": {"200": _ok("a page of incidents to confirm", fc),
                          **_errors(400, 401, 403)},
        }},
        "/api/incidents/{incident_id}/location": {
            "get": {
                "summary": "The grids an incident may be confirmed in (nearest active grids)",
                "tags": ["incidents"], "security": [{"session": []}],
                "parameters": [_p("incident_id", "incident id")],
                "responses": {"200": _ok("current grid and candidates (grid_id, grid_code, "
                                         "inside, distance_m, current)"),
                              **_errors(401, 403, 404)},
            },
            "post": {
                "summary": "Confirm the incident's grid or move it to a candidate grid",
                "description": "Supervisors of the area (and admins). Closed cases can be "
                               "confirmed, not moved. Recorded in the audit log.",
                "tags": ["incidents"], "security": [{"session": [], "csrf": []}],
                "parameters": [_p("incident_id", "incident id")],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object",
                    "properties": {"grid_id": {"type": "integer"},
                                   "note": {"type": "string", "maxLength": 2000}},
                }}}},
                "responses": {"200": _ok("the incident after confirmation"),
                              **_errors(400, 401, 403, 404, 409)},
            },
        },
        "/api/aggregates/heat": {"get": {
            "summary": "Heatmap data: raw points below a threshold, else per-cell counts",
            "description": "Cells are H3 at a resolution chosen from zoom. intensity = cell density "
                           "(incidents per km2) / a fixed reference density, clipped to 1, so colours "
                           "mean the same at every zoom.",
            "tags": ["aggregates"], "security": [{"session": []}],
            "parameters": FILTERS + [_q("zoom", "map zoom 0-22", {"type": "integer"})],
            "responses": {"200": _ok("points or cells", {"$ref": "#/components/schemas/Heat"}),
                          **_errors(400, 401, 403)},
        }},
        "/api/aggregates/grids": {"get": {
            "summary": "Per-grid indicators (结案率, 按期结案率, 超期未结) as GeoJSON for a choropleth",
            "tags": ["aggregates"], "security": [{"session": []}],
            "parameters": FILTERS[:4],
            "responses": {"200": _ok("FeatureCollection of grids"), **_errors(400, 401, 403)},
        }},
        "/api/hotspots": {"get": {
            "summary": "Significantly high grids or cells (Getis-Ord Gi*)",
            "tags": ["aggregates"], "security": [{"session": []}],
            "parameters": [_q("level", "grid or h3", {"type": "string", "enum": ["grid", "h3"]})] + FILTERS,
            "responses": {"200": _ok("hotspots"), **_errors(400, 401, 403)},
        }},
        "/api/openapi.json": {"get": {
            "summary": "This document", "tags": ["meta"],
            "responses": {"200": _ok("OpenAPI 3.1 document")},
        }},
        "/supervisor/api/grids/{grid_id}": {"get": {
            "summary": "A grid's indicators and open cases (supervisor page)",
            "tags": ["supervisor"], "security": [{"session": []}],
            "parameters": [_p("grid_id", "grid id")] + FILTERS[1:4],
            "responses": {"200": _ok("grid summary"), **_errors(400, 401, 403, 404)},
        }},
        "/open311/v2/services.json": {"get": {
            "summary": "GeoReport v2 service list (event categories)", "tags": ["open311"],
            "responses": {"200": _ok("services", {"type": "array", "items": {"type": "object"}})},
        }},
        "/open311/v2/services.xml": {"get": {
            "summary": "GeoReport v2 service list as XML", "tags": ["open311"],
            "responses": {"200": {"description": "services",
                                  "content": {"application/xml": {"schema": {"type": "string"}}}}},
        }},
        "/open311/v2/requests.json": {
            "get": {
                "summary": "GeoReport v2 service requests (public fields only)", "tags": ["open311"],
                "parameters": [
                    _q("service_request_id", "ids, comma-separated"),
                    _q("service_code", "category codes, comma-separated"),
                    _q("start_date", "ISO 8601", {"type": "string", "format": "date-time"}),
                    _q("end_date", "ISO 8601", {"type": "string", "format": "date-time"}),
                    _q("status", "open or closed", {"type": "string", "enum": ["open", "closed"]}),
                    _q("page", "page (1000 per page)", {"type": "integer"}),
                ],
                "responses": {"200": _ok("requests", {"type": "array", "items": {
                    "$ref": "#/components/schemas/ServiceRequest"}}), "400": {"$ref": "#/components/responses/Open311Error"}},
            },
            "post": {
                "summary": "Create a service request (api_key, or session + CSRF token)",
                "tags": ["open311"], "security": [{"api_key": []}, {"session": [], "csrf": []}],
                "requestBody": {"required": True, "content": {
                    "application/x-www-form-urlencoded": {"schema": {"$ref": "#/components/schemas/Open311Create"}},
                    "application/json": {"schema": {"$ref": "#/components/schemas/Open311Create"}},
                }},
                "responses": {
                    "201": _ok("[{service_request_id}]"),
                    **{str(c): {"$ref": "#/components/responses/Open311Error"} for c in (400, 401, 403, 413)},
                },
            },
        },
        "/open311/v2/requests/{service_request_id}.json": {"get": {
            "summary": "One service request (a one-element list)", "tags": ["open311"],
            "parameters": [_p("service_request_id", "incident id")],
            "responses": {"200": _ok("[request]"), "404": {"$ref": "#/components/responses/Open311Error"}},
        }},
    }
    _add_undocumented_routes(paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "gridmap API",
            "version": "0.1.0",
            "description": "Grid management (网格化管理): incidents, aggregates, layers, Open311 "
                           "GeoReport v2. Errors: JSON {error, problems[]} (Open311: [{code, description}]). "
                           "Bad parameters 400, not logged in 401, role 403, unknown id 404, illegal "
                           "transition 409, body too large 413. Browser sessions send X-CSRFToken on "
                           "every state-changing request.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRFToken"},
                "api_key": {"type": "apiKey", "in": "query", "name": "api_key",
                            "description": "Open311 client key (form field api_key or X-API-Key header)"},
            },
            "responses": {
                "Error": {"description": "error", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["error"],
                    "properties": {"error": {"type": "string"}, "problems": {"type": "array", "items": {
                        "type": "object", "properties": {
                            "reason": {"type": "string"}, "field": {"type": "string"},
                            "row": {"type": "integer"}, "severity": {"type": "string"}}}}},
                }}}},
                "Open311Error": {"description": "GeoReport error list", "content": {"application/json": {
                    "schema": {"type": "array", "items": {"type": "object", "properties": {
                        "code": {"type": "integer"}, "description": {"type": "string"}}}}}}},
            },
            "schemas": {
                "Location": {"type": "object", "properties": {
                    k: {"type": ["string", "integer", "number", "boolean", "null"]} for k in (
                        "street_code", "street_name", "community_code", "community_name",
                        "estate_id", "estate_name", "building_id", "grid_id", "grid_code",
                        "near_boundary", "distance_m")}},
                "IncidentInput": {"type": "object", "required": ["category", "lon", "lat"], "properties": {
                    "category": {"type": "string"}, "lon": {"type": "number"}, "lat": {"type": "number"},
                    "description": {"type": "string"}, "urgency": {"type": "string"},
                    "source": {"type": "string"}, "reported_at": {"type": "string", "format": "date-time"},
                    "reporter_name": {"type": "string"}, "reporter_phone": {"type": "string"},
                    "external_id": {"type": "string"}, "media_url": {"type": "string"}}},
                "IncidentCollection": {"type": "object", "properties": {
                    "type": {"const": "FeatureCollection"}, "features": {"type": "array"},
                    "page": {"type": "integer"}, "page_size": {"type": "integer"},
                    "total": {"type": "integer"}}},
                "Heat": {"type": "object", "properties": {
                    "mode": {"type": "string", "enum": ["points", "h3", "grid"]},
                    "total": {"type": "integer"},
                    "points": {"type": "array", "items": {"type": "array"}},
                    "cells": {"type": "array", "items": {"type": "object"}}}},
                "ServiceRequest": {"type": "object", "properties": {
                    k: {"type": ["string", "number", "null"]} for k in (
                        "service_request_id", "status", "status_notes", "service_name", "service_code",
                        "description", "agency_responsible", "service_notice", "requested_datetime",
                        "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
                        "lat", "long", "media_url")}},
                "Open311Create": {"type": "object", "required": ["service_code", "lat", "long"],
                                  "properties": {k: {"type": "string"} for k in (
                                      "api_key", "service_code", "lat", "long", "address_string",
                                      "description", "media_url", "first_name", "last_name", "phone",
                                      "email", "external_id")}},
            },
        },
    }


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", r"{\1}", rule)


def _add_undocumented_routes(paths: dict[str, Any]) -> None:
    """Describe other modules' /api routes from their docstrings (minimal entries)."""
    try:
        rules = list(current_app.url_map.iter_rules())
    except RuntimeError:
        return
    for rule in rules:
        if not rule.rule.startswith(("/api/", "/open311/")):
            continue
        path = _openapi_path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            entry = paths.setdefault(path, {})
            if method.lower() in entry:
                continue
            view = current_app.view_functions.get(rule.endpoint)
            doc = (view.__doc__ or rule.endpoint).strip().splitlines()[0] if view else rule.endpoint
            params = [_p(a, a) for a in sorted(rule.arguments)]
            entry[method.lower()] = {
                "summary": doc, "tags": [rule.endpoint.split(".")[0]],
                **({"parameters": params} if params else {}),
                "responses": {"200": _ok("see docs/api.md"), **_errors(400)},
            }


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """The OpenAPI 3.1 document."""
    return jsonify(spec())
