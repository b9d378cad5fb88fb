"""Matching: every level, scores and reasons, ties and low scores queued, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridmap import crs
from gridmap.geocode import register
from gridmap.geocode.index import RegisterIndex, build_index
from gridmap.geocode.match import MatchParams, geocode
from tests.fixtures.address_world import LANE_138, register_frame


@pytest.fixture(scope="module")
def idx() -> RegisterIndex:
    return build_index(register_frame())


def _dist_m(lon: float, lat: float, lon2: float, lat2: float) -> float:
    m = crs.metric_crs(121.39, 31.19, 121.45, 31.25)
    x, y = crs.project_xy(np.array([lon, lon2]), np.array([lat, lat2]), crs.STORAGE_EPSG, m)
    return float(np.hypot(x[1] - x[0], y[1] - y[0]))


def one(idx: RegisterIndex, text: str) -> pd.Series:
    return geocode(idx, [text]).iloc[0]


# (address, level, status, reason)
LEVELS = [
    ("上海市普陀区曹杨新村街道兰溪路138弄5号301室", "building", "auto", "building_exact"),
    ("兰溪路138弄2支弄5号", "building", "auto", "building_exact"),
    ("梅岭北路梅岭小区3号楼", "building", "auto", "place_building"),
    ("兰溪路138弄", "lane", "auto", "lane_exact"),
    ("兰溪路138弄4号", "lane", "auto", "lane_interpolated"),
    ("兰溪路138弄21号", "lane", "review", "lane_nearest_number"),
    ("兰溪路150号", "road_number", "auto", "road_number_interpolated"),
    ("兰溪路900号", "road_number", "review", "road_number_nearest_number"),
    ("曹杨影城", "place", "auto", "place_exact"),
    ("梅岭小区", "place", "auto", "place_centre"),
    ("铜川路近真如路", "road", "review", "road_intersection"),
    ("兰溪路", "road", "review", "road_middle"),
    ("曹杨新村街道兰溪路", "road", "review", "road_near_area"),
    ("曹杨新村街道", "area", "review", "area_name"),
    ("火星路1号", None, "unmatched", "no_match"),
]


@pytest.mark.parametrize(("text", "level", "status", "reason"), LEVELS, ids=[c[0] for c in LEVELS])
def test_every_level(idx: RegisterIndex, text: str, level: str | None, status: str,
                     reason: str) -> None:
    r = one(idx, text)
    assert (r["level"] if isinstance(r["level"], str) else None, r["status"], r["reason"]) == \
        (level, status, f"geocode.reason.{reason}")
    assert 0.0 <= r["score"] <= 1.0


def test_building_lands_on_its_door(idx: RegisterIndex) -> None:
    r = one(idx, "兰溪路138弄5号")
    assert _dist_m(r["lon"], r["lat"], *LANE_138[5]) < 1.0
    assert r["score"] == 1.0 and r["entry_id"] is not None


def test_lane_interpolation_between_neighbours(idx: RegisterIndex) -> None:
    r = one(idx, "兰溪路138弄4号")  # between 3号 and 5号
    lo, hi = LANE_138[3], LANE_138[5]
    assert lo[1] < r["lat"] < hi[1]


def test_intersection_is_where_the_roads_meet(idx: RegisterIndex) -> None:
    r = one(idx, "铜川路近真如路")
    assert _dist_m(r["lon"], r["lat"], 121.430, 31.225) < 5.0


def test_road_point_nearest_to_the_named_area(idx: RegisterIndex) -> None:
    r = one(idx, "曹杨新村街道兰溪路")  # the street's point is (121.41, 31.22)
    assert _dist_m(r["lon"], r["lat"], 121.41, 31.215) < 5.0
    assert _dist_m(*one(idx, "兰溪路")[["lon", "lat"]], 121.42, 31.215) < 5.0  # the middle


def test_perturbed_forms_reach_the_same_door(idx: RegisterIndex) -> None:
    forms = ["兰溪路一百三十八弄五号", "兰溪路１３８弄５號３楼", "普陀区兰溪路138弄5号3F",
             "兰西路138弄5号"]  # the last with a typo in the road name
    out = geocode(idx, forms)
    assert (out["status"] == "auto").all()
    assert out["entry_id"].nunique() == 1
    assert out["score"].iloc[3] < 1.0  # the typo costs score, and the reason says exact door


def test_tie_between_two_similar_places_is_never_auto_placed(idx: RegisterIndex) -> None:
    r = one(idx, "枫x小区1号楼")
    assert r["status"] == "review"
    assert len(r["candidates"]) >= 2
    labels = {c["label"] for c in r["candidates"]}
    assert {"枫桥小区1号楼", "枫林小区1号楼"} <= labels


def test_near_cue_is_never_auto_placed(idx: RegisterIndex) -> None:
    r = one(idx, "曹杨影城附近")
    assert (r["level"], r["status"]) == ("place", "review")


def test_low_score_is_queued_with_candidates(idx: RegisterIndex) -> None:
    r = one(idx, "曹杨影诚")  # one wrong character in a four-character name
    assert r["status"] == "review" and r["score"] < MatchParams().auto_min_score
    assert r["candidates"][0]["label"] == "曹杨影城"


def test_same_address_same_answer(idx: RegisterIndex) -> None:
    texts = [t for t, *_ in LEVELS] + ["枫x小区1号楼"]
    a = geocode(idx, texts)
    b = geocode(build_index(register_frame().sample(frac=1.0, random_state=3)), texts[::-1])
    pd.testing.assert_frame_equal(a.drop(columns=["candidates"]),
                                  b.iloc[::-1].reset_index(drop=True).drop(columns=["candidates"]))


def test_many_addresses_vectorised(idx: RegisterIndex) -> None:
    texts = [f"兰溪路138弄{i % 9 + 1}号{i % 5 + 1}01室" for i in range(5000)]
    out = geocode(idx, texts)
    assert len(out) == 5000 and out["level"].isin(["building", "lane"]).all()


def _typo_register() -> RegisterIndex:
    """中关村北二街8号 and 中关村北一街8号 2 km apart; 清华东路2号 but no 清华路2号."""
    doors, problems = register.entries_from_addresses(pd.DataFrame([
        {"address": "中关村北二街8号", "lon": 116.31, "lat": 39.98},
        {"address": "中关村北一街8号", "lon": 116.33, "lat": 39.98},
        {"address": "清华东路2号", "lon": 116.35, "lat": 40.00},
        {"address": "清华路6号", "lon": 116.37, "lat": 40.00}]))
    assert not problems
    frame = doors.drop(columns=["entry_key"])
    frame.insert(0, "id", range(1, len(frame) + 1))
    return build_index(frame)


def test_a_typo_is_confirmed_by_the_door_only_when_one_road_is_clearly_closest() -> None:
    """Closeness in edits: 不关村北二街 is one edit from 中关村北二街 and two from 中关村北一街;
    中关村北的街 is one from both; 清华个路 one from 清华路 and from 清华东路."""
    idx = _typo_register()
    clear, tie, lacking = geocode(idx, ["不关村北二街8号", "中关村北的街8号", "清华个路2号"]
                                  ).to_dict("records")
    assert (clear["status"], clear["level"]) == ("auto", "building")
    assert abs(clear["lon"] - 116.31) < 1e-9
    assert tie["status"] == "review" and len(tie["candidates"]) >= 2
    assert lacking["status"] == "review"   # the door may be 清华路2号, unknown to the register


def test_a_district_name_glued_to_a_place_is_dropped() -> None:
    """海淀清华大学西北小区1号楼 (no space, no 区) is 清华大学西北小区1号楼 — not a fuzzy match
    that 清华大学东北小区 would tie; like roads, 海淀学院路 → 学院路."""
    doors, problems = register.entries_from_addresses(pd.DataFrame([
        {"address": "清华大学西北小区1号楼", "lon": 116.31, "lat": 40.00},
        {"address": "清华大学东北小区1号楼", "lon": 116.33, "lat": 40.00}]))
    assert not problems
    frame = doors.drop(columns=["entry_key"])
    frame.insert(0, "id", range(1, len(frame) + 1))
    r = geocode(build_index(frame), ["海淀清华大学西北小区1号楼"]).iloc[0]
    assert (r["status"], r["level"], r["reason"]) == ("auto", "building",
                                                      "geocode.reason.place_building")
    assert abs(r["lon"] - 116.31) < 1e-9
