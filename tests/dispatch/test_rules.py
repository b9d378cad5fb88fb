"""Routing rules: validation (every problem at once), versions, first match, 属地兜底, re-run."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.dispatch import rules
from gridmap.errors import NotFound, ValidationError
from tests.fixtures.dispatch_world import RULES, DispatchWorld, case


def test_first_matching_rule_by_position(conn: Connection, dw: DispatchWorld) -> None:
    u = dw.org.units
    ids = {
        "weijian": case(conn, "W1", "E0101"),            # rule 1 → 城管
        "garbage_e1": case(conn, "E1", "E0102"),         # rule 2 → 物业 (grid E1)
        "leak": case(conn, "W2", "E0102", description="楼上漏水"),  # rule 3 → 房管
        "hotline": case(conn, "W2", "E0501", urgency="urgent", source="hotline_12345"),
        "other": case(conn, "E2", "E0501"),              # nothing → street centre
    }
    got = rules.propose(conn, list(ids.values()))
    assert {k: got[v]["unit_id"] for k, v in ids.items()} == {
        "weijian": u["CG"], "garbage_e1": u["WY"], "leak": u["FG"], "hotline": u["JD"],
        "other": u["JD"]}
    assert [got[ids[k]]["position"] for k in ("weijian", "garbage_e1", "leak", "hotline")] == [
        1, 2, 3, 4]
    assert got[ids["other"]]["reason"] == "street_centre"
    assert got[ids["other"]]["rule_id"] is None
    assert got[ids["garbage_e1"]]["rule_level"] == "grid"


def test_every_problem_at_once_and_nothing_stored(conn: Connection, dw: DispatchWorld) -> None:
    before = rules.list_sets(conn)
    bad = [{"category": "X99", "unit": "CG"},
           {"area_code": "319902001999", "urgency": "soon", "unit": "NOPE"},
           {"area_level": "grid", "source": "fax", "level": "city"},
           {"colour": "red", "unit": "JD"}]
    with pytest.raises(ValidationError) as exc:
        rules.create_set(conn, bad, actor="tester")
    found = {(p.row, p.code) for p in exc.value.problems}
    assert found == {(1, "dispatch.unknown_category"), (2, "dispatch.unknown_area"),
                     (2, "dispatch.unknown_urgency"), (2, "dispatch.unknown_unit"),
                     (3, "dispatch.area_code_missing"), (3, "dispatch.unknown_source"),
                     (3, "dispatch.unknown_level"), (3, "dispatch.unit_missing"),
                     (4, "dispatch.unknown_fields")}
    assert rules.list_sets(conn) == before
    assert "第 2 行" in exc.value.render("zh")


def test_versions_keep_history_and_one_active(conn: Connection, dw: DispatchWorld) -> None:
    new = rules.create_set(conn, [{"unit": "JW-E"}], actor="admin", note="all to 东社区")
    assert rules.active_set_id(conn) == dw.set_id
    rules.activate_set(conn, new)
    sets = rules.list_sets(conn)
    assert [(s["id"], s["active"], s["rules"]) for s in sets[:2]] == [
        (new, True, 1), (dw.set_id, False, len(RULES))]
    assert [r["unit"] for r in rules.get_rules(conn, dw.set_id)] == ["CG", "WY", "FG", "JD"]
    with pytest.raises(NotFound):
        rules.activate_set(conn, 999999)


def test_rerun_returns_changed_open_cases_with_events(conn: Connection,
                                                      dw: DispatchWorld) -> None:
    a, b = case(conn, "W1", "E0101"), case(conn, "E2", "E0501")
    closed = case(conn, "W1", "E0101")
    conn.execute(sa.text("UPDATE incident SET state = 'closed' WHERE id = :i"), {"i": closed})
    first = rules.rerun(conn)
    assert {r["id"] for r in first} >= {a, b}
    assert closed not in {r["id"] for r in first}
    assert rules.rerun(conn) == []                      # nothing changed the second time
    new = rules.create_set(conn, [{"category": "E05", "unit": "JW-E"}], actor="admin",
                           activate=True)
    dry = rules.rerun(conn, dry_run=True)
    u = dw.org.units
    assert [(r["id"], r["unit_id"], r["reason"]) for r in dry] == [
        (a, u["JD"], "street_centre"), (b, u["JW-E"], "rule")]
    assert rules.rerun(conn, dry_run=True) == dry       # the dry run changed nothing
    changed = rules.rerun(conn)
    assert [(r["id"], r["set_id"]) for r in changed] == [(a, None), (b, new)]
    ev = conn.execute(sa.text("SELECT actor, data FROM incident_event WHERE incident_id = :i "
                              "AND data->>'kind' = 'dispatch.reproposed' ORDER BY id"),
                      {"i": b}).all()
    assert ev[-1].actor == "system" and ev[-1].data["unit_id"] == dw.org.units["JW-E"]


def test_no_active_set_falls_back_to_street_centre(conn: Connection, dw: DispatchWorld) -> None:
    conn.execute(sa.text("UPDATE routing_rule_set SET active = false"))
    i = case(conn, "W1", "E0101")
    assert rules.propose(conn, [i])[i]["unit_id"] == dw.org.units["JD"]


def test_set_based_and_single_case_matching_agree(conn: Connection, dw: DispatchWorld) -> None:
    ids = [case(conn, g, c, **kw) for g, c, kw in (
        ("W1", "E0101", {}), ("E1", "E0102", {}), ("W2", "E0103", {"description": "房屋漏水"}),
        ("W2", "E0501", {"urgency": "urgent", "source": "hotline_12345"}), ("E2", "C0101", {}),
        ("E1", "E0101", {"address": "漏水"}))]
    single = rules.propose(conn, ids)
    many = {r["id"]: (r["unit_id"], r["reason"], r["position"])
            for r in rules.rerun(conn, dry_run=True)}
    assert {i: (single[i]["unit_id"], single[i]["reason"], single[i]["position"])
            for i in ids} == {i: many[i] for i in ids}
