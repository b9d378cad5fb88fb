"""The district dashboard (一屏观天下, issue #17 §3): KPIs with trend lines, rankings, recent
urgent cases and map layers of one area (district, street, community or grid) inside the
viewer's scope. The page (``/dashboard``), the API (``/api/dashboard/*``) and the CLI
(``gridmap dashboard kpis``) call the same functions.
"""

from gridmap.dashboard.access import check_view, may_view
from gridmap.dashboard.areas import Area, resolve
from gridmap.dashboard.params import DashboardParams
from gridmap.dashboard.payload import area_shapes, clear_cache, first_paint, heat

__all__ = ["Area", "DashboardParams", "area_shapes", "check_view", "clear_cache", "first_paint",
           "heat", "may_view", "resolve"]
