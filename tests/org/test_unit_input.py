"""Unit input: areas in every spelling, defaults from the kind, field checks."""

from __future__ import annotations

from gridmap.errors import Problem
from gridmap.org.kinds import DEFAULT_KINDS
from gridmap.org.unit_input import Area, parse_areas, unit_input


def test_areas_in_every_spelling() -> None:
    problems: list[Problem] = []
    got = parse_areas("319902001；street:319902001、社区：319902001001 319902001001001",
                      2, problems)
    assert got == (Area("street", "319902001"), Area("community", "319902001001"),
                   Area("grid", "319902001001001"))
    assert parse_areas([{"level": "district", "code": "319902"}], None, problems) == (
        Area("district", "319902"),)
    assert problems == []
    parse_areas("12345;moon:1", 4, problems)
    assert [(p.row, p.code) for p in problems] == [(4, "org.bad_area"), (4, "org.bad_area")]


def test_line_and_level_default_from_the_kind_and_can_be_overridden() -> None:
    u, problems = unit_input({"code": "W", "name": "物业", "kind": "物业公司"}, DEFAULT_KINDS)
    assert problems == [] and u is not None and (u.line, u.level) == ("tiao", "community")
    u, _ = unit_input({"code": "W", "name": "x", "kind": "other", "line": "块", "level": "街道"},
                      DEFAULT_KINDS)
    assert u is not None and (u.line, u.level) == ("kuai", "street")
    u, problems = unit_input({"code": "a b", "name": "x", "kind": "other",
                              "webhook_url": "javascript:alert(1)"}, DEFAULT_KINDS, row=7)
    assert u is None and {(p.row, p.code) for p in problems} == {
        (7, "org.bad_code"), (7, "org.bad_webhook_url")}
