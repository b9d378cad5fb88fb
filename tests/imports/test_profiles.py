"""Import profiles: built-in and own files, header and value matching, dates, problems."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from gridmap.errors import ValidationError
from gridmap.imports.profiles import BUILTIN, apply_profile, load_profile, normalise
from gridmap.imports.tables import read_table
from tests.fixtures.hotline import hotline_frame, write_gb18030, write_xlsx

FIELDS = ["external_id", "reported_at", "category_code", "lon", "lat", "state", "closed_at",
          "responsible_unit", "satisfaction", "source"]


def test_builtin_hotline_profile_maps_a_real_shaped_export(tmp_path: Path) -> None:
    frame = hotline_frame(30, seed=1)
    t = read_table(write_gb18030(frame, tmp_path / "12345.csv"))
    out, problems = apply_profile(t, load_profile("hotline-12345"), FIELDS,
                                  required=["lon", "lat"])
    assert problems == []
    assert out["external_id"].tolist() == frame["工单编号"].tolist()
    assert set(out["state"]) <= {"closed", "handling"}
    assert set(out["category_code"]) <= {"E0604", "E0601", "E0501", "E0102", "E0101", "E0201",
                                         "C0190", "E0602", "E0603", "E0402"}
    assert (out["source"] == "hotline_12345").all()  # a default
    # Beijing local time without a zone → UTC
    first = pd.Timestamp(frame["受理时间"].iloc[0]).tz_localize("Asia/Shanghai")
    assert out["reported_at"].iloc[0] == first.tz_convert("UTC")
    closed = frame["办结时间"] != ""
    assert out["closed_at"][closed].notna().all() and out["closed_at"][~closed].isna().all()
    assert out.attrs["source_columns"]["reported_at"] == "受理时间"


def test_headers_match_width_case_and_spaces() -> None:
    src = pd.DataFrame({"工单 编号": ["A"], "ＬＯＮＧ": ["121.4"], "Lat": ["31.2"],
                        "受理时间": ["2025/03/01 08:00"]})
    out, problems = apply_profile(src, load_profile("open311"), ["lon", "lat"])
    assert out["lon"].iloc[0] == "121.4" and out["lat"].iloc[0] == "31.2" and not problems
    assert normalise("Service_Code") == normalise("ｓｅｒｖｉｃｅ code")


def test_missing_required_column_names_the_tried_headers() -> None:
    src = pd.DataFrame({"编号": ["A"]})
    _, problems = apply_profile(src, load_profile("hotline-12345"), ["external_id", "lon"],
                                required=["lon"])
    assert [p.code for p in problems] == ["tables.missing_column"]
    assert "经度" in problems[0].params["aliases"] and problems[0].field == "lon"


def test_excel_serial_and_unreadable_dates(tmp_path: Path) -> None:
    frame = hotline_frame(5, seed=2)
    path = write_xlsx(frame, tmp_path / "w.xlsx", serial_dates=True)
    t = read_table(path, sheet="工单明细")
    out, problems = apply_profile(t, load_profile("hotline-12345"), ["reported_at"])
    want = pd.to_datetime(frame["受理时间"]).dt.tz_localize("Asia/Shanghai").dt.tz_convert("UTC")
    assert not problems and (out["reported_at"] - want).abs().max() < pd.Timedelta(seconds=1)
    bad = pd.DataFrame({"受理时间": ["2025-13-45 99:00", "明天上午", ""]})
    out, problems = apply_profile(bad, load_profile("hotline-12345"), ["reported_at"])
    assert [(p.code, p.row) for p in problems] == [("tables.unreadable_date", 1),
                                                   ("tables.unreadable_date", 2)]
    assert out["reported_at"].isna().all()


@pytest.mark.parametrize("suffix", [".yaml", ".toml", ".json"])
def test_own_profile_in_three_formats_with_category_file(tmp_path: Path, suffix: str) -> None:
    (tmp_path / "cats.csv").write_text("外部类别,类别代码\n宠物扰民,E0604\n", encoding="utf-8-sig")
    doc = {"name": "my-street", "columns": {"category_code": ["问题类别"], "state": ["状态"]},
           "values": {"state": {"结": "closed"}}, "categories": "cats.csv",
           "coords": "gcj02", "date_formats": ["%d.%m.%Y"], "dates": ["reported_at"],
           "defaults": {"source": "hotline_12345"}}
    path = tmp_path / f"p{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    elif suffix == ".toml":
        path.write_text(
            'name = "my-street"\ncoords = "gcj02"\ncategories = "cats.csv"\n'
            'date_formats = ["%d.%m.%Y"]\ndates = ["reported_at"]\n'
            '[columns]\ncategory_code = ["问题类别"]\nstate = ["状态"]\n'
            '[values.state]\n"结" = "closed"\n[defaults]\nsource = "hotline_12345"\n',
            encoding="utf-8")
    else:
        import yaml

        path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    prof = load_profile(path)
    assert prof.coords == "gcj02" and prof.categories == {"宠物扰民": "E0604"}
    src = pd.DataFrame({"问题类别": ["宠物扰民"], "状态": ["结"], "reported_at": ["01.03.2025"]})
    out, problems = apply_profile(src, prof, ["category_code", "state", "source",
                                              "reported_at"])
    assert not problems
    assert out.iloc[0][["category_code", "state", "source"]].tolist() == [
        "E0604", "closed", "hotline_12345"]
    assert out["reported_at"].iloc[0] == pd.Timestamp("2025-02-28 16:00", tz="UTC")


def test_bad_profiles_report_every_problem(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as err:
        load_profile("hotline-1234")
    assert err.value.code == "tables.profile_not_found"
    assert list(err.value.params["choices"]) == list(BUILTIN)
    bad = tmp_path / "bad.yaml"
    bad.write_text("coords: mars\ntimezone: Mars/Olympus\ncolumn: {}\nvalues: {state: 3}\n"
                   "categories: missing.csv\n", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_profile(bad)
    codes = sorted(p.code for p in err.value.problems)
    assert codes == sorted(["tables.profile_unknown_key", "tables.profile_bad_values",
                            "tables.profile_bad_coords", "tables.profile_bad_timezone",
                            "tables.file_not_found"])
    (tmp_path / "broken.yaml").write_text("columns: [unclosed", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_profile(tmp_path / "broken.yaml")
    assert err.value.code == "tables.profile_unreadable"
