"""Profile pages (社区画像 / 体检报告, issue #17 §2): ``/profiles`` lists the streets and
communities of the caller's area; ``/profiles/<code>`` shows one community or street —
the body is rendered (escaped) by :mod:`gridmap.profiles.html`, printable with the print
stylesheet, exportable as XLSX through ``/api/profiles/<code>/xlsx``."""

from __future__ import annotations

from flask import Blueprint, render_template
from markupsafe import Markup

from gridmap import mapdata
from gridmap.profiles.html import render_body
from web import db, i18n
from web.access import current_scope, roles_required
from web.api.profiles import ROLES, load

bp = Blueprint("profiles", __name__, url_prefix="/profiles")

i18n.register({
    "zh": {"profiles.title": "社区画像与体检报告", "profiles.print": "打印体检报告",
           "profiles.xlsx": "导出 XLSX", "profiles.list": "选择社区或街道",
           "profiles.open": "社区画像", "profiles.street": "街道",
           "fca.layer": "容量供需比", "fca.off": "不显示", "fca.decay": "距离衰减",
           "fca.decay.step": "阶梯（半径内同等）", "fca.decay.gaussian": "高斯（随距离递减）",
           "fca.legend": "每千名{group}{unit}", "fca.unit.places": "学位", "fca.unit.beds": "床位",
           "fca.group.age_0_3": "0-3岁婴幼儿", "fca.group.age_3_6": "3-6岁儿童",
           "fca.group.age_60_plus": "60岁以上老人", "fca.target": "参考值 {v}",
           "fca.none": "无服务人口", "fca.per_1000": "每千人供给", "fca.population": "服务人口",
           "fca.capacity": "区内容量", "fca.estimated": "其中估算",
           "fca.type.kindergarten": "幼儿园学位", "fca.type.nursery": "托育托位",
           "fca.type.nursing_home": "养老院床位", "fca.type.elderly_day_care": "日间照料床位"},
    "en": {"profiles.title": "Community profile and check-up",
           "profiles.print": "Print the check-up", "profiles.xlsx": "Export XLSX",
           "profiles.list": "Choose a community or street", "profiles.open": "Community profile",
           "profiles.street": "Street",
           "fca.layer": "Capacity per 1,000 (2SFCA)", "fca.off": "Off", "fca.decay": "Decay",
           "fca.decay.step": "Step (equal within the radius)",
           "fca.decay.gaussian": "Gaussian (falls with distance)",
           "fca.legend": "{unit} per 1,000 {group}", "fca.unit.places": "Places",
           "fca.unit.beds": "Beds", "fca.group.age_0_3": "children 0-3",
           "fca.group.age_3_6": "children 3-6", "fca.group.age_60_plus": "residents 60+",
           "fca.target": "reference {v}", "fca.none": "no target population",
           "fca.per_1000": "per 1,000", "fca.population": "Target population",
           "fca.capacity": "Capacity in unit", "fca.estimated": "estimated",
           "fca.type.kindergarten": "Kindergarten places", "fca.type.nursery": "Nursery places",
           "fca.type.nursing_home": "Nursing-home beds",
           "fca.type.elderly_day_care": "Day-care places"},
})


@bp.get("")
@roles_required(*ROLES)
def index() -> str:
    """Streets and communities of the caller's area, each linked to its profile."""
    with db.read() as conn:
        rows = mapdata.communities(conn, current_scope().ids())
    return render_template("profiles/index.html", communities=rows)


@bp.get("/<code>")
@roles_required(*ROLES)
def page(code: str) -> str:
    """The profile page of a community or street with its 体检报告 (printable)."""
    prof, check = load(code, 2)
    lang = i18n.current_language()
    body = Markup(render_body(prof, check, lang))  # noqa: S704 (every value escaped there)
    return render_template("profiles/page.html", body=body, area=prof["area"],
                           communities=prof["communities"])
