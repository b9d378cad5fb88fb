"""Normalising address text before parsing and matching.

What real files need (``reference/addresses.md`` §2): full-width digits and letters
(NFKC), Chinese numerals in front of an address unit (一百三十八号 → 138号, 十一号楼 → 11号楼),
號 for 号, 幢/栋/座 for 号楼, rooms, units and floors dropped (301室, 3单元, 3楼, 3F, 5-301),
parentheses split off as a second name, spaces and punctuation removed. Numerals that are part
of a name (中关村北二街, 三里屯路, 五道口) are left alone: only a numeral directly followed by
a unit (号, 弄, 支弄, 号楼, 幢, 栋, 座, 单元, 室, 楼, 层) is converted.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
           "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_NUMERAL = "零〇○一二两三四五六七八九十百千"
_UNIT_AFTER = r"(?=号|弄|支弄|幢|栋|座|单元|室|楼|层|f\b|户)"
_CN_NUMBER_RE = re.compile(f"[{_NUMERAL}]+{_UNIT_AFTER}")

_BUILDING_RE = re.compile(r"(\d+)(?:幢|栋|座|号楼|号栋|号幢|号座)")
_ROOM_RES = (
    re.compile(r"(\d+)号楼(\d+)-\d+(?:室)?"),  # 5号楼2-301 → 5号楼
    re.compile(r"(\d+)-\d+室"),                 # 5-301室 → 5
    re.compile(r"(?<=号)-?\d+室"),                # 5号301室 / 5号-301室 → 5号
)
_DROP_RE = re.compile(
    r"\d+单元|\d+室"
    r"|(?<!\d)-?\d+(?:楼|层|f)(?![a-z])"  # 3楼, 3层, 3f (3号楼 has 号 between)
    r"|第?地下\d+(?:楼|层)$"
    r"|(?:室|房间?)$")
_PAREN_RE = re.compile(r"[(\[（【〔](.*?)[)\]）】〕]")
_PUNCT_RE = re.compile(r"[\s,，。、;；:：·.'\"“”‘’!！?？~～_/\\|]+")
_HAS_NUMERAL = re.compile(f"[{_NUMERAL}]")
_LATIN = re.compile(r"[a-z]")
_HAN_RE = re.compile(r"[\u4e00-\u9fff]")
_SPACE_RE = re.compile(r"\s+")
_HAS_BUILDING = re.compile(r"[幢栋座]|号楼")
_HAS_DROP = re.compile(r"[室层楼f单]")
_NEAR_RE = re.compile(r"(附近|对面|旁边|旁|近|路口|交叉口|交界处|交界|东侧|西侧|南侧|北侧|"
                      r"门口|周边|一带|边上)")


def cn_to_int(text: str) -> int | None:
    """A Chinese numeral as an integer (一百三十八 → 138, 十一 → 11, 二〇五 → 205).

    Returns ``None`` for text that is not a numeral. Digit strings without units
    (一三八, 二〇五) are read digit by digit.
    """
    if not text or any(c not in _DIGITS and c not in _UNITS for c in text):
        return None
    if not any(c in _UNITS for c in text):
        return int("".join(str(_DIGITS[c]) for c in text))
    total, current = 0, 0
    for c in text:
        if c in _DIGITS:
            current = _DIGITS[c]
        else:
            total += (current or 1) * _UNITS[c]
            current = 0
    return total + current


def _numerals(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        value = cn_to_int(m.group(0))
        return m.group(0) if value is None else str(value)

    return _CN_NUMBER_RE.sub(repl, text)


def split_parentheses(text: str) -> tuple[str, str]:
    """Text outside parentheses and the joined text inside them (长颈鹿幼儿园(金陵西路))."""
    inside = " ".join(m.group(1) for m in _PAREN_RE.finditer(text))
    return _PAREN_RE.sub("", text), inside


def normalise(text: str) -> str:
    """The comparable form of an address: width, numerals, variants, no rooms, no spaces.

    Parentheses are kept (see :func:`split_parentheses`); cues such as 近/附近 are kept for
    the parser. English text is lower-cased with single spaces.
    """
    t = unicodedata.normalize("NFKC", text or "").lower().replace("號", "号")
    t = t.replace("衖", "弄").replace("楼号", "号楼")
    if _HAN_RE.search(t):
        t = _SPACE_RE.sub("", t)  # 五十一 号 → 五十一号 before numerals are read
    if _HAS_NUMERAL.search(t):
        t = _numerals(t)
    if _LATIN.search(t) and not _HAN_RE.search(t):
        return _english(t)
    t = _PUNCT_RE.sub("", t)
    if _HAS_BUILDING.search(t):
        t = _BUILDING_RE.sub(r"\1号楼", t)
    if "-" in t:
        t = _ROOM_RES[0].sub(r"\1号楼", t)
    if "室" in t:
        t = _ROOM_RES[1].sub(r"\1号", t)
        t = _ROOM_RES[2].sub("", t)
    if _HAS_DROP.search(t):
        t = _DROP_RE.sub("", t)
    return t.strip("-")


_EN_ABBR = {"w": "west", "e": "east", "n": "north", "s": "south", "st": "street",
            "str": "street", "ave": "avenue", "av": "avenue", "rd": "road", "pl": "place",
            "blvd": "boulevard", "dr": "drive", "ln": "lane", "sq": "square", "hwy": "highway"}


def _english(t: str) -> str:
    t = re.sub(r"(?:apt|suite|ste|unit|fl|floor|room|rm)\.?\s*#?\s*\w+", " ", t)
    t = re.sub(r"#\s*\w+", " ", t)
    t = t.split(",")[0]
    words = [_EN_ABBR.get(w, w) for w in re.findall(r"[a-z0-9]+", t)]
    return " ".join(words)


@functools.lru_cache(maxsize=65536)
def name_key(text: str) -> str:
    """The key of a name (road, 小区, building, street): normalised, parentheses dropped."""
    outside, _ = split_parentheses(unicodedata.normalize("NFKC", text or ""))
    return normalise(outside)


@functools.lru_cache(maxsize=65536)
def place_key(text: str) -> str:
    """Key of a 小区/place name for comparison: :func:`name_key` without a generic suffix."""
    key = name_key(text)
    for suffix in ("小区", "社区", "住宅区", "生活区"):
        if key.endswith(suffix) and len(key) > len(suffix) + 1:
            return key[: -len(suffix)]
    return key


_NEAR_AFTER = set("路街巷道弄号村园苑区楼厦场院店站馆校门口桥坊里湾")
""""近" is a cue only after one of these (近春路 is a road, 兰溪路近枣阳路 a cue)."""


def split_near(text: str) -> tuple[str, str | None, bool]:
    """Split a "near" cue: ``铜川路近真如路`` → (铜川路, 真如路, True); ``X附近`` → (X, None, True)."""
    m = next((m for m in _NEAR_RE.finditer(text)
              if m.start() > 0 and (m.group(0) != "近" or text[m.start() - 1] in _NEAR_AFTER)),
             None)
    if m is None:
        return text, None, False
    head, tail = text[: m.start()], text[m.end():]
    if m.group(0) == "路口" and not head.endswith(("路", "街", "道", "巷")):
        head += "路"  # 铜川路真如路口: the cue shares its 路 with the second road
    tail = _NEAR_RE.sub("", tail)
    if not head:
        return tail, None, True
    return head, tail or None, True
