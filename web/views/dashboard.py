"""The district dashboard page (一屏观天下, issue #17 §3): ``/dashboard``.

A large-screen page (1920×1080, dark) that also fits a 1366×768 laptop: KPIs with trend lines
(Apache ECharts, vendored), the map (case heat, 星级, life-circle coverage), rankings of the
next level down and of handling units, recent 应急/重点 cases; auto-refresh; click a street
or community (map or ranking) to narrow everything to it, breadcrumb back. The page is a
skeleton; ``static/js/dashboard.js`` draws it from ``/api/dashboard/*``.
Who sees it: supervisors, administrators, staff with a 领导/值班长 post, each in their area.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, render_template, request

from gridmap import dashboard, mapdata
from gridmap.accounts.users import User
from web import db
from web.access import current_scope, current_user, roles_required
from web.api.dashboard import params
from web.i18n import current_language
from web.views import dashboard_text, maps

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
dashboard_text.register_messages()


@bp.record_once
def _setup(state: Any) -> None:
    state.app.jinja_env.globals["dashboard_allowed"] = dashboard_allowed


def dashboard_allowed(user: User | None) -> bool:
    """Whether the nav shows the dashboard link to ``user`` (once per request)."""
    if user is None:
        return False
    if "gm_dashboard_allowed" not in g:
        with db.read() as conn:
            g.gm_dashboard_allowed = dashboard.may_view(conn, user)
    return bool(g.gm_dashboard_allowed)


@bp.get("")
@roles_required()
def page() -> str:
    """The dashboard (HTML skeleton; data from /api/dashboard/*)."""
    scope = current_scope()
    with db.read() as conn:
        dashboard.check_view(conn, current_user())
        extent = mapdata.extent(conn, scope.ids())
    parts = maps.build_map(plugins=("heat",), bounds=extent)
    p = params()
    config = {"refresh": p.dashboard_refresh_seconds, "area": request.args.get("area") or "",
              "period_days": p.dashboard_period_days,
              "locale": "zh-CN" if current_language() == "zh" else "en"}
    return render_template("dashboard/index.html", map=parts, page_config=config)
