"""``GET /api/openapi.json``: the OpenAPI 3.1 document of the ``/api`` and ``/open311`` routes.

Generated, not hand-written: apispec walks the Flask URL map; each route's summary and
description come from its view's docstring, its parameters and request body from the
marshmallow schemas it parses with (:mod:`web.api.parsing` records them on the view), its
security from :func:`web.access.roles_required`. ``tests/web/api/test_openapi.py`` checks
that every registered route is described.
"""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, Response, current_app, jsonify
from werkzeug.routing import Rule

from web.api import fields

bp = Blueprint("openapi", __name__, url_prefix="/api")

TITLE = "gridmap API"
DESCRIPTION = (
    "Grid management (网格化管理): incidents, aggregates, layers, grid plans, planning, "
    "Open311 GeoReport v2. Errors: JSON {error, code, params, problems[]} (Open311: "
    "[{code, description}]); texts in the session's language, problems keep reason_en. "
    "Bad parameters 400 (every bad field listed), not logged in 401, role or area 403, "
    "unknown id 404, conflict or illegal transition 409, body too large 413. Browser "
    "sessions send X-CSRFToken on every state-changing request.")
_ERROR = {"$ref": "#/components/responses/Error"}
_OPEN311_ERROR = {"$ref": "#/components/responses/Open311Error"}
_COMPONENTS: dict[str, Any] = {
    "securitySchemes": {
        "session": {"type": "apiKey", "in": "cookie", "name": "session"},
        "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRFToken"},
        "api_key": {"type": "apiKey", "in": "query", "name": "api_key",
                    "description": "Open311 client key (form field api_key or X-API-Key header)"},
    },
    "responses": {
        "Error": {"description": "error", "content": {"application/json": {"schema": {
            "type": "object", "required": ["error"],
            "properties": {
                "error": {"type": "string"}, "code": {"type": "string"},
                "params": {"type": "object"},
                "problems": {"type": "array", "items": {"type": "object", "properties": {
                    "code": {"type": "string"}, "params": {"type": "object"},
                    "reason": {"type": "string"}, "reason_en": {"type": "string"},
                    "field": {"type": "string"}, "row": {"type": "integer"},
                    "severity": {"type": "string"}}}}}}}}},
        "Open311Error": {"description": "GeoReport error list", "content": {"application/json": {
            "schema": {"type": "array", "items": {"type": "object", "properties": {
                "code": {"type": "integer"}, "description": {"type": "string"}}}}}}},
    },
}
_CREATED = {"post"}


def openapi_path(rule: str) -> str:
    """``/x/<int:id>`` → ``/x/{id}``."""
    return re.sub(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", r"{\1}", rule)


def _doc(view: Any, endpoint: str) -> tuple[str, str]:
    text = (view.__doc__ or endpoint).strip() if view else endpoint
    first, _, rest = text.partition("\n\n")
    return " ".join(first.split()), rest.strip()


def _operation(app: Flask, rule: Rule, method: str) -> dict[str, Any]:
    view = app.view_functions.get(rule.endpoint)
    summary, description = _doc(view, rule.endpoint)
    open311 = rule.rule.startswith("/open311/")
    op: dict[str, Any] = {"summary": summary, "tags": [rule.endpoint.split(".")[0]]}
    if description:
        op["description"] = description
    params: list[dict[str, Any]] = [
        {"name": a, "in": "path", "required": True,
         "schema": {"type": "integer" if f"<int:{a}>" in rule.rule else "string"}}
        for a in sorted(rule.arguments)]
    for schema, location in getattr(view, "gm_args", []):
        if location == "query":
            params.append({"in": "query", "schema": schema})
        else:
            types = (["application/json", "application/x-www-form-urlencoded"]
                     if location == "json_or_form" else ["application/json"])
            op["requestBody"] = {"required": True,
                                 "content": {t: {"schema": schema} for t in types}}
    if params:
        op["parameters"] = params
    roles = getattr(view, "gm_roles", None)
    state_changing = method in ("post", "put", "patch", "delete")
    if open311 and state_changing:
        op["security"] = [{"api_key": []}, {"session": [], "csrf": []}]
    elif roles is not None:
        op["security"] = [{"session": [], "csrf": []} if state_changing else {"session": []}]
    ok = "201" if method in _CREATED and rule.endpoint.endswith(
        ("create_incident", "create_request", "create_draft", "autopartition", "revert",
         "create_unit", "create_assignment")) else "200"
    err = _OPEN311_ERROR if open311 else _ERROR
    op["responses"] = {ok: {"description": "success"},
                       **{str(c): err for c in (400, 401, 403, 404, 409, 413)}}
    return op


def build(app: Flask) -> dict[str, Any]:
    """The OpenAPI document of ``app``'s ``/api`` and ``/open311`` routes."""
    plugin = MarshmallowPlugin()
    spec = APISpec(title=TITLE, version="0.1.0", openapi_version="3.1.0",
                   plugins=[plugin], info={"description": DESCRIPTION})
    for cls in (fields.BBox, fields.CSV, fields.IdList):
        plugin.map_to_openapi_type(cls, "string", None)
    for kind, items in _COMPONENTS.items():
        for name, body in items.items():
            if kind == "securitySchemes":
                spec.components.security_scheme(name, body)
            else:
                spec.components.response(name, body)
    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
    for rule in rules:
        if not rule.rule.startswith(("/api/", "/open311/", "/supervisor/api/")):
            continue
        methods = sorted(m.lower() for m in (rule.methods or set()) - {"HEAD", "OPTIONS"})
        spec.path(path=openapi_path(rule.rule),
                  operations={m: _operation(app, rule, m) for m in methods})
    return spec.to_dict()


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """This document (OpenAPI 3.1)."""
    doc = current_app.extensions.get("gridmap.openapi")
    if doc is None:
        doc = current_app.extensions["gridmap.openapi"] = build(current_app)
    return jsonify(doc)

