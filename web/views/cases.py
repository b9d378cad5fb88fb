"""Case workspace pages (issue #14): the case list (filter bar, sortable table, paging,
export, clustered markers following the list), the case page (map around the case, all
fields, timeline, photos, comments, the steps this user may take as buttons), 我的待办 and
a community's 三张清单.

HTML skeletons only: the browser fetches everything from ``/api/cases``
(``static/cases/*.js``); every string from data reaches the DOM as text.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from gridmap import incidents, mapdata
from gridmap.cases import search, worklist
from gridmap.cases.lists import communities
from web import db, i18n
from web.access import current_scope, roles_required
from web.views import maps
from web.views.cases_text import MESSAGES

bp = Blueprint("cases", __name__, url_prefix="/cases")
ROLES = ("staff", "supervisor", "officer")   # admin passes every role check
i18n.register(MESSAGES)


def _categories(lang: str) -> list[dict[str, str]]:
    with db.read() as conn:
        cats = incidents.categories(conn)
    return [{"code": c["code"], "label": c["name_zh"] if lang == "zh" else c["name_en"]}
            for c in cats if c.get("parent_code")]


@bp.get("")
@roles_required(*ROLES)
def page() -> str:
    """The case list (data from /api/cases)."""
    scope = current_scope()
    lang = i18n.current_language()
    with db.read() as conn:
        extent = mapdata.extent(conn, scope.ids())
        comms = communities(conn, scope)
    parts = maps.build_map(plugins=("markercluster",), bounds=extent)
    return render_template(
        "cases/list.html", map=parts, categories=_categories(lang), communities=comms,
        statuses=i18n.labels("state", incidents.STATES),
        urgencies=i18n.labels("urgency", incidents.URGENCIES),
        sources=i18n.labels("source", incidents.SOURCES),
        levels=i18n.labels("cases.level", search.LEVELS),
        lights=i18n.labels("cases.light", search.LIGHTS),
        sorts=list(search.SORTS),
        page_config={"display": parts.display})


@bp.get("/<int:incident_id>")
@roles_required(*ROLES)
def case_page(incident_id: int) -> str:
    """One case (data from /api/cases/<id>; 404/403 shown by the page script)."""
    parts = maps.build_map(zoom=17)
    return render_template("cases/case.html", map=parts,
                           page_config={"id": incident_id, "display": parts.display})


@bp.get("/todo")
@roles_required(*ROLES)
def todo() -> str:
    """我的待办 (data from /api/cases/worklist)."""
    return render_template("cases/todo.html", buckets=list(worklist.BUCKETS),
                           page_config={"buckets": list(worklist.BUCKETS)})


@bp.get("/lists")
@roles_required(*ROLES)
def three_lists() -> str:
    """三张清单 of a community (picked on the page; data from /api/cases/lists/<id>)."""
    with db.read() as conn:
        comms = communities(conn, current_scope())
    return render_template("cases/lists.html", communities=comms,
                           page_config={"communities": [c["id"] for c in comms]})
