"""The case list: 案卷号, address/description text (Chinese), phone only for who may see it,
filters, sorting, paging, scope."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts import scope as scopes
from gridmap.accounts.scope import ALL, Scope
from gridmap.cases import search
from gridmap.dispatch import engine
from gridmap.errors import PermissionDenied, ValidationError
from gridmap.incidents import query
from tests.fixtures.dispatch_world import MONDAY, DispatchWorld, case


def _staff(conn: Connection, dw: DispatchWorld, name: str) -> Scope:
    return scopes.staff_scope(conn, dw.org.users[name])


@pytest.fixture
def cases(conn: Connection, dw: DispatchWorld) -> dict[str, int]:
    out = {
        "leak": case(conn, "E1", "E0102", address="和平路12号", description="楼道漏水严重",
                     reporter_phone="13900001111"),
        "bike": case(conn, "W1", "E0102", address="西湖路3号", description="共享单车乱停",
                     reporter_phone="13800002222"),
        "wall": case(conn, "W2", "E0101", address="和平路88号 Building A",
                     description="违章搭建"),
    }
    engine.file(conn, out["wall"], actor="ow_acceptor", at=MONDAY)
    engine.dispatch(conn, out["wall"], actor="ow_dispatch", at=MONDAY)   # → CG
    return out


def _ids(result: dict) -> set[int]:
    return {r["id"] for r in result["items"]}


def test_grams_match_the_sql_function(conn: Connection, cases: dict[str, int]) -> None:
    from sqlalchemy import text
    sql = conn.execute(text("SELECT gm_grams('和平 Road')")).scalar_one()
    assert set(search.grams("和平")) <= set(sql) and set(search.grams("road")) <= set(sql)
    assert search.grams("和") == ["和"] and search.grams(" ") == []


def test_text_search_finds_chinese_address_and_description(conn: Connection,
                                                          cases: dict[str, int]) -> None:
    assert _ids(search.search(conn, ALL, {"text": "和平路"})) == {cases["leak"], cases["wall"]}
    assert _ids(search.search(conn, ALL, {"text": "漏水"})) == {cases["leak"]}
    assert _ids(search.search(conn, ALL, {"address": "漏水"})) == set()
    assert _ids(search.search(conn, ALL, {"text": "building a"})) == {cases["wall"]}
    assert _ids(search.search(conn, ALL, {"text": "西"})) == {cases["bike"]}
    assert _ids(search.search(conn, ALL, {"text": "100%"})) == set()


def test_case_no_exact_and_prefix(conn: Connection, cases: dict[str, int]) -> None:
    no = query.get(conn, cases["bike"])["case_no"]
    assert no
    assert _ids(search.search(conn, ALL, {"case_no": no})) == {cases["bike"]}
    assert cases["bike"] in _ids(search.search(conn, ALL, {"case_no": no[:-1]}))


def test_phone_search_only_for_who_may_see_it(conn: Connection, dw: DispatchWorld,
                                              cases: dict[str, int]) -> None:
    with pytest.raises(PermissionDenied) as e:
        search.search(conn, ALL, {"phone": "1390000"})            # admin: masked data
    assert e.value.code == "cases.phone_search_denied"
    sup = Scope(None, role="supervisor")
    assert _ids(search.search(conn, sup, {"phone": "1390000"})) == {cases["leak"]}
    lead = _staff(conn, dw, "ow_lead")                             # 值班长 supervises JD's area
    assert _ids(search.search(conn, lead, {"phone": "13800002222"})) == {cases["bike"]}
    cg = _staff(conn, dw, "ow_cg")                                 # handler: own cases only
    assert _ids(search.search(conn, cg, {"phone": "139"})) == set()


def test_filters_and_scope(conn: Connection, dw: DispatchWorld, cases: dict[str, int]) -> None:
    assert _ids(search.search(conn, ALL, {"statuses": ["dispatched"]})) == {cases["wall"]}
    assert _ids(search.search(conn, ALL, {"unit_ids": [dw.org.units["CG"]]})) == {cases["wall"]}
    assert _ids(search.search(conn, ALL, {"categories": ["E0102"]})) == {cases["leak"],
                                                                         cases["bike"]}
    assert _ids(search.search(conn, ALL, {"community_ids": [dw.org.communities["E"]]})) == {
        cases["leak"]}
    assert _ids(search.search(conn, ALL, {"lights": ["none"]})) == set(cases.values())
    assert _ids(search.search(conn, ALL, {"lights": ["red"]})) == set()
    # staff: 东社区's committee sees its community only; the 城管 handler its own case
    jwe = _staff(conn, dw, "ow_jwe")
    assert _ids(search.search(conn, jwe, {})) == {cases["leak"]}
    assert _ids(search.search(conn, _staff(conn, dw, "ow_cg"), {})) >= {cases["wall"]}
    out = search.search(conn, Scope(None, role="officer"), {})
    leak = next(r for r in out["items"] if r["id"] == cases["leak"])
    assert scopes.masked(leak, Scope(None, role="officer"))["reporter_phone"] == "139****1111"


def test_sort_paging_and_bad_query(conn: Connection, cases: dict[str, int]) -> None:
    one = search.search(conn, ALL, {}, page=1, page_size=2, sort="case_no", desc=False)
    two = search.search(conn, ALL, {}, page=2, page_size=2, sort="case_no", desc=False)
    assert one["total"] == 3 and not one["total_capped"]
    nos = [r["case_no"] for r in one["items"] + two["items"]]
    assert nos == sorted(nos) and len(nos) == 3
    with pytest.raises(ValidationError) as e:
        search.search(conn, ALL, {"levels": ["moon"], "lights": ["blue"], "text": "x" * 101},
                      sort="nope")
    assert {p.field for p in e.value.problems} == {"sort", "levels", "lights", "text"}
    pts = search.points(conn, ALL, {"text": "和平路"})
    assert {p[0] for p in pts["points"]} == {cases["leak"], cases["wall"]}


@pytest.mark.parametrize("sort", ["reported_at", "due_at", "id", "case_no"])
def test_a_common_selection_pages_the_same_by_either_plan(
        conn: Connection, cases: dict[str, int], monkeypatch: pytest.MonkeyPatch,
        sort: str) -> None:
    """Past the count cap the page is looked for along the sort index (the walk); short of
    a page there, the planner's plan answers: the same rows in the same order either way."""
    def pages(desc: bool) -> list[list[int]]:
        return [[r["id"] for r in search.search(conn, ALL, {"text": "和平路"}, page=n,
                                                 page_size=1, sort=sort, desc=desc)["items"]]
                for n in (1, 2, 3)]

    plain = {desc: pages(desc) for desc in (True, False)}
    assert sorted(sum(plain[True], [])) == sorted([cases["leak"], cases["wall"]])
    assert plain[True][2] == []
    monkeypatch.setattr(search, "COUNT_CAP", 1)        # "common": the walk is tried
    assert {desc: pages(desc) for desc in (True, False)} == plain
    monkeypatch.setattr(search, "_TABLE_SIZE", "SELECT 1e9")   # a huge table: no count
    if sort != "case_no":
        assert {desc: pages(desc)[:2] for desc in (True, False)} == {
            d: v[:2] for d, v in plain.items()}
        assert search.search(conn, ALL, {"text": "和平路"}, page_size=1, sort=sort)[
            "total_capped"]
    monkeypatch.setattr(search, "WALK_ROWS", 1)        # the walk comes up short: fallback
    assert {desc: pages(desc) for desc in (True, False)} == plain
    out = search.search(conn, ALL, {"text": "和平路"}, page_size=1, sort=sort)
    assert out["total"] == 1 and out["total_capped"]


def test_a_light_with_none_keeps_the_cases_without_supervision(
        conn: Connection, cases: dict[str, int]) -> None:
    conn.execute(sa.text("INSERT INTO supervision (incident_id, light, since, unit_id)"
                         " SELECT id, 'red', now(), unit_id FROM incident WHERE id = :i"),
                 {"i": cases["wall"]})
    assert _ids(search.search(conn, ALL, {"lights": ["red"]})) == {cases["wall"]}
    assert _ids(search.search(conn, ALL, {"lights": ["none"]})) == {cases["leak"],
                                                                     cases["bike"]}
    both = search.search(conn, ALL, {"lights": ["red", "none"]})
    assert _ids(both) == set(cases.values())
    assert {r["id"]: r["light"] for r in both["items"]}[cases["wall"]] == "red"


def test_a_page_past_the_end_still_shows_the_total(conn: Connection,
                                                    cases: dict[str, int]) -> None:
    """Count and page come from one statement; a page past the end still counts."""
    out = search.search(conn, ALL, {}, page=5, page_size=2)
    assert out["items"] == [] and out["total"] == 3 and not out["total_capped"]
    none = search.search(conn, ALL, {"case_no": "NOPE"})
    assert none["items"] == [] and none["total"] == 0


def test_a_cleared_light_no_longer_counts(conn: Connection, cases: dict[str, int]) -> None:
    conn.execute(sa.text("INSERT INTO supervision (incident_id, light, since, unit_id,"
                         " cleared_at) SELECT id, 'red', now(), unit_id, now() FROM incident"
                         " WHERE id = :i"), {"i": cases["wall"]})
    assert search.search(conn, ALL, {"lights": ["red"]})["total"] == 0
    assert cases["wall"] in _ids(search.search(conn, ALL, {"lights": ["none"]}))
