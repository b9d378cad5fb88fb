"""gridmap.inputs: one value or a whole column of incoming text, checked against one set
of limits; refused cells blanked; JSON documents walked for NUL, surrogates and depth."""

from __future__ import annotations

import pandas as pd

from gridmap import inputs


def test_one_value() -> None:
    assert inputs.text_problem("路灯不亮", "description") is None
    assert inputs.text_problem(121.4, "lon") is None
    assert inputs.text_problem(None, "description") is None
    for value, code in ((["x"], "input.not_text"), ({"a": 1}, "input.not_text"),
                        (True, "input.not_text"), ("a\x00", "input.nul_character"),
                        ("\ud800", "input.invalid_unicode"),
                        ("长" * 4001, "input.too_long")):
        p = inputs.text_problem(value, "description")
        assert p is not None and p.code == code and p.field == "description", value
    assert inputs.limit("description") == 4000 and inputs.limit("unheard_of") == 200


def test_columns_are_checked_at_once_and_refused_cells_blanked() -> None:
    df = pd.DataFrame({"description": ["ok", "a\x00b", "\ud800", "x" * 4001, None, ["l"]],
                       "lon": [1, 2, 3, 4, 5, 6]})
    out, problems = inputs.check_columns(df, ("description", "lon", "absent"))
    assert sorted((p.row, p.code) for p in problems) == [
        (2, "input.nul_character"), (3, "input.invalid_unicode"), (4, "input.too_long"),
        (6, "input.not_text")]
    assert out["description"].tolist() == ["ok", None, None, None, None, None]
    assert df["description"].iloc[1] == "a\x00b"  # the input frame is left alone


def test_json_documents() -> None:
    assert inputs.json_problems({"a": ["x", {"b": "y"}]}) == []
    codes = [(p.code, p.field) for p in inputs.json_problems({"a": ["ok", "\x00"],
                                                              "b\x00": 1})]
    assert sorted(codes) == [("input.bad_key", None), ("input.nul_character", "a.1")]
    deep: list = []
    node = deep
    for _ in range(40):
        node.append([])
        node = node[0]
    assert [p.code for p in inputs.json_problems(deep)] == ["input.json_too_deep"]
