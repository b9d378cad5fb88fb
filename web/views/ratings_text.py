"""UI strings of the star-rating pages (zh default, en)."""

from __future__ import annotations

from web import i18n

ZH = {
    "nav.ratings": "星级测评", "rt.title": "居委会星级测评", "rt.year": "年度", "rt.round": "轮次",
    "rt.round.initial": "初评（3月）", "rt.round.acceptance": "验收评估（11–12月）",
    "rt.street": "街道", "rt.all_streets": "全区", "rt.show": "查看", "rt.compute": "计算草稿",
    "rt.computing": "计算中…", "rt.computed": "已计算 {n} 个居委会草稿",
    "rt.xlsx": "导出 XLSX", "rt.report": "打印街道报告", "rt.report_pick": "先选择街道",
    "rt.map": "星级地图", "rt.dist": "星级分布与目标", "rt.rank": "排名",
    "rt.change": "较上年", "rt.committee": "居委会", "rt.stars": "星级", "rt.score": "得分",
    "rt.status": "状态", "rt.status.draft": "草稿", "rt.status.confirmed": "已确认",
    "rt.status.none": "未测评", "rt.prev": "上年", "rt.reasons": "原因", "rt.none": "暂无测评数据",
    "rt.stars_n": "{n}星", "rt.total": "合计", "rt.district": "全区",
    "rt.band.five": "五星 ≥{t}", "rt.band.three_four": "三四星 ≥{t}", "rt.band.two": "二星 ≤{t}",
    "rt.band.one": "一星 ≤{t}", "rt.meets": "达标", "rt.misses": "未达标",
    "rt.yoy": "较上年：升星 {up}，降星 {down}，持平 {same}", "rt.target_line": "目标",
    "rt.error": "加载失败：{e}", "rt.print": "打印", "rt.unrated": "未测评",
    "rt.criterion": "指标", "rt.value": "值", "rt.source": "来源", "rt.entry": "录入",
    "rt.source.measured": "数据测算", "rt.source.entered": "评审录入", "rt.evidence": "依据",
    "rt.enter": "录入", "rt.confirm": "确认星级", "rt.as_computed": "按测算", "rt.note": "说明",
    "rt.audit": "查看依据案件", "rt.met": "达标", "rt.not_met": "未达标",
    "rt.entered_by": "{by}（{level}）{at}：{evidence}", "rt.saved": "已保存",
    "rt.cases_of": "{name}：{n} 件", "rt.gaps": "缺失设施：{types}",
    "rt.same": "按冻结数据复算结果一致", "rt.differs": "复算结果与冻结值不一致",
    "rt.legend": "星级", "rt.scheme_note": "权重与分数线为 gridmap 建议值 [unverified]，可按区街方案导入替换",
}
EN = {
    "nav.ratings": "Star ratings", "rt.title": "Committee star ratings", "rt.year": "Year",
    "rt.round": "Round", "rt.round.initial": "Initial (March)",
    "rt.round.acceptance": "Acceptance (Nov–Dec)", "rt.street": "Street",
    "rt.all_streets": "Whole district", "rt.show": "Show", "rt.compute": "Compute drafts",
    "rt.computing": "Computing…", "rt.computed": "Computed {n} committee drafts",
    "rt.xlsx": "Export XLSX", "rt.report": "Print street report",
    "rt.report_pick": "Choose a street first", "rt.map": "Star map",
    "rt.dist": "Distribution against the target", "rt.rank": "Rank", "rt.change": "vs last year",
    "rt.committee": "Committee", "rt.stars": "Stars", "rt.score": "Score", "rt.status": "Status",
    "rt.status.draft": "draft", "rt.status.confirmed": "confirmed", "rt.status.none": "not rated",
    "rt.prev": "Last year", "rt.reasons": "Reasons", "rt.none": "No ratings yet",
    "rt.stars_n": "{n}★", "rt.total": "Total", "rt.district": "District",
    "rt.band.five": "5★ ≥{t}", "rt.band.three_four": "3–4★ ≥{t}", "rt.band.two": "2★ ≤{t}",
    "rt.band.one": "1★ ≤{t}", "rt.meets": "meets", "rt.misses": "misses",
    "rt.yoy": "vs last year: up {up}, down {down}, same {same}", "rt.target_line": "target",
    "rt.error": "Loading failed: {e}", "rt.print": "Print", "rt.unrated": "not rated",
    "rt.criterion": "Criterion", "rt.value": "Value", "rt.source": "Source", "rt.entry": "Entry",
    "rt.source.measured": "measured", "rt.source.entered": "entered", "rt.evidence": "Evidence",
    "rt.enter": "Enter", "rt.confirm": "Confirm stars", "rt.as_computed": "as computed",
    "rt.note": "Note", "rt.audit": "Cases behind the values", "rt.met": "met",
    "rt.not_met": "not met", "rt.entered_by": "{by} ({level}) {at}: {evidence}",
    "rt.saved": "Saved", "rt.cases_of": "{name}: {n} cases", "rt.gaps": "Missing types: {types}",
    "rt.same": "Recomputed from the frozen data: same values",
    "rt.differs": "Recomputed values differ from the frozen ones",
    "rt.legend": "Stars",
    "rt.scheme_note": "Weights and thresholds are gridmap's proposal [unverified]; import the district's scheme to replace them",
}


def register_messages() -> None:
    """Add the page's strings to the UI catalogue."""
    i18n.register({"zh": ZH, "en": EN})
