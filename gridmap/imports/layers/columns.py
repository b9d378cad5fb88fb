"""Column mapping shared by the layer imports: built-in aliases, a user profile on top.

Every layer import maps the file's columns to gridmap fields with
:func:`gridmap.imports.profiles.apply_profile`. The built-in aliases below (common Chinese
survey, Amap and OSMnx headers) are tried after the profile's own (``--map PROFILE``), so a
profile only needs the columns that differ. Numbers are parsed here, with one problem per
bad cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pandas as pd

from gridmap.errors import Problem
from gridmap.imports.profiles import Profile, apply_profile, load_profile

ALIASES: Mapping[str, tuple[str, ...]] = {
    "key": ("code", "id", "编码", "编号", "代码", "楼栋编码", "建筑编码", "房屋编码", "小区编码",
            "道路编码", "poi编号", "poi_id", "poiid", "bm", "osmid", "osm_id", "objectid", "fid"),
    "name": ("name", "名称", "mc", "小区名称", "建筑名称", "楼栋名称", "道路名称", "路名",
             "name:zh", "poi名称"),
    "floors": ("floors", "levels", "building:levels", "层数", "楼层数", "地上层数", "cs"),
    "height": ("height", "高度", "建筑高度"),
    "households": ("households", "户数", "住户数", "总户数", "hs"),
    "residents": ("residents", "population", "人口", "人数", "常住人口", "总人口", "实有人口"),
    "building_type": ("building", "building_type", "用途", "建筑用途", "类型", "建筑类型",
                      "yt"),
    "road_class": ("highway", "road_class", "道路等级", "等级", "fclass", "class", "dldj"),
    "estate": ("estate", "小区", "所属小区", "小区名称"),
    "community": ("community", "社区", "居委会", "所属社区", "所属居委会", "居委"),
    "community_code": ("community_code", "社区代码", "居委会代码", "统计用区划代码",
                       "区划代码"),
    "lon": ("lon", "lng", "longitude", "经度", "x"),
    "lat": ("lat", "latitude", "纬度", "y"),
    "type": ("type", "类型", "类别", "poi类型", "分类", "amap_type"),
    "typecode": ("typecode", "类型编码", "type_code", "分类编码", "poi类型编码"),
    "address": ("address", "地址", "详细地址"),
    "location": ("location", "经纬度", "坐标", "lnglat"),
    "age_0_3": ("age_0_3", "0-3岁", "0~3岁", "0至3岁", "婴幼儿"),
    "age_3_6": ("age_3_6", "3-6岁", "3~6岁", "3至6岁", "学龄前儿童"),
    "age_60_plus": ("age_60_plus", "60岁以上", "60岁及以上", "60+", "老年人口"),
    "age_80_plus": ("age_80_plus", "80岁以上", "80岁及以上", "80+", "高龄老人"),
    "date": ("date", "日期", "统计日期", "统计时间", "数据日期"),
    "licence": ("licence", "license", "许可", "版权"),
    "capacity": ("capacity", "容量", "床位", "床位数", "核定床位", "学位", "学位数", "核定学位",
                 "托位", "托位数", "beds", "places"),
}
"""Field → headers gridmap recognises without a profile (after the profile's own)."""

BUILTIN = Profile(name="layers")


def profile_for(name_or_path: str | None) -> Profile:
    """The user's profile (``--map``), or an empty one; built-in aliases come after its own."""
    user = load_profile(name_or_path) if name_or_path else BUILTIN
    columns = {f: (*user.columns.get(f, ()), *ALIASES.get(f, ()))
               for f in {*ALIASES, *user.columns}}
    return replace(user, columns=columns)


def mapped(frame: pd.DataFrame, profile: Profile, fields: Sequence[str], *,
           required: Sequence[str] = ()) -> tuple[pd.DataFrame, list[Problem]]:
    """The frame's columns as ``fields`` (text, None when empty) with its problems; the
    ``_row`` numbers are those of the input file (1-based)."""
    out, problems = apply_profile(frame.astype(str).where(frame.notna(), ""), profile, fields,
                                  required=required)
    return out, problems


def numbers(values: pd.Series, field: str, rows: npt.NDArray[np.int64],
            problems: list[Problem], *, whole: bool = True) -> npt.NDArray[np.float64]:
    """Parse a text column to non-negative numbers (NaN when empty); every other cell is a
    ``layers.not_a_number`` problem of its row."""
    text = values.astype(object).where(values.notna(), None)
    parsed = np.array(pd.to_numeric(text.map(_clean_number), errors="coerce"), dtype=float)
    bad = text.notna().to_numpy() & (~np.isfinite(parsed) | (parsed < 0))
    if whole:
        bad |= np.isfinite(parsed) & (np.abs(parsed - np.round(parsed)) > 1e-9)
    problems.extend(Problem("layers.not_a_number", {"value": str(v)}, row=int(r), field=field)
                    for r, v in zip(rows[bad], text[bad], strict=True))
    parsed[bad] = np.nan
    return parsed


def texts(values: pd.Series) -> list[str | None]:
    """Values as text for a ``text[]`` bind: None for missing ones (None, NaN, empty)."""
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) or str(v) == ""
            else str(v) for v in values]


def _clean_number(v: object) -> object:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    s = str(v).strip().replace(",", "").replace("，", "")
    for unit in ("户", "人", "层", "米", "m"):
        s = s.removesuffix(unit)
    return s or None
