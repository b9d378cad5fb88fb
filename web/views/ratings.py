"""Star-rating pages (星级测评, issue #17 §1): ``/ratings`` (star map, distribution against
the target, year-over-year change, ranking, XLSX) and ``/ratings/report`` (the printable
report of one street). Skeletons: ``static/js/ratings.js`` draws from ``/api/ratings/*``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, render_template, request
from markupsafe import Markup

from gridmap import mapdata, ratings
from gridmap.errors import GridmapError
from gridmap.ratings import export, results
from web import db
from web.access import current_scope, current_user, roles_required
from web.api.parsing import parse
from web.api.ratings_schemas import ReportQuery
from web.i18n import current_language
from web.views import maps, ratings_text

bp = Blueprint("ratings", __name__, url_prefix="/ratings")
ratings_text.register_messages()


def _is_rater(conn: Any) -> bool:
    try:
        ratings.rater_for(conn, current_user())
    except GridmapError:
        return False
    return True


@bp.get("")
@roles_required()
def page() -> str:
    """The ratings page (data from /api/ratings/*)."""
    scope = current_scope()
    with db.read() as conn:
        extent = mapdata.extent(conn, scope.ids())
        years = results.years(conn)
        streets = mapdata_streets(conn)
        rater = _is_rater(conn)
    this_year = dt.date.today().year
    years = sorted(set(years) | {this_year}, reverse=True)
    parts = maps.build_map(bounds=extent)
    config = {"years": years, "year": int(request.args.get("year") or years[0]),
              "round": request.args.get("round") or "acceptance",
              "street": request.args.get("street") or "", "rater": rater,
              "locale": "zh-CN" if current_language() == "zh" else "en"}
    return render_template("ratings/index.html", map=parts, page_config=config,
                           streets=streets, years=years, rounds=ratings.ROUNDS)


def mapdata_streets(conn: Any) -> list[tuple[str, str]]:
    """(code, name) of the streets that have committees."""
    return [(c.street_code, name) for c, name in _street_names(conn)]


def _street_names(conn: Any) -> list[tuple[ratings.store.Committee, str]]:
    seen: dict[str, Any] = {}
    for c in ratings.committees(conn):
        seen.setdefault(c.street_code, c)
    names = dict(results.street_names(conn, list(seen)))
    return [(c, names.get(code, code)) for code, c in sorted(seen.items())]


@bp.get("/report")
@roles_required()
def report() -> str:
    """The printable report of one street (print stylesheet)."""
    args = parse(ReportQuery)
    with db.read() as conn:
        title, body = export.report_body(conn, args["year"], args["round"], args["street"],
                                         lang=current_language())
    return render_template("ratings/report.html", title=title, body=Markup(body))  # noqa: S704 - escaped by the library
