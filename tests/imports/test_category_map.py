"""Category mapping: a file an office keeps (external text → catalogue code), stored, exported,
and used by imports; bad files refused with every problem, database unchanged."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError
from gridmap.imports.category_map import (
    export_category_map,
    import_category_map,
    read_category_file,
    resolve_categories,
)


def _stored(conn: Connection) -> int:
    return int(conn.execute(sa.text("SELECT count(*) FROM category_mapping")).scalar_one())


def test_gb18030_mapping_file_round_trip(conn: Connection, tmp_path: Path) -> None:
    src = tmp_path / "对照.csv"
    pd.DataFrame({"外部类别": ["宠物扰民", "高空抛物", "ＷＡＳＴＥ"],
                  "类别代码": ["E0604", "E06", "E0102"]}).to_csv(src, index=False,
                                                               encoding="gb18030")
    dry = import_category_map(conn, src, dry_run=True)
    assert dry["inserted"] == 3 and _stored(conn) == 0
    assert import_category_map(conn, src)["inserted"] == 3
    again = import_category_map(conn, src)
    assert again["inserted"] == 0 and again["updated"] == 3  # idempotent
    out = tmp_path / "out.csv"
    assert export_category_map(conn, out) == 3
    back = pd.read_csv(out, dtype=str)
    assert set(back["external"]) == {"宠物扰民", "高空抛物", "ＷＡＳＴＥ"}
    assert read_category_file(out) == read_category_file(src)  # re-importable


def test_resolution_order_and_unmapped_counts(conn: Connection, tmp_path: Path) -> None:
    src = tmp_path / "m.csv"
    src.write_text("external,code\n宠物扰民,E0604\n", encoding="utf-8-sig")
    import_category_map(conn, src)
    values = pd.Series(["宠物扰民", "E0102", "暴露垃圾", "占道经营", "外星人", "外星人", None,
                        " waste ", "噪声"])
    codes, unmapped = resolve_categories(conn, values, {"噪声": "E0604", "waste": "E0104"})
    assert codes.tolist() == ["E0604", "E0102", "E0102", "E0501", None, None, None, "E0104",
                              "E0604"]
    assert unmapped == {"外星人": 2}


def test_bad_mapping_files_change_nothing(conn: Connection, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("external,code\n宠物扰民,E9999\n,E0102\n噪声,E0604\n噪 声,E0102\n",
                   encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        import_category_map(conn, bad)
    assert sorted(p.code for p in err.value.problems) == [
        "tables.category_map_conflict", "tables.category_map_empty"]
    bad.write_text("external,code\n宠物扰民,E9999\n", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        import_category_map(conn, bad)
    assert [p.code for p in err.value.problems] == ["tables.category_map_unknown_code"]
    bad.write_text("名称;备注\n宠物扰民;x\n", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        import_category_map(conn, bad)
    assert err.value.code == "tables.category_map_columns"
    assert _stored(conn) == 0
