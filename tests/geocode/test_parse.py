"""Parser on a table of real-shaped addresses (reference/addresses.md §1–2)."""

from __future__ import annotations

from typing import Any

import pytest

from gridmap.geocode.parse import parse

CASES: list[tuple[str, dict[str, Any]]] = [
    ("上海市普陀区曹杨新村街道兰溪路138弄5号301室",
     {"city": "上海市", "district": "普陀区", "street": "曹杨新村街道", "road": "兰溪路",
      "lane": 138, "number": 5, "building": None}),
    ("铜川路近真如路", {"road": "铜川路", "near": "真如路", "near_cue": True, "number": None}),
    ("铜川路真如路路口", {"road": "铜川路", "near": "真如路", "near_cue": True}),
    ("梅岭北路xx小区3号楼", {"road": "梅岭北路", "place": "xx小区", "building": 3}),
    ("兰溪路一百三十八弄五号", {"road": "兰溪路", "lane": 138, "number": 5}),
    ("兰溪路138弄2支弄5号", {"road": "兰溪路", "lane": 138, "branch": 2, "number": 5}),
    ("曹杨新村5号", {"road": None, "place": "曹杨新村", "building": 5}),
    ("华清嘉园小区十一号楼2单元301", {"place": "华清嘉园小区", "building": 11}),
    ("北京市海淀区清华东路27号院", {"district": "海淀区", "road": "清华东路", "number": 27}),
    ("中关村北二街8号", {"road": "中关村北二街", "number": 8}),
    ("近春路", {"road": "近春路", "near_cue": False}),
    ("长颈鹿幼儿园(金陵西路)", {"place": "长颈鹿幼儿园", "alt": "金陵西路"}),
    ("金陵西路40号(金陵西路马当路)", {"road": "金陵西路", "number": 40}),
    ("浦东新区浦东大道1号", {"district": "浦东新区", "road": "浦东大道", "number": 1}),
    ("镇宁路405弄", {"road": "镇宁路", "lane": 405, "number": None}),
    ("宜川路街道中山北路1000号", {"street": "宜川路街道", "road": "中山北路", "number": 1000}),
    ("曹杨新村街道", {"street": "曹杨新村街道", "road": None}),
    ("XX大楼附近", {"place": "xx大楼", "near_cue": True}),
    ("123 W 20th St, New York", {"road": "west 20th street", "number": 123}),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_parse_table(text: str, expected: dict[str, Any]) -> None:
    p = parse(text)
    got = {k: getattr(p, k) for k in expected}
    assert got == expected


def test_same_address_written_differently_parses_the_same() -> None:
    forms = ["上海市普陀区兰溪路138弄5号301室", "兰溪路一百三十八弄五号", "兰溪路１３８弄５號３楼",
             "普陀区 兰溪路 138弄 5号"]
    keys = {(p.road, p.lane, p.number) for p in map(parse, forms)}
    assert keys == {("兰溪路", 138, 5)}
