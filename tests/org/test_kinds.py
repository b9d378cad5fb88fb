"""The unit-kind catalogue as data: packaged, replaced by a deployment's file, validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridmap.config import Settings
from gridmap.errors import ValidationError
from gridmap.org.kinds import DEFAULT_KINDS, kinds_from_settings, load_kinds


def test_packaged_catalogue_knows_the_street_units() -> None:
    for name, code in (("城管中队", "chengguan"), ("房管所", "housing"), ("物业", "property"),
                       ("居委会", "community"), ("派出所", "police"), ("住保", "housing_security")):
        assert DEFAULT_KINDS.get(name).code == code  # type: ignore[union-attr]
    assert DEFAULT_KINDS.get("street").label("en") == "street office"  # type: ignore[union-attr]


def test_kinds_catalogue_is_data_and_validated(tmp_path: Path) -> None:
    good = tmp_path / "kinds.csv"
    good.write_text("code,name_zh,name_en,line,level,aliases\n"
                    "water,水务所,water office,tiao,street,水务\n", encoding="utf-8")
    kinds = load_kinds(good)
    assert kinds.get("水务").code == "water"  # type: ignore[union-attr]
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name_zh,name_en,line,level\nx,,X,diag,moon\ny,Y,Y,diag,moon\n",
                   encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_kinds(bad)
    assert sorted((p.row, p.code) for p in err.value.problems) == [
        (2, "org.kinds_missing_value"), (3, "org.bad_level"), (3, "org.bad_line")]


def test_kinds_from_settings(tmp_path: Path) -> None:
    assert kinds_from_settings(Settings.load({})) is DEFAULT_KINDS
    own = tmp_path / "k.csv"
    own.write_text("code,name_zh,name_en,line,level\nwater,水务所,water,tiao,street\n",
                   encoding="utf-8")
    assert kinds_from_settings(Settings.load({"org_unit_kinds": str(own)})).codes() == (
        "water",)
