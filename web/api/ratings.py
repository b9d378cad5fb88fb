"""JSON API of the committee star ratings (星级测评, issue #17 §1): ``/api/ratings/*``.

Reading (scheme, table, map, distribution, XLSX, printable report, audit) needs a login;
computing, entering and confirming need a rater (:func:`gridmap.ratings.rater_for`: the
library decides the level, the stars allowed and the area).
"""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, Response

from gridmap import ratings
from gridmap.ratings import actions, export, results, scheme
from web import db
from web.access import current_user, roles_required
from web.api import ratings_schemas as schemas
from web.api.common import json_response, jsonable, shift_geometries
from web.api.parsing import use
from web.i18n import current_language

bp = Blueprint("ratings_api", __name__, url_prefix="/api/ratings")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _result(r: ratings.Result, lang: str) -> dict[str, Any]:
    return {"code": r.committee.code, "name": r.committee.name, "stars": r.stars,
            "score": r.score, "complete": r.complete,
            "reasons": [p.render(lang) for p in r.reasons]}


def _row(r: dict[str, Any]) -> dict[str, Any]:
    keys = ("rank", "community_id", "rating_id", "code", "name", "street_code", "street_name",
            "status", "stars", "computed_stars", "score", "complete", "prev_stars", "change",
            "confirmed_by", "confirmed_level", "confirmed_at", "note", "criteria")
    return {**{k: jsonable(r.get(k)) for k in keys}, "reasons": r["reason_texts"]}


@bp.get("/scheme")
@roles_required()
@use(schemas.SchemeQuery)
def scheme_get(args: dict[str, Any]) -> Response:
    """The scheme of a year (or the shipped default): criteria, weights, caps, tags."""
    if args.get("year") is None:
        sch = scheme.default_scheme()
    else:
        with db.read() as conn:
            sch = scheme.scheme_for(conn, args["year"])[1]
    return json_response(sch.as_dict())


@bp.get("/table")
@roles_required()
@use(schemas.TableQuery)
def table(args: dict[str, Any]) -> Response:
    """Every committee of the round (or street) with stars, score, status, change, rank and
    the reasons in the session language."""
    with db.read() as conn:
        rows = results.table(conn, args["year"], args["round"], street_code=args.get("street"),
                             lang=current_language())
    return json_response({"items": [_row(r) for r in rows]})


@bp.get("/map")
@roles_required()
@use(schemas.MapQuery)
def star_map(args: dict[str, Any]) -> Response:
    """The star map: committees as GeoJSON with stars and reasons (texts)."""
    with db.read() as conn:
        fc = results.map_features(conn, args["year"], args["round"],
                                  street_code=args.get("street"), lang=current_language())
    if args["display"] == "gcj02":
        fc = shift_geometries(fc)
    return json_response(fc)


@bp.get("/distribution")
@roles_required()
@use(schemas.RoundQuery)
def distribution(args: dict[str, Any]) -> Response:
    """Stars per street and district against the target (5★ 10 %, 3–4★ 70 %, …)."""
    with db.read() as conn:
        return json_response(results.distribution(conn, args["year"], args["round"]))


@bp.get("/export.xlsx")
@roles_required()
@use(schemas.TableQuery)
def export_xlsx(args: dict[str, Any]) -> Response:
    """The ratings and the distribution as an XLSX workbook."""
    buf = io.BytesIO()
    with db.read() as conn:
        export.write_xlsx(conn, args["year"], args["round"], buf,
                          street_code=args.get("street"), lang=current_language())
    name = f"ratings-{args['year']}-{args['round']}{'-' + args['street'] if args.get('street') else ''}"
    return Response(buf.getvalue(), mimetype=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{name}.xlsx"'})


@bp.get("/audit")
@roles_required()
@use(schemas.AuditQuery)
def audit(args: dict[str, Any]) -> Response:
    """A rating recomputed from what it froze, and per criterion the cases behind it."""
    with db.read() as conn:
        return json_response(jsonable(actions.audit(conn, args["id"])))


def _rater(conn: Any) -> ratings.Rater:
    return ratings.rater_for(conn, current_user())


@bp.post("/compute")
@roles_required()
@use(schemas.ComputeBody, "json")
def compute(body: dict[str, Any]) -> Response:
    """Compute the drafts of the caller's committees (confirmed ones stay frozen)."""
    lang = current_language()
    with db.write() as conn:
        res = ratings.compute_as(conn, _rater(conn), body["year"], body["round"],
                                 street_code=body.get("street"))
    return json_response({"items": [_result(r, lang) for r in res]})


@bp.post("/enter")
@roles_required()
@use(schemas.EnterBody, "json")
def enter(body: dict[str, Any]) -> Response:
    """Enter a value of an entered criterion (who and when are recorded)."""
    with db.write() as conn:
        res = ratings.enter(conn, _rater(conn), body["year"], body["round"], body["committee"],
                            body["criterion"], body["value"], body["evidence"])
    return json_response(_result(res, current_language()))


@bp.post("/confirm")
@roles_required()
@use(schemas.ConfirmBody, "json")
def confirm(body: dict[str, Any]) -> Response:
    """Confirm drafts: frozen with the cases behind them."""
    with db.write() as conn:
        done = ratings.confirm(conn, _rater(conn), body["year"], body["round"],
                               body["committees"], stars=body.get("stars"),
                               note=body.get("note"))
    return json_response({"items": done})
