"""JSON API of the district dashboard (一屏观天下, issue #17 §3).

For supervisors, administrators and staff holding a 领导/值班长 post
(:func:`gridmap.dashboard.may_view`), each inside their area scope. The page
(``/dashboard``) draws from these three endpoints; the CLI (``gridmap dashboard kpis``) calls
the same library function as ``/api/dashboard/summary``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from gridmap import dashboard
from gridmap.config import params_from_settings
from web import db
from web.access import current_scope, current_user, roles_required
from web.api import dashboard_schemas as schemas
from web.api.common import json_response, settings, shift_geometries
from web.api.parsing import use

bp = Blueprint("dashboard_api", __name__, url_prefix="/api/dashboard")


def params() -> dashboard.DashboardParams:
    """The dashboard parameters from the app's settings."""
    return params_from_settings(dashboard.DashboardParams, settings())


@bp.get("/summary")
@roles_required()
@use(schemas.AreaQuery)
def summary(args: dict[str, Any]) -> Response:
    """Everything the dashboard paints first for one area: KPIs, trends, rankings, urgent cases.

    ``area`` (a street, community or grid code) narrows it (drill-down); without it, the
    caller's whole area. 403 for users who may not see the dashboard or an area outside
    their scope; 404 for an unknown code.
    """
    scope = current_scope()
    with db.read() as conn:
        dashboard.check_view(conn, current_user())
        body = dashboard.first_paint(conn, scope, args.get("area"), params())
    return json_response(body)


@bp.get("/areas")
@roles_required()
@use(schemas.AreaQuery)
def areas(args: dict[str, Any]) -> Response:
    """GeoJSON of the areas one level below ``area`` (click to drill down), with 星级 and
    life-circle coverage per area where computed."""
    scope = current_scope()
    with db.read() as conn:
        dashboard.check_view(conn, current_user())
        body = dashboard.area_shapes(conn, scope, args.get("area"),
                                     cache_seconds=params().dashboard_cache_seconds)
    if args["display"] == "gcj02":  # on an Amap/Tianditu basemap
        body = {**body, "features": shift_geometries(body["features"])}  # cached: no mutation
    return json_response(body)


@bp.get("/heat")
@roles_required()
@use(schemas.HeatQuery)
def heat(args: dict[str, Any]) -> Response:
    """Heat of the area's cases of the KPI period in ``bbox`` at ``zoom`` (points or H3 cells)."""
    scope = current_scope()
    with db.read() as conn:
        dashboard.check_view(conn, current_user())
        body = dashboard.heat(conn, scope, args.get("area"), params(), bbox=args["bbox"],
                              zoom=args["zoom"])
    return json_response(body)
