"""Analysis API (#17 §4): ``/api/analysis/ehsa`` (emerging hot spots of the grids in the
caller's area), ``/api/analysis/pai`` (PAI and hit rate of last period's hot spots) and grid
plans balanced on workload (``/api/analysis/balance``, ``autopartition``, ``rebalance``).

Thin: parameters → :mod:`gridmap.analysis` → JSON, with class labels and explanations in the
session's language; cached briefly per scope like the other aggregates.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from gridmap import grids, messages
from gridmap.analysis import accuracy, report
from gridmap.analysis.ehsa import CLASSES
from gridmap.grids import workload
from gridmap.grids.partition import PartitionParams
from web import db, i18n
from web.access import actor, current_scope, roles_required, settings
from web.api import analysis_schemas as schemas
from web.api.common import cached_json, json_response
from web.api.parsing import use

bp = Blueprint("analysis", __name__)

READ_ROLES = ("supervisor", "officer")  # admin passes every role check


def legend(lang: str) -> list[dict[str, str]]:
    """Every class with its label and explanation in ``lang`` (and English)."""
    return [{"code": c, "label": messages.render(f"analysis.class.{c}", None, lang),
             "label_en": messages.render(f"analysis.class.{c}", None, "en"),
             "description": messages.render(f"analysis.desc.{c}", None, lang)}
            for c in CLASSES]


@bp.get("/api/analysis/ehsa")
@roles_required(*READ_ROLES)
@use(schemas.EhsaQuery)
def ehsa(args: dict[str, Any]) -> Response:
    """Emerging hot spots of the active grids in the caller's area.

    Gi* per week or month with Benjamini–Hochberg FDR, Mann-Kendall trend of each grid's
    z series, ESRI classes (docs/analysis.md). Returns ``summary``, ``legend`` and ``grids``
    (one row per grid) or, with ``geometry=true``, ``features`` (the classified grids).
    """
    scope = current_scope()
    lang = i18n.current_language()
    params = report.params_from(settings(), time_lag=args.get("time_lag"))

    def compute() -> dict[str, Any]:
        with db.read() as conn:
            streets = report.street_ids_for(conn, [args["street"]]) if args.get("street") else None
            cats = [c for c in (args.get("category") or "").split(",") if c]
            run = report.run(conn, args["step"], args.get("start"), args.get("end"),
                             street_ids=streets, community_ids=scope.ids(), params=params,
                             filters={"categories": cats} if cats else None)
            body: dict[str, Any] = {"summary": report.summary(run), "legend": legend(lang)}
            if args["geometry"]:
                body["features"] = report.features(conn, run)
            else:
                body["grids"] = report.rows(run)
        return body

    return cached_json(f"ehsa:{lang}", scope, compute)


@bp.get("/api/analysis/pai")
@roles_required(*READ_ROLES)
@use(schemas.PaiQuery)
def pai(args: dict[str, Any]) -> Response:
    """PAI and hit rate of last period's hot spots for this period's cases.

    Hit rate = share of this period's cases in last period's hot grids; PAI = hit rate ÷
    share of the area those grids cover (1 = no better than even patrols). ``gi``: Gi*
    hotspot grids of last period's cases; ``ehsa``: emerging hot spots hot in last period.
    """
    scope = current_scope()
    methods = accuracy.METHODS if args["method"] == "both" else (args["method"],)
    params = report.params_from(settings())

    def compute() -> dict[str, Any]:
        with db.read() as conn:
            streets = report.street_ids_for(conn, [args["street"]]) if args.get("street") else None
            return {"items": [accuracy.hotspot_accuracy(
                conn, m, args["step"], args.get("end"), street_ids=streets,
                community_ids=scope.ids(), params=params) for m in methods]}

    return cached_json("pai", scope, compute)


# --------------------------------------------------------------------------- workload

EDITORS = ("officer", "admin")


def _partition_params() -> PartitionParams:
    s = settings()
    return PartitionParams(households_min=s.grid_households_min,
                           households_max=s.grid_households_max)


@bp.get("/api/analysis/balance")
@roles_required()
@use(schemas.BalanceQuery)
def balance(args: dict[str, Any]) -> Response:
    """Both balances of a grid plan: households (range, spread) and the second target.

    ``per_grid`` lists each grid's households and workload (cases per month over the last
    12 months, or metres of street to patrol).
    """
    with db.read() as conn:
        body = workload.plan_balance(conn, args["version"], args["target"],
                                     _partition_params())
    return json_response({"version": args["version"], **body})


@bp.post("/api/analysis/autopartition")
@roles_required(*EDITORS)
@use(schemas.WorkloadPartitionBody, "json")
def autopartition(body: dict[str, Any]) -> Response:
    """A new draft plan balanced on households (hard range) and a second target."""
    p = _partition_params()
    with db.write() as conn:
        vid = grids.auto_partition(conn, body["community_id"], seed=body["seed"], params=p,
                                   actor=actor(), second_target=body["target"])
        out = {"version": grids.get_version(conn, vid),
               "balance": workload.plan_balance(conn, vid, body["target"], p)}
    return json_response(out, 201)


@bp.post("/api/analysis/rebalance")
@roles_required(*EDITORS)
@use(schemas.WorkloadRebalanceBody, "json")
def rebalance(body: dict[str, Any]) -> Response:
    """Rebalance a draft on households (hard range) and a second target (one undo step)."""
    p = _partition_params()
    with db.write() as conn:
        res = grids.rebalance(conn, body["version_id"], actor=actor(), params=p,
                              expected_lock_version=body.get("lock_version"),
                              second_target=body["target"])
        res["balance"] = workload.plan_balance(conn, body["version_id"], body["target"], p)
    return json_response(res)
