"""Normaliser: width, numerals, variants, rooms and floors, parentheses, near cues."""

from __future__ import annotations

import pytest

from gridmap.geocode.normalise import cn_to_int, normalise, place_key, split_near, split_parentheses


@pytest.mark.parametrize(("text", "value"), [
    ("一百三十八", 138), ("十一", 11), ("十", 10), ("二十", 20), ("一千零五", 1005),
    ("两百", 200), ("二〇五", 205), ("一三八", 138), ("九", 9), ("中关村", None), ("", None),
])
def test_chinese_numerals(text: str, value: int | None) -> None:
    assert cn_to_int(text) == value


@pytest.mark.parametrize(("raw", "norm"), [
    ("上海市普陀区曹杨新村街道兰溪路138弄5号301室", "上海市普陀区曹杨新村街道兰溪路138弄5号"),
    ("兰溪路一百三十八弄五号", "兰溪路138弄5号"),
    ("兰溪路１３８弄５號", "兰溪路138弄5号"),            # full-width digits, 號
    ("兰溪路 138 弄 5 号 3 楼", "兰溪路138弄5号"),        # spaces, floor
    ("兰溪路138弄5号3F", "兰溪路138弄5号"),
    ("兰溪路138弄5号-301室", "兰溪路138弄5号"),
    ("兰溪路138弄5-301室", "兰溪路138弄5号"),
    ("梅岭小区十一号楼2单元301", "梅岭小区11号楼301"),
    ("梅岭小区3幢", "梅岭小区3号楼"), ("梅岭小区3栋", "梅岭小区3号楼"), ("梅岭小区3座", "梅岭小区3号楼"),
    ("梅岭小区5号楼2-301", "梅岭小区5号楼"),
    ("中关村北二街8号", "中关村北二街8号"),             # a numeral in a name stays
    ("三里屯路", "三里屯路"),
])
def test_normalise(raw: str, norm: str) -> None:
    assert normalise(raw) == norm


def test_english_abbreviations() -> None:
    assert normalise("123 W 20th St, New York, NY") == "123 west 20th street"
    assert normalise("123 West 20th Street Apt 4B") == "123 west 20th street"
    assert normalise("135 W 29th St") == "135 west 29th street"


def test_parentheses_split() -> None:
    assert split_parentheses("长颈鹿幼儿园(金陵西路)") == ("长颈鹿幼儿园", "金陵西路")
    assert split_parentheses("金陵西路40号（金陵西路马当路）") == ("金陵西路40号", "金陵西路马当路")


@pytest.mark.parametrize(("text", "head", "near", "cue"), [
    ("铜川路近真如路", "铜川路", "真如路", True),
    ("铜川路真如路路口", "铜川路真如路", None, True),
    ("铜川路真如路口", "铜川路真如路", None, True),
    ("曹杨影城附近", "曹杨影城", None, True),
    ("曹杨影城对面", "曹杨影城", None, True),
    ("近春路", "近春路", None, False),                   # 近春路 is a road in Haidian
    ("兰溪路138弄5号", "兰溪路138弄5号", None, False),
])
def test_near_cues(text: str, head: str, near: str | None, cue: bool) -> None:
    assert split_near(text) == (head, near, cue)


def test_place_key_drops_generic_suffix() -> None:
    assert place_key("华清嘉园小区") == place_key("华清嘉园") == "华清嘉园"
    assert place_key("小区") == "小区"
