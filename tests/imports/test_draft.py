"""``gridmap import inspect``: columns, sample, encoding and a draft profile that works."""

from __future__ import annotations

from pathlib import Path

from gridmap.imports.draft import inspect_table
from gridmap.imports.profiles import apply_profile, load_profile
from tests.fixtures.hotline import hotline_frame, write_gb18030


def test_draft_profile_of_a_gb18030_export_loads_and_maps(tmp_path: Path) -> None:
    frame = hotline_frame(25, seed=4)
    frame["网格员备注"] = "无"
    path = write_gb18030(frame, tmp_path / "街道12345.csv")
    got = inspect_table(path, lang="en")
    assert "encoding gb18030" in got.summary and "受理时间 → reported_at" in got.summary
    assert got.matched["lon"] == "经度" and got.matched["closed_at"] == "办结时间"
    assert "# unmapped columns: 网格员备注" in got.profile_yaml
    assert "已办结: closed" in got.profile_yaml  # known values filled in, to be checked
    draft = tmp_path / "draft.yaml"
    draft.write_text(got.profile_yaml, encoding="utf-8")
    prof = load_profile(draft)
    assert prof.encoding == "gb18030"
    out, problems = apply_profile(got.table, prof, ["external_id", "reported_at", "state"])
    assert not problems and out["external_id"].tolist() == frame["工单编号"].tolist()
