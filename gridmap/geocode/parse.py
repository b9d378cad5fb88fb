"""Parsing a normalised address into its elements, large to small.

省/自治区 → 市 → 区/县 → 街道/镇/乡 → 居委/社区/村 → 路/街/巷/大道 → 弄 → 支弄 → 号 → 小区/place
→ 号楼 (``reference/addresses.md`` §1–2). Rooms and floors were already removed by
:func:`gridmap.geocode.normalise.normalise`. A "near" cue (铜川路近真如路, XX大厦附近) keeps the
second road or place in :attr:`ParsedAddress.near` and sets :attr:`ParsedAddress.near_cue`.
English addresses (Chelsea's ``addr:*``) parse as ``NUMBER STREET``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gridmap.geocode.normalise import normalise, split_near, split_parentheses

_HAN = r"[\u4e00-\u9fff\w]"
_ADMIN_RES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("province", re.compile(rf"^{_HAN}{{2,7}}?(?:省|自治区)")),
    ("city", re.compile(rf"^{_HAN}{{2,4}}?市(?!场)")),
    ("district", re.compile(rf"^{_HAN}{{1,5}}?(?:(?<![社小园校景营厂])区|县)(?![0-9号])")),
    ("street", re.compile(rf"^{_HAN}{{2,8}}?(?:街道办事处|街道|镇|乡)(?![路街0-9])")),
    ("community", re.compile(rf"^{_HAN}{{2,8}}?(?:居民委员会|居委会|社区居委|社区|村委会)")),
)
_ANY_ADMIN = re.compile(r"[省市区县镇乡]|街道|社区|居委|村委")
_ROAD_RE = re.compile(r"^(.+?(?:大道|公路|胡同|路|街|巷|道))(?=\d|$|[^\d路街巷道])")
_LANE_RE = re.compile(r"^(\d+)弄")
_BRANCH_RE = re.compile(r"^(\d+)支弄")
_NUMBER_RE = re.compile(r"^(?:甲|乙|丙)?(\d+)(?:号(?!楼)(?:院)?|-(?=\d))")
_BUILDING_RE = re.compile(r"(\d+)号楼")
_PLACE_NUMBER_RE = re.compile(r"^(.*?\D)(\d+)号(?!楼)(?:院)?$")
_EN_RE = re.compile(r"^(\d+)([a-z]?)\s+(.+)$")
_HAN_RE = re.compile(r"[\u4e00-\u9fff]")
_NOT_ROAD = re.compile(r"(?:小区|新村|花园|公寓|家园|大厦|中心|村)$")


@dataclass(slots=True)
class ParsedAddress:
    """The elements of one address (``None`` where absent); all text in normalised form."""

    text: str
    province: str | None = None
    city: str | None = None
    district: str | None = None
    street: str | None = None
    community: str | None = None
    road: str | None = None
    lane: int | None = None
    branch: int | None = None
    number: int | None = None
    place: str | None = None
    building: int | None = None
    near: str | None = None
    near_cue: bool = False
    alt: str | None = None


def _admin(t: str) -> tuple[dict[str, str], str]:
    found: dict[str, str] = {}
    if not _ANY_ADMIN.search(t):
        return found, t
    for key, rx in _ADMIN_RES:
        m = rx.match(t)
        if m:
            found[key] = m.group(0)
            t = t[m.end():]
    return found, t


def _numbers(t: str) -> tuple[dict[str, int], str]:
    """Lane, branch lane and door number at the start of ``t`` and what is left."""
    out: dict[str, int] = {}
    for key, rx in (("lane", _LANE_RE), ("branch", _BRANCH_RE), ("number", _NUMBER_RE)):
        m = rx.match(t)
        if m:
            out[key] = int(m.group(1))
            t = t[m.end():]
    return out, t


def _place_and_building(rest: str) -> tuple[str | None, int | None]:
    m = _BUILDING_RE.search(rest)
    building = int(m.group(1)) if m else None
    head = rest[: m.start()] if m else rest
    return re.sub(r"^\d+", "", head).strip("-") or None, building


def parse(text: str) -> ParsedAddress:
    """Parse one address (any form: the text is normalised first).

    Examples
    --------
    >>> parse("上海市普陀区曹杨新村街道兰溪路138弄5号301室").number
    5
    >>> parse("铜川路近真如路").near
    '真如路'
    """
    main_text, inside = split_parentheses(text or "")
    t = normalise(main_text)
    alt = (normalise(inside) or None) if inside else None
    if not _HAN_RE.search(t):
        m = _EN_RE.match(t)
        if m:
            # 135A West 29th Street: the letter tells 135A from 135 (kept as the place)
            return ParsedAddress(text=t, road=m.group(3), number=int(m.group(1)),
                                 place=m.group(2) or None, alt=alt)
        return ParsedAddress(text=t, road=t or None, alt=alt)
    admin, rest = _admin(t)
    rest, near, cue = split_near(rest)
    road = None
    m = _ROAD_RE.match(rest)
    if m and not _NOT_ROAD.search(m.group(1)[:-1]) and not m.group(1).endswith("街道"):
        road = m.group(1)
        rest = rest[m.end():]
    if road and cue and near is None and _ROAD_RE.fullmatch(rest):
        near, rest = rest, ""  # 铜川路真如路路口: the second road of an intersection
    nums, rest = _numbers(rest) if road else ({}, rest)
    place, building = _place_and_building(rest)
    if not road and place and building is None:
        pm = _PLACE_NUMBER_RE.match(place)  # 曹杨新村5号: numbered building of an estate
        if pm:
            place, building = pm.group(1), int(pm.group(2))
    return ParsedAddress(text=t, road=road, place=place, building=building, near=near,
                         near_cue=cue, alt=alt, **admin, **nums)  # type: ignore[arg-type]
