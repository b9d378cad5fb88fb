"""Community profiles and capacity-aware access (issue #17): thin callers of
:mod:`gridmap.profiles` and :mod:`gridmap.access.fca_report`.

- ``GET /api/profiles/<code>?checkup=&sites=``: the profile of a community or street (人, 地,
  产/服务, 事, stars) and its life-circle check-up (体检报告). Roles planner, supervisor,
  officer, staff; only inside the caller's area.
- ``GET /api/profiles/<code>/xlsx``: the same as an XLSX workbook.
- ``GET /api/access/fca?type=&level=&decay=&catchment_m=&bbox=&zoom=``: estates or
  communities in the bbox with the 2SFCA supply per 1,000 residents of the type's target
  group (``per_1000``), plus the type's totals and the legend's reference value.
"""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, Response, jsonify, send_file

from gridmap import mapdata
from gridmap.access.fca import FCA_TARGETS, FcaParams
from gridmap.access.fca_report import fca_summary
from gridmap.profiles import ProfileParams, checkup, profile, profile_xlsx
from gridmap.profiles.checkup import CheckupParams
from web import db, i18n
from web.access import current_scope, roles_required
from web.api.common import feature_collection, settings
from web.api.parsing import use
from web.api.profiles_schemas import FcaQuery, ProfileExportQuery, ProfileQuery

bp = Blueprint("profiles_api", __name__, url_prefix="/api/profiles")
fca_bp = Blueprint("fca_api", __name__, url_prefix="/api/access")

ROLES = ("planner", "supervisor", "officer", "staff")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def load(code: str, sites: int, with_checkup: bool = True
         ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The profile and (when coverage exists and asked for) the check-up, in the caller's
    area."""
    allowed = current_scope().community_ids
    s = settings()
    with db.read() as conn:
        prof = profile(conn, code, allowed=allowed, params=ProfileParams.from_settings(s))
        check = None
        if with_checkup and prof["services"].get("computed"):
            check = checkup(conn, code, allowed=allowed,
                            params=CheckupParams.from_settings(s, sites=sites))
    return prof, check


@bp.get("/<code>")
@roles_required(*ROLES)
@use(ProfileQuery)
def get_profile(args: dict[str, Any], code: str) -> Response:
    """The profile (人/地/产/事/星级) of a community or street and its 体检报告."""
    prof, check = load(code, args["sites"], args["checkup"])
    return jsonify({"profile": prof, "checkup": check})


@bp.get("/<code>/xlsx")
@roles_required(*ROLES)
@use(ProfileExportQuery)
def get_profile_xlsx(args: dict[str, Any], code: str) -> Response:
    """The profile and its check-up as an XLSX workbook."""
    prof, check = load(code, args["sites"])
    data = profile_xlsx(prof, check, lang=i18n.current_language())
    return send_file(io.BytesIO(data), as_attachment=True,
                     download_name=f"profile-{prof['area']['code']}.xlsx", mimetype=XLSX)


@fca_bp.get("/fca")
@roles_required("planner", "supervisor")
@use(FcaQuery)
def fca_layer(args: dict[str, Any]) -> Response:
    """Units in the bbox with the 2SFCA supply per 1,000 of the type's target group."""
    over: dict[str, Any] = {"catchment_m": args["catchment_m"]}
    if args["decay"]:
        over["decay"] = args["decay"]
    params = FcaParams.from_settings(settings(), **over)
    level, code = args["level"], args["type"]
    with db.read() as conn:
        [res] = fca_summary(conn, level, code, params=params)
        units = mapdata.units(conn, level, args["bbox"], args["zoom"])
    by_id = {r["unit_id"]: r for r in res.pop("rows")}
    for u in units:
        r = by_id.get(u["id"], {})
        u["per_1000"] = r.get("per_1000")
        u["ratio"] = round(r["per_1000"] / FCA_TARGETS[code], 3) if r else None
        u["population"] = r.get("population")
        u["estimated_share"] = r.get("estimated_share")
        u["facilities"] = r.get("facilities")
        u["capacity"] = r.get("capacity")
    return feature_collection(units, args["display"], summary=res,
                              target_per_1000=FCA_TARGETS[code])
