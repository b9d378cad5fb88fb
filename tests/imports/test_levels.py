"""Levels: every per-level message code has a Chinese and an English text."""

from __future__ import annotations

import pytest

from gridmap import messages
from gridmap.errors import ValidationError
from gridmap.imports.levels import CODED_LEVELS, LEVELS, PARENT_LEVEL, check_level, level_code

# stems built with level_code() and the levels each is used for
STEMS = {
    "imports.refused": LEVELS,
    "imports.no_code_column": tuple(CODED_LEVELS),
    "imports.code_missing": tuple(CODED_LEVELS),
    "imports.bad_code_width": tuple(CODED_LEVELS),
    "imports.unknown_division_code": tuple(CODED_LEVELS),
    "imports.unknown_division_code.synthetic": tuple(CODED_LEVELS),
    "imports.name_missing": ("district", "street", "community", "estate"),
    "imports.parent_mismatch": tuple(PARENT_LEVEL),
    "imports.parent_missing": tuple(PARENT_LEVEL),
    "imports.outside_parent": tuple(PARENT_LEVEL),
}


@pytest.mark.parametrize("lang", messages.LANGUAGES)
def test_every_level_code_has_a_text(lang: str) -> None:
    cat = messages.catalogue(lang)
    missing = [level_code(stem, level) for stem, levels in STEMS.items() for level in levels
               if level_code(stem, level) not in cat]
    assert missing == []


def test_level_words_are_in_each_language() -> None:
    code = level_code("imports.code_missing", "street")
    assert messages.render(code, {}, "en") == "street code is missing"
    assert messages.render(code, {}, "zh") == "街道代码缺失"


def test_unknown_level_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown level 'city'; use one of district, street"):
        check_level("city")
