"""Labels of the profile page, the printable report and the CLI summary: (zh, en)."""

from __future__ import annotations

LABELS: dict[str, tuple[str, str]] = {
    "profile": ("社区画像", "Community profile"),
    "street_profile": ("街道画像", "Street profile"),
    "checkup": ("生活圈体检报告", "Life-circle check-up"),
    "people": ("人 · 人口与队伍", "People"),
    "land": ("地 · 空间与网格", "Land and grids"),
    "services": ("产/服务 · 设施与覆盖", "Services and coverage"),
    "cases": ("事 · 案件", "Cases"),
    "stars": ("星级与原因", "Stars and reasons"),
    "not_rated": ("未评", "Not rated"),
    "residents": ("常住人口", "Residents"), "households": ("户数", "Households"),
    "buildings": ("楼栋", "Buildings"), "age_0_3": ("0-3岁", "Aged 0-3"),
    "age_3_6": ("3-6岁", "Aged 3-6"), "age_60_plus": ("60岁以上", "Aged 60+"),
    "age_80_plus": ("80岁以上", "Aged 80+"), "grid_workers": ("网格员", "Grid workers"),
    "not_imported": ("未导入", "not imported"),
    "area_km2": ("面积(平方公里)", "Area (km²)"), "estates": ("小区", "Estates"),
    "street_blocks": ("街坊", "Street blocks"), "grids": ("网格", "Grids"),
    "estate_ha": ("小区用地(公顷)", "Estate land (ha)"),
    "score": ("生活圈达标率", "Life-circle score"), "tier": ("层级", "Tier"),
    "type": ("设施类型", "Facility type"), "radius": ("步行半径(米)", "Walking radius (m)"),
    "facilities": ("区内设施", "Facilities"), "capacity": ("容量", "Capacity"),
    "share": ("覆盖率", "Coverage"), "affected": ("未覆盖居民", "Residents not covered"),
    "status": ("状态", "Status"), "gaps": ("缺口清单", "Gap list"),
    "sites": ("候选点位", "Candidate sites"), "estate": ("小区", "Estate"),
    "community": ("社区", "Community"), "road": ("临近道路", "Nearest road"),
    "added": ("新增覆盖居民", "Residents added"),
    "fca": ("容量供需比（两步移动搜索法）", "Capacity per 1,000 (2SFCA)"),
    "group": ("服务人群", "Target group"), "population": ("服务人口", "Target population"),
    "per_1000": ("每千人供给", "Supply per 1,000"), "estimated": ("估算占比", "Estimated"),
    "cases_total": ("案件", "Cases"), "open": ("未结", "Open"), "overdue": ("超期未结", "Overdue"),
    "on_time_rate": ("按期结案率", "Closed on time"), "category": ("类别", "Category"),
    "total": ("合计", "Total"), "hot_grids": ("案件最多的网格", "Grids with most cases"),
    "hot_estates": ("案件最多的小区", "Estates with most cases"),
    "recurrent": ("反复发生的问题", "Recurrent problems"), "place": ("地点", "Place"),
    "last": ("最近", "Last"), "window": ("统计期", "Window"),
    "not_computed": ("尚未计算设施覆盖（gridmap coverage refresh）",
                     "Coverage not computed yet (gridmap coverage refresh)"),
    "none": ("无", "none"), "generated": ("生成时间", "Generated"),
    "status_ok": ("达标", "covered"), "status_partial": ("部分覆盖", "partly covered"),
    "status_missing": ("缺失", "missing"), "status_none": ("无楼栋", "no buildings"),
    "tier_15min": ("十五分钟", "15-min"), "tier_10min": ("十分钟", "10-min"),
    "tier_5min": ("五分钟", "5-min"), "tier_block": ("居住街坊", "Block"),
    "group_age_0_3": ("0-3岁婴幼儿", "children 0-3"),
    "group_age_3_6": ("3-6岁儿童", "children 3-6"),
    "group_age_60_plus": ("60岁以上老人", "residents 60+"),
    "stars_unit": ("星", "★"), "print": ("打印", "Print"), "xlsx": ("导出 XLSX", "Export XLSX"),
    "communities": ("所辖社区", "Communities"), "code": ("编码", "Code"),
}


def label(key: str, lang: str) -> str:
    """The label ``key`` in ``lang`` (zh unless ``en``)."""
    zh, en = LABELS.get(key, (key, key))
    return en if lang == "en" else zh
