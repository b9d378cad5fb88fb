"""Planner page (15-minute life circle): a map skeleton; the data come from
``/api/layers`` and ``/api/planner`` by bbox (:mod:`web.api.planner`). Role ``planner``
(and admin).
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from gridmap import mapdata
from gridmap.access import inputs, service_areas
from web import db
from web.access import roles_required
from web.views import maps, planner_text  # noqa: F401 (registers the page's strings)

bp = Blueprint("planner", __name__)


@bp.get("/planner")
@roles_required("planner")
def page() -> str:
    """The planner map page."""
    with db.read() as conn:
        extent = mapdata.extent(conn)
        types = mapdata.facility_types(conn)
        radius = {c: i.radius_m for c, i in inputs.facility_types(
            conn, current_app.extensions["gridmap.settings"].walking_speed_m_per_min).items()}
        synthetic = mapdata.has_synthetic(conn)
    center = ((extent[1] + extent[3]) / 2, (extent[0] + extent[2]) / 2) if extent else None
    parts = maps.build_map(center=center, zoom=14, plugins=("vectorgrid",), bounds=extent)
    for ty in types:
        ty["radius_used"] = radius.get(ty["code"])
    return render_template("planner/page.html", map=parts, types=types, synthetic=synthetic,
                           minutes=service_areas.MINUTES)
