"""Planner page (15-minute life circle): a map skeleton; the data come from
``/api/layers`` and ``/api/planner`` by bbox (:mod:`web.api.planner`). Role ``planner``
(and admin).
"""

from __future__ import annotations

from flask import Blueprint, render_template

from gridmap import mapdata
from gridmap.access import service_areas
from web import db
from web.access import roles_required
from web.views import maps

bp = Blueprint("planner", __name__)


@bp.get("/planner")
@roles_required("planner")
def page() -> str:
    """The planner map page."""
    with db.read() as conn:
        extent = mapdata.extent(conn)
        types = mapdata.facility_types(conn)
        synthetic = mapdata.has_synthetic(conn)
    center = ((extent[1] + extent[3]) / 2, (extent[0] + extent[2]) / 2) if extent else None
    parts = maps.build_map(center=center, zoom=14, plugins=("vectorgrid",), bounds=extent)
    return render_template("planner/page.html", map=parts, types=types, synthetic=synthetic,
                           minutes=service_areas.MINUTES)
