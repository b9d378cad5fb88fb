"""Chinese wording of library messages (web/messages.py)."""

from __future__ import annotations

import re
import string

import pytest

from web import messages


def test_every_template_uses_only_its_own_captures() -> None:
    for pattern, template in messages._ZH:
        groups = set(re.compile(pattern).groupindex)
        used = {f for _, f, _, _ in string.Formatter().parse(template) if f}
        assert used <= groups, (pattern, template)
        assert re.search(r"[\u4e00-\u9fff]", template), template


@pytest.mark.parametrize("english, chinese", [
    ("grids 110101001001001 and 110101001001002 overlap by 12.5 m²",
     "网格 110101001001001 与 110101001001002 重叠 12.5 m²"),
    ("grid 110101001001003: 40 households, outside 300–500",
     "网格 110101001001003：40 户，不在 300–500 户的范围内"),
    ("gap of 3.2 m² not covered by any grid near (121.400000, 31.200000)",
     "(121.400000, 31.200000) 附近有 3.2 m² 未被任何网格覆盖（缝隙）"),
    ("grid 110101001001001: no responsible party (责任主体)", "网格 110101001001001：未指定责任主体"),
    ("3 bad row(s); nothing imported", "3 行有误；未导入任何数据"),
])
def test_known_messages_in_chinese(english: str, chinese: str) -> None:
    assert messages.localise(english, "zh") == chinese
    assert messages.localise(english, "en") == english


def test_unknown_and_bilingual_messages_pass_through() -> None:
    assert messages.localise("something new happened", "zh") == "something new happened"
    already = "incident is outside your area / 不在您的管辖范围"
    assert messages.localise(already, "zh") == already
    p = {"reason": "longitude and latitude look swapped", "row": 3}
    assert messages.localise_problem(p, "zh") == {
        "reason": "经度和纬度似乎颠倒了", "reason_en": "longitude and latitude look swapped", "row": 3}
    assert messages.localise_problem(p, "en") is p
