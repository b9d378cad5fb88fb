"""Chinese wording of the library's user-facing messages.

The library (``gridmap``) writes its error and validation messages in English; the pages
default to Simplified Chinese. This catalogue maps each message shape (a regular expression
over the whole English text) to a Chinese template using the same captured values, so an
officer sees 「网格 … 有 12.3 m² 超出社区范围」 instead of the English sentence. Messages that
already contain Chinese, and shapes not listed here, are shown as they are.

:func:`localise_problem` keeps the original under ``reason_en`` so API clients can rely on a
stable English text.
"""

from __future__ import annotations

import re
from typing import Any

_ZH: list[tuple[str, str]] = [
    # --- grid validation (officer page) --------------------------------------------------
    (r"grid (?P<g>\S+): geometry is not valid \((?P<why>.*)\)", "网格 {g}：几何图形无效（{why}）"),
    (r"grid (?P<g>\S+): area (?P<a>[\d.]+) m² is below (?P<m>[\d.]+) m²",
     "网格 {g}：面积 {a} m² 小于最小面积 {m} m²"),
    (r"grid (?P<g>\S+): (?P<a>[\d.]+) m² lies outside the community",
     "网格 {g}：有 {a} m² 超出社区范围"),
    (r"grid (?P<g>\S+): in (?P<n>\d+) separate pieces", "网格 {g}：分成 {n} 个不相连的部分"),
    (r"grid (?P<g>\S+): no responsible party \(责任主体\)", "网格 {g}：未指定责任主体"),
    (r"grid (?P<g>\S+): (?P<h>\d+) households, outside (?P<lo>\d+)–(?P<hi>\d+)",
     "网格 {g}：{h} 户，不在 {lo}–{hi} 户的范围内"),
    (r"grid (?P<g>\S+): (?P<r>\d+) residents, above (?P<m>\d+)",
     "网格 {g}：常住人口 {r} 人，超过 {m} 人"),
    (r"grid (?P<g>\S+): not compact \(Polsby-Popper (?P<p>[\d.]+) < (?P<m>[\d.]+)\)",
     "网格 {g}：形状不紧凑（Polsby-Popper {p} < {m}）"),
    (r"grids (?P<a>\S+) and (?P<b>\S+) overlap by (?P<s>[\d.]+) m²",
     "网格 {a} 与 {b} 重叠 {s} m²"),
    (r"gap of (?P<s>[\d.]+) m² not covered by any grid near \((?P<lon>[-\d.]+), (?P<lat>[-\d.]+)\)",
     "({lon}, {lat}) 附近有 {s} m² 未被任何网格覆盖（缝隙）"),
    (r"the version has no grids", "该版本没有网格"),
    # --- grid editing ---------------------------------------------------------------------
    (r"version (?P<v>\d+) is (?P<s>\w+); only drafts can be edited",
     "版本 {v} 状态为 {s}，只有草稿可以编辑"),
    (r"version (?P<v>\d+) is (?P<s>\w+); only a draft can be activated",
     "版本 {v} 状态为 {s}，只有草稿可以启用"),
    (r"version (?P<v>\d+) is (?P<s>\w+), only drafts can be discarded",
     "版本 {v} 状态为 {s}，只有草稿可以删除"),
    (r"the draft was changed by (?P<who>.+) at (?P<at>[\d-]+ [\d:]+) \(version (?P<n>\d+), "
     r"you had (?P<had>\d+)\); reload it and redo your change — nothing was saved",
     "草稿已被 {who} 于 {at} 修改（版本 {n}，您打开的是 {had}）；请重新加载后再修改——本次未保存"),
    (r"the draft was changed by (?P<who>.+) since you loaded it; reload it before activating "
     r"— nothing was saved", "草稿在您打开后已被 {who} 修改；请重新加载后再启用——本次未保存"),
    (r"the active plan of this community changed since draft (?P<d>\d+) was made "
     r"\(based on (?P<b>\w+), active now (?P<a>\w+)\); start a new draft",
     "草稿 {d} 创建后，本社区的现行方案已变更（基于 {b}，现行 {a}）；请新建草稿"),
    (r"draft (?P<d>\d+) cannot be activated", "草稿 {d} 存在错误，不能启用"),
    (r"effective date (?P<e>[\d-]+ [\d:]+) must be after the start of the current plan "
     r"\((?P<s>[\d-]+ [\d:]+)\)", "生效时间 {e} 必须晚于现行方案的开始时间（{s}）"),
    (r"nothing to undo", "没有可撤销的操作"),
    (r"nothing to redo", "没有可重做的操作"),
    (r"grid\(s\) (?P<g>.+) are locked and must not change", "网格 {g} 已锁定，不能改动"),
    (r"grid (?P<g>\d+) is locked and must not change", "网格 {g} 已锁定，不能改动"),
    (r"grid (?P<g>\d+) is not in draft (?P<d>\d+)", "网格 {g} 不在草稿 {d} 中"),
    (r"cannot move these units", "无法移动这些单元"),
    (r"(?P<k>building|estate|block) (?P<u>\d+) is not a unit of this community",
     "{k} {u} 不属于本社区"),
    (r"the drawn shape must be a polygon", "绘制的图形必须是多边形"),
    (r"the drawn grid has (?P<a>\d+) m² inside the community outside locked grids; "
     r"at least (?P<m>\d+) m² is needed",
     "绘制的网格在社区内、锁定网格之外只有 {a} m²，至少需要 {m} m²"),
    (r"version (?P<v>\d+) is a draft; activate it instead", "版本 {v} 是草稿，请直接启用"),
    (r"community (?P<c>.+) does not exist", "社区 {c} 不存在"),
    (r"grid version (?P<v>\d+) does not exist", "网格版本 {v} 不存在"),
    # --- incident intake (API, Open311, import) -----------------------------------------
    (r"incident is invalid", "事件信息有误"),
    (r"(?P<n>\d+) bad row\(s\); nothing imported", "{n} 行有误；未导入任何数据"),
    (r"missing or non-numeric coordinates", "缺少坐标或坐标不是数字"),
    (r"longitude and latitude look swapped", "经度和纬度似乎颠倒了"),
    (r"point is outside the district", "位置不在本区范围内"),
    (r"unknown category (?P<c>.+)", "未知的事件类别 {c}"),
    (r"missing category", "缺少事件类别"),
    (r"missing report time", "缺少上报时间"),
    (r"unreadable report time", "无法识别的上报时间"),
    (r"report time is in the future", "上报时间晚于当前时间"),
    (r"report time is before 2000", "上报时间早于2000年"),
    (r"unknown source; use one of (?P<v>.+)", "未知的来源；可选：{v}"),
    (r"unknown urgency; use one of (?P<v>.+)", "未知的紧急程度；可选：{v}"),
    (r"unknown status", "未知的状态"),
    (r"external id appears more than once in the input", "外部编号在输入中重复出现"),
    (r"incident (?P<i>\d+) not found", "事件 {i} 不存在"),
    (r"the incident has no grid yet; choose one of the nearest grids",
     "该事件尚无所属网格；请从最近的网格中选择"),
    (r"grid (?P<g>\d+) is not one of the (?P<k>\d+) active grids nearest to incident (?P<i>\d+)",
     "网格 {g} 不在事件 {i} 最近的 {k} 个现行网格之中"),
    (r"incident (?P<i>\d+) is (?P<s>\w+): closed cases keep the grid they were handled in",
     "事件 {i} 已结束（{s}）：已结案件保留其处置时所属网格"),
    (r"not a candidate grid", "不是可选网格"),
    (r"note must be text of at most 2000 characters", "备注须为不超过2000字的文本"),
    # --- request checks common to the pages' API calls ------------------------------------
    (r"bad request parameters", "请求参数有误"),
    (r"invalid request", "请求有误"),
    (r"request body must be a JSON object", "请求内容必须是 JSON 对象"),
    (r"the request body must be a JSON object", "请求内容必须是 JSON 对象"),
    (r"(?P<k>\w+) is required", "缺少 {k}"),
    (r"(?P<k>\w+) must be an integer", "{k} 必须是整数"),
    (r"(?P<k>\w+) must be a number", "{k} 必须是数字"),
    (r"(?P<k>\w+) must be between (?P<lo>\S+) and (?P<hi>\S+)", "{k} 必须在 {lo} 与 {hi} 之间"),
    (r"end must be after start", "结束时间必须晚于开始时间"),
]
_COMPILED = [(re.compile(p + r"\Z"), t) for p, t in _ZH]
_CJK = re.compile(r"[\u4e00-\u9fff]")
_ZH_ONLY_ALLOWED = re.compile(r"责任主体")  # Chinese term inside an English message


def localise(text: str, lang: str) -> str:
    """``text`` in ``lang``: Chinese for a known message shape when ``lang`` is ``zh``."""
    if lang != "zh" or not text:
        return text
    if _CJK.search(_ZH_ONLY_ALLOWED.sub("", text)):
        return text  # already bilingual or Chinese
    for pattern, template in _COMPILED:
        m = pattern.match(text)
        if m:
            return template.format(**m.groupdict())
    return text


def localise_problem(problem: dict[str, Any], lang: str) -> dict[str, Any]:
    """A problem mapping with ``reason`` in ``lang`` (original kept as ``reason_en``)."""
    reason = str(problem.get("reason", ""))
    local = localise(reason, lang)
    if local == reason:
        return problem
    return {**problem, "reason": local, "reason_en": reason}


def summary(headline: str, problems: list[dict[str, Any]], lang: str) -> str:
    """A validation error's one-line message in Chinese: headline and the first error reasons
    (already localised by :func:`localise_problem`), with their row numbers."""
    errors = [p for p in problems if p.get("severity", "error") == "error"]
    parts = [(f"第 {p['row']} 行：" if p.get("row") is not None else "") + str(p["reason"])
             for p in errors[:5]]
    more = f"（另有 {len(errors) - 5} 个）" if len(errors) > 5 else ""
    head = localise(headline, lang)
    return f"{head}：{'；'.join(parts)}{more}" if parts else head
