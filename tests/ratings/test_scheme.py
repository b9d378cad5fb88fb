"""The rating scheme as data: the shipped default, validation, round periods, storage."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError
from gridmap.ratings import scheme


def test_default_reproduces_the_documents() -> None:
    s = scheme.default_scheme()
    names = [c.name_zh for c in s.criteria]
    assert names[:2] == ["群众满意度", "“急难愁盼”问题回应度"]
    for n in ("无违法搭建问题", "无突出违法问题", "无治安安全问题", "无服务缺失问题",
              "居委会工作和服务规范度", "自治共治有典型、有影响力"):
        assert n in names
    assert s.raters == {"street": (1, 3), "district": (4, 5)}
    assert s.target["five"] == 0.10 and s.target["three_four"] == 0.70
    assert {c.tag for c in s.criteria} == {"unverified"} and s.tags["raters"] == "seed"
    cst = dt.timezone(dt.timedelta(hours=8))
    assert s.rounds["initial"].period_of(2026) == (dt.datetime(2025, 3, 1, tzinfo=cst),
                                                   dt.datetime(2026, 3, 1, tzinfo=cst))
    assert s.rounds["acceptance"].months == (11, 12)


def test_every_problem_at_once() -> None:
    data = scheme.default_scheme().as_dict()
    data["stars"]["min_score"] = {2: 70, 3: 60, 4: 80, 5: 90}
    data["criteria"][0]["weight"] = -5
    data["criteria"][1]["measure"] = "vibes"
    data["criteria"][3]["cap_stars"] = 9
    data["criteria"].append(dict(data["criteria"][2]))
    with pytest.raises(ValidationError) as err:
        scheme.parse(data)
    codes = sorted(p.code for p in err.value.problems)
    assert codes == ["ratings.scheme_choice", "ratings.scheme_duplicate", "ratings.scheme_number",
                     "ratings.scheme_number", "ratings.scheme_thresholds"]
    with pytest.raises(ValidationError):
        scheme.load_text("criteria: [unclosed")


def test_export_import_round_trip_and_weights_configurable(conn: Connection) -> None:
    data = yaml.safe_load(yaml.safe_dump(scheme.default_scheme().as_dict(), allow_unicode=True))
    data["criteria"][0]["weight"] = 55
    s = scheme.parse(data)
    sid = scheme.store(conn, 2031, s, actor="t")
    got_id, got = scheme.scheme_for(conn, 2031)
    assert got_id == sid and got.criterion("satisfaction").weight == 55
    assert scheme.scheme_for(conn, 2032)[0] is None  # no stored scheme: the default
    data["criteria"][4]["params"]["categories"] = ["E0101", "ZZ99"]
    with pytest.raises(ValidationError) as err:
        scheme.check_categories(conn, scheme.parse(data))
    assert [p.params["code"] for p in err.value.problems] == ["ZZ99"]
